/**
 * Photo speed: ms per stage for a 720p, a 1080p and a 12 MP JPEG selfie with blur and the default
 * edges (guided), and a 1080p photo of a person far away with and without ROI zoom, end to end,
 * beside sharp's own decode + encode of the same file in the same run (the floor any tool pays).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { RoiMode } from '../src/core/roi.js';
import { createBackdrop } from '../src/node/facade.js';
import { sessionsCreated } from '../src/node/onnxBackend.js';
import { cli } from '../test/helpers/cli.js';
import { testdata } from '../test/helpers/testdata.js';
import { median, printTable } from './table.js';

const SELFIE = 'tfjs-models/body-segmentation/test_data/portrait.jpg';
/** A person a few metres away: ROI zoom runs the model a second time, on a crop. */
const FAR = 'davis2016/DAVIS/JPEGImages/480p/breakdance-flare/00000.jpg';
const SIZES: [string, string, number, number, number, RoiMode][] = [
  ['720p selfie', SELFIE, 1280, 720, 7, 'auto'],
  ['1080p selfie', SELFIE, 1920, 1080, 7, 'auto'],
  ['12 MP selfie', SELFIE, 4000, 3000, 3, 'auto'],
  ['1080p, person far away', FAR, 1920, 1080, 7, 'auto'],
  ['1080p, person far away, --roi off', FAR, 1920, 1080, 7, 'off'],
];

export async function benchPhotos(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-bench-'));
  try {
    const rows: (string | number)[][] = [];
    const backdrop = await createBackdrop({ effect: { type: 'blur', strength: 50 } });
    for (const [label, source, w, h, runs, roi] of SIZES) {
      backdrop.effect.setOptions({ roi });
      const input = join(dir, `photo-${label.replace(/\W/g, '')}.jpg`);
      await sharp(testdata(source)).resize(w, h, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(input);
      const sharpMs: number[] = [];
      const stages: Record<string, number[]> = {};
      for (let i = 0; i < runs + 1; i++) {
        const t0 = performance.now();
        const raw = await sharp(input).rotate().raw().toBuffer({ resolveWithObject: true });
        await sharp(raw.data, { raw: raw.info }).jpeg({ quality: 90 }).toBuffer();
        const t1 = performance.now();
        const r = await backdrop.processFile(input, join(dir, `out-${label}-${i}.jpg`).replace(/\s/g, ''));
        if (i === 0) continue; // warm-up
        sharpMs.push(t1 - t0);
        for (const [k, v] of Object.entries(r.timings)) (stages[k] ??= []).push(v);
      }
      const m = (k: string) => median(stages[k]);
      const total = m('total');
      const base = median(sharpMs);
      rows.push([label, `${w}×${h}`, m('decode'), m('preprocess'), m('inference'), m('postprocess'), m('refine'), m('composite'), m('encode'), total, base, `${(total / base).toFixed(2)}×`]);
    }
    await backdrop.close();
    printTable(
      'Photos, blur 50, general model, guided edges (the default), JPEG q90 in and out (median ms; target: 1080p total ≤ 3× sharp decode+encode)',
      ['photo', 'size', 'decode', 'preprocess', 'inference', 'postprocess', 'refine', 'composite', 'encode+write', 'total', 'sharp decode+encode', 'ratio'],
      rows,
    );

    // A folder of 50 photos: one model load, throughput.
    const folder = join(dir, 'folder');
    await sharp(testdata(SELFIE)).resize(1280, 720, { fit: 'fill' }).jpeg().toFile(join(dir, 'one.jpg'));
    const { mkdir, copyFile } = await import('node:fs/promises');
    await mkdir(folder);
    for (let i = 0; i < 50; i++) await copyFile(join(dir, 'one.jpg'), join(folder, `photo${i}.jpg`));
    const before = sessionsCreated();
    const t0 = performance.now();
    const run = await cli(folder, '-o', join(dir, 'folder-out'), '--quiet');
    const seconds = (performance.now() - t0) / 1000;
    const written = (await readdir(join(dir, 'folder-out'))).length;
    printTable('Folder of 50 photos (720p JPEG, blur), CLI in-process', ['photos written', 'exit', 'model loads', 'seconds', 'photos/s'], [
      [String(written), String(run.code), String(sessionsCreated() - before), seconds, written / seconds],
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
