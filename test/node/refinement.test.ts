/**
 * Acceptance: against human masks, the refined mask's IoU is not below the raw model output's and
 * its boundary error (MAE within 10 px of the true edge) is below the seed's hard threshold; the
 * guided filter (the photo default) beats joint bilateral upsampling on both. Pooled over every
 * 4th frame of the DAVIS person sequences and the labelme photo. On portraits (P3M's mattes) the
 * guided mask is not worse than the raw output. The default photo mask (ROI zoom, then guided
 * edges: what `--mask` writes) meets issue 9's targets: IoU ≥ 0.73, boundary error ≤ 0.165.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { BackgroundEffect, DEFAULT_THRESHOLD, refineMask } from '../../src/core/effect.js';
import { Segmenter } from '../../src/core/segmenter.js';
import { decodeImage } from '../../src/node/imageIO.js';
import { loadBuiltinModel } from '../../src/node/models.js';
import { onnxNodeBackend } from '../../src/node/onnxBackend.js';
import { accumulate, boundaryError, edgeBand, emptyTally, iou } from '../../eval/metrics.js';
import { readPaletteIndices } from '../../eval/pngIndices.js';
import { testdata } from '../helpers/testdata.js';

type Truth = Float32Array;
/** Reads a pair's truth (1 person, 0 background, NaN ignore), or null to leave the pair out. */
type Select = (input: string, gt: string, type: string, rule: string) => Promise<Truth | null>;

/** Segments every selected pair with the general model and tallies each way of refining its mask. */
async function tallyPairs(select: Select) {
  const { onnx, spec } = await loadBuiltinModel('general');
  const segmenter = await Segmenter.create(onnxNodeBackend(), onnx, spec);
  const tallies = { raw: emptyTally(), hard: emptyTally(), refined: emptyTally(), bilateral: emptyTally(), guided: emptyTally(), photoDefault: emptyTally() };
  const photo = new BackgroundEffect(segmenter, { effect: { type: 'mask' } });
  let n = 0;
  try {
    for (const line of readFileSync(testdata('PAIRS.tsv'), 'utf8').trim().split('\n').slice(1)) {
      const [input, gt, type, rule] = line.split('\t');
      const truth = await select(input, gt, type, rule);
      if (!truth) continue;
      const { frame } = await decodeImage(testdata(input));
      const band = edgeBand(truth.map((v) => (Number.isNaN(v) ? v : v >= 0.5 ? 1 : 0)), frame.width, frame.height, 10);
      const low = await segmenter.segment(frame);
      const raw = refineMask(low, frame, { refine: 'none' }).data;
      accumulate(tallies.raw, raw, truth, band);
      accumulate(tallies.hard, Float32Array.from(raw, (p) => (p > DEFAULT_THRESHOLD ? 1 : 0)), truth, band);
      accumulate(tallies.refined, refineMask(low, frame, {}).data, truth, band);
      accumulate(tallies.bilateral, refineMask(low, frame, { refine: 'bilateral' }).data, truth, band);
      accumulate(tallies.guided, refineMask(low, frame, { refine: 'guided' }).data, truth, band);
      accumulate(tallies.photoDefault, (await photo.mask(frame)).data, truth, band);
      n++;
    }
  } finally {
    await segmenter.close();
  }
  return { tallies, n };
}

it('refined masks beat the raw output on IoU and the hard threshold on boundary error', async () => {
  const { tallies, n } = await tallyPairs(async (input, gt, type, rule) => {
    if (type.startsWith('human annotation (DAVIS') && !rule.includes('expected empty')) {
      if (Number(/(\d+)\.jpg$/.exec(input)![1]) % 4 !== 0) return null;
      const grey = await sharp(testdata(gt)).extractChannel(0).raw().toBuffer();
      return Float32Array.from(grey, (v) => (v >= 128 ? 1 : 0));
    }
    if (type.startsWith('human annotation (labelme')) {
      return Float32Array.from(readPaletteIndices(testdata(gt)).data, (v) => (v === 255 ? NaN : v === 15 ? 1 : 0));
    }
    return null;
  });
  expect(n).toBeGreaterThan(30);
  expect(iou(tallies.refined)).toBeGreaterThanOrEqual(iou(tallies.raw));
  expect(boundaryError(tallies.refined)).toBeLessThan(boundaryError(tallies.hard));
  // Measured (general model, these 39 masks): boundary error hard 0.177, bilateral 0.168, guided
  // 0.151; IoU raw 0.727, bilateral 0.736, guided 0.752.
  const guided = boundaryError(tallies.guided);
  expect(guided).toBeLessThan(0.95 * boundaryError(tallies.bilateral));
  expect(guided).toBeLessThan(0.9 * boundaryError(tallies.hard));
  expect(iou(tallies.guided)).toBeGreaterThan(iou(tallies.raw) + 0.015);
  expect(iou(tallies.guided)).toBeGreaterThan(iou(tallies.bilateral));
  // The guided mask is the default refinement.
  expect(boundaryError(tallies.refined)).toBe(guided);
  // With ROI zoom in front of it, the default photo mask (measured: IoU 0.825, boundary error 0.118).
  expect(iou(tallies.photoDefault)).toBeGreaterThanOrEqual(0.73);
  expect(boundaryError(tallies.photoDefault)).toBeLessThanOrEqual(0.165);
  expect(iou(tallies.photoDefault)).toBeGreaterThan(iou(tallies.guided) + 0.03);
});

it('guided and default photo masks of portraits are not worse than the raw output (P3M mattes as the reference)', async () => {
  const { tallies, n } = await tallyPairs(async (_input, gt, type) => {
    if (!type.startsWith('model output (P3M')) return null;
    return Float32Array.from(await sharp(testdata(gt)).extractChannel(0).raw().toBuffer(), (v) => v / 255);
  });
  expect(n).toBe(8);
  // Measured: IoU raw 0.952, guided 0.960; boundary error raw 0.177, bilateral 0.154, guided 0.139.
  expect(iou(tallies.guided)).toBeGreaterThanOrEqual(iou(tallies.raw));
  expect(boundaryError(tallies.guided)).toBeLessThan(0.95 * boundaryError(tallies.bilateral));
  // The default photo mask too: ROI zoom takes a closer look at the portraits whose person is
  // small enough (measured: IoU 0.972, boundary error 0.124).
  expect(iou(tallies.photoDefault)).toBeGreaterThanOrEqual(iou(tallies.raw));
  expect(boundaryError(tallies.photoDefault)).toBeLessThan(boundaryError(tallies.raw));
});
