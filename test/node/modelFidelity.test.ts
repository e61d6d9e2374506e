/**
 * The converted models alone, against the official MediaPipe output at the model's own size
 * (goldens/modelres): same input RGB (checked by hash), no resizing on the way out.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { Segmenter } from '../../src/core/segmenter.js';
import { decodeImage } from '../../src/node/imageIO.js';
import { loadBuiltinModel } from '../../src/node/models.js';
import { onnxNodeBackend } from '../../src/node/onnxBackend.js';
import { compareMasks, goldenRows, readGolden } from '../helpers/goldens.js';
import { testdata } from '../helpers/testdata.js';

const rows = goldenRows().filter((r) => r.modelres);

describe.each(['general', 'landscape'] as const)('converted %s model vs goldens/modelres', (model) => {
  let segmenter: Segmenter;
  beforeAll(async () => {
    const { onnx, spec } = await loadBuiltinModel(model);
    segmenter = await Segmenter.create(onnxNodeBackend(), onnx, spec);
  });

  const mine = rows.filter((r) => r.model === model);
  it('covers the goldens', () => {
    expect(mine.length).toBeGreaterThanOrEqual(100);
  });

  it('matches every golden to within 8-bit rounding', async () => {
    const failures: string[] = [];
    let worst = 0;
    for (const row of mine) {
      const { frame } = await decodeImage(testdata(row.input));
      expect(createHash('sha256').update(frame.data).digest('hex'), `decoded RGB of ${row.input}`).toBe(row.inputSha256);
      const mask = await segmenter.segment(frame);
      const golden = await readGolden(row.golden);
      expect([mask.width, mask.height]).toEqual([golden.width, golden.height]);
      const { mad, iou } = compareMasks(mask.data, golden.data);
      worst = Math.max(worst, mad);
      if (mad > 0.002 || iou < 0.98) failures.push(`${row.input}: MAD ${mad.toFixed(5)} IoU ${iou.toFixed(4)}`);
    }
    expect(failures).toEqual([]);
    // A faithful port differs only by the golden's 8-bit quantisation (≈ 0.001 at most on average).
    expect(worst).toBeLessThan(0.001);
  });
});
