/** The official MediaPipe golden masks in ../shared/testdata/goldens and how to read them. */
import { existsSync, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { testdata, testdataRoot } from './testdata.js';
import { join } from 'node:path';

export interface GoldenRow {
  golden: string;
  input: string;
  model: 'general' | 'landscape';
  modelres: boolean;
  width: number;
  height: number;
  inputSha256: string;
}

export function goldenRows(): GoldenRow[] {
  const lines = readFileSync(testdata('goldens/MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1);
  const rows: GoldenRow[] = [];
  for (const line of lines) {
    const [golden, , input, , kind, width, height, , sha] = line.split('\t');
    const m = /^mediapipe-(general|landscape)(-modelres)?$/.exec(kind);
    if (!m) continue;
    // Video-frame goldens whose frames are not shipped need ffmpeg to extract; the still images and
    // the shipped frames cover both models here.
    if (!existsSync(join(testdataRoot, input))) continue;
    rows.push({ golden, input, model: m[1] as GoldenRow['model'], modelres: Boolean(m[2]), width: Number(width), height: Number(height), inputSha256: sha });
  }
  return rows;
}

/** A 16-bit golden as probabilities 0..1. */
export async function readGolden(path: string): Promise<{ width: number; height: number; data: Float32Array }> {
  const { data, info } = await sharp(testdata(path)).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
  const u16 = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  return { width: info.width, height: info.height, data: Float32Array.from(u16, (v) => v / 65535) };
}

export interface MaskComparison {
  mad: number;
  iou: number;
  /** Share of pixels that are person (p ≥ 0.5) in the reference. */
  coverage: number;
}

export function compareMasks(ours: ArrayLike<number>, reference: ArrayLike<number>): MaskComparison {
  if (ours.length !== reference.length) throw new Error(`mask sizes differ: ${ours.length} vs ${reference.length} pixels`);
  let sum = 0;
  let inter = 0;
  let union = 0;
  let person = 0;
  for (let i = 0; i < ours.length; i++) {
    sum += Math.abs(ours[i] - reference[i]);
    const a = ours[i] >= 0.5;
    const b = reference[i] >= 0.5;
    if (a && b) inter++;
    if (a || b) union++;
    if (b) person++;
  }
  return { mad: sum / ours.length, iou: union === 0 ? 1 : inter / union, coverage: person / ours.length };
}
