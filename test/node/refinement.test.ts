/**
 * Acceptance: against human masks, the refined mask's IoU is not below the raw model output's and
 * its boundary error (MAE within 10 px of the true edge) is below the seed's hard threshold.
 * Pooled over every 4th frame of the DAVIS person sequences and the labelme photo.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { DEFAULT_THRESHOLD, refineMask } from '../../src/core/effect.js';
import { Segmenter } from '../../src/core/segmenter.js';
import { decodeImage } from '../../src/node/imageIO.js';
import { loadBuiltinModel } from '../../src/node/models.js';
import { onnxNodeBackend } from '../../src/node/onnxBackend.js';
import { accumulate, boundaryError, edgeBand, emptyTally, iou } from '../../eval/metrics.js';
import { readPaletteIndices } from '../../eval/pngIndices.js';
import { testdata } from '../helpers/testdata.js';

it('refined masks beat the raw output on IoU and the hard threshold on boundary error', async () => {
  const { onnx, spec } = await loadBuiltinModel('general');
  const segmenter = await Segmenter.create(onnxNodeBackend(), onnx, spec);
  const tallies = { raw: emptyTally(), hard: emptyTally(), refined: emptyTally() };
  let n = 0;
  for (const line of readFileSync(testdata('PAIRS.tsv'), 'utf8').trim().split('\n').slice(1)) {
    const [input, gt, type, rule] = line.split('\t');
    let truth: Float32Array;
    if (type.startsWith('human annotation (DAVIS') && !rule.includes('expected empty')) {
      if (Number(/(\d+)\.jpg$/.exec(input)![1]) % 4 !== 0) continue;
      const grey = await sharp(testdata(gt)).extractChannel(0).raw().toBuffer();
      truth = Float32Array.from(grey, (v) => (v >= 128 ? 1 : 0));
    } else if (type.startsWith('human annotation (labelme')) {
      truth = Float32Array.from(readPaletteIndices(testdata(gt)).data, (v) => (v === 255 ? NaN : v === 15 ? 1 : 0));
    } else continue;
    const { frame } = await decodeImage(testdata(input));
    const band = edgeBand(truth, frame.width, frame.height, 10);
    const low = await segmenter.segment(frame);
    const raw = refineMask(low, frame, { refine: 'none' }).data;
    accumulate(tallies.raw, raw, truth, band);
    accumulate(tallies.hard, Float32Array.from(raw, (p) => (p > DEFAULT_THRESHOLD ? 1 : 0)), truth, band);
    accumulate(tallies.refined, refineMask(low, frame, {}).data, truth, band);
    n++;
  }
  await segmenter.close();
  expect(n).toBeGreaterThan(30);
  expect(iou(tallies.refined)).toBeGreaterThanOrEqual(iou(tallies.raw));
  expect(boundaryError(tallies.refined)).toBeLessThan(boundaryError(tallies.hard));
});
