/**
 * ROI zoom in the browser (issue 9): the compositors read a crop of the right slot's frame at the
 * model's input size as core's frameToTensor does (a dancer far away in a DAVIS frame).
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, Rect } from '../../src/core/frame.js';
import type { ModelSpec } from '../../src/core/modelSpec.js';
import { frameToTensor } from '../../src/core/preprocess.js';
import { cropsFor } from '../../src/core/roi.js';
import { Segmenter } from '../../src/core/segmenter.js';
import { loadBuiltinModel } from '../../src/node/models.js';
import { onnxNodeBackend } from '../../src/node/onnxBackend.js';
import { testdata } from '../helpers/testdata.js';
import { base64, bytesFrom64, callHarness, chromiumPath, grabRgbFrame, launchHarness, startHarnessServer, warnSkipped, type Browser } from './chromium.js';

warnSkipped('roi.test.ts');

const W = 640, H = 360;
const CLIP = 'davis2016/DAVIS/JPEGImages/480p/breakdance-flare/00000.jpg';

/** The picture as the model sees it (RGB 0..255) from core's input tensor (NHWC, range 0..1). */
function tensorBytes(frame: Frame, spec: ModelSpec, crop?: Rect): Float32Array {
  const t = frameToTensor(frame, spec, undefined, crop);
  return t.map((v) => v * 255);
}

/** Mean and largest |Δ| over RGB between RGBA bytes and RGB values. */
function inputDiff(rgba: Uint8Array, rgb: Float32Array): { mean: number; max: number } {
  let sum = 0, max = 0;
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(rgba[i + c] - rgb[j + c]);
      sum += d;
      if (d > max) max = d;
    }
  }
  return { mean: sum / rgb.length, max };
}

describe.skipIf(!chromiumPath)('ROI zoom in the browser', () => {
  let server: Awaited<ReturnType<typeof startHarnessServer>>;
  let browser: Browser;
  let rgb: Uint8Array;
  let frame: Frame;
  let spec: ModelSpec;
  /** The crop core's ROI zoom gives the dancer. */
  let crop: Rect;

  beforeAll(async () => {
    server = await startHarnessServer();
    browser = await launchHarness(server.url);
    rgb = new Uint8Array(await sharp(testdata(CLIP)).resize(W, H, { fit: 'fill' }).removeAlpha().raw().toBuffer());
    frame = { width: W, height: H, channels: 3, data: rgb };
    const model = await loadBuiltinModel('general');
    spec = model.spec;
    const segmenter = await Segmenter.create(onnxNodeBackend(), model.onnx, spec);
    try {
      const crops = cropsFor(await segmenter.segment(frame), W, H, spec);
      if (!crops) throw new Error('the dancer is not small enough for ROI zoom: pick another frame');
      [crop] = crops;
    } finally {
      await segmenter.close();
    }
  });

  afterAll(async () => {
    await browser?.close();
    await server?.server.close();
  });

  for (const kind of ['webgl2', 'canvas2d'] as const) {
    it(`${kind}: readModelInput reads a crop of the asked slot's frame as core's frameToTensor does`, async () => {
      const other = await grabRgbFrame(2, W, H);
      const crops: Rect[] = [crop, { x: 250.3, y: 101.7, width: 140.5, height: 140.5 }];
      for (const c of crops) {
        const read = await callHarness(browser.page, 'readModelInputs', base64(rgb), base64(other), W, H, kind, c, spec.inputWidth, spec.inputHeight);
        expect(read.kind).toBe(kind);
        const inSlot = inputDiff(bytesFrom64(read.crop), tensorBytes(frame, spec, c));
        const whole = inputDiff(bytesFrom64(read.whole), tensorBytes(frame, spec));
        const last = inputDiff(bytesFrom64(read.last), tensorBytes({ width: W, height: H, channels: 3, data: other }, spec, c));
        const wrong = inputDiff(bytesFrom64(read.crop), tensorBytes(frame, spec));
        console.log(`${kind} crop ${JSON.stringify(c)}: vs core's crop mean |Δ| ${inSlot.mean.toFixed(3)} (max ${inSlot.max.toFixed(1)}); whole frame ${whole.mean.toFixed(3)} (max ${whole.max.toFixed(1)}); the other slot's crop ${last.mean.toFixed(3)}; vs the uncropped input ${wrong.mean.toFixed(1)}`);
        // WebGL: within the 8-bit read-back's rounding. Canvas 2D: Skia's coarser interpolation
        // weights, spread evenly over the picture (edges included), as for the whole frame.
        const tolerance = kind === 'webgl2' ? 0.3 : 1;
        for (const d of [inSlot, whole, last]) expect(d.mean).toBeLessThan(tolerance);
        if (kind === 'webgl2') expect(Math.max(inSlot.max, whole.max, last.max)).toBeLessThanOrEqual(1);
        expect(wrong.mean).toBeGreaterThan(10);
      }
    });

  }
});
