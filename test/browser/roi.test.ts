/**
 * ROI zoom in the browser (issue 9): a dancer far away in a DAVIS frame, shown over and over on a
 * track, through the processor. With roi 'auto' (the default) its mask is the one core's own
 * RoiTracker gives in Node for the same pixels, and truer to the human-drawn mask than roi 'off',
 * which stays the single look at the whole frame it always was. Underneath: the compositors read a
 * crop of the right slot's frame at the model's input size as core's frameToTensor does.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, Mask, Rect } from '../../src/core/frame.js';
import type { ModelSpec } from '../../src/core/modelSpec.js';
import { upsampleMask } from '../../src/core/postprocess.js';
import { frameToTensor } from '../../src/core/preprocess.js';
import { cropsFor, RoiTracker } from '../../src/core/roi.js';
import { Segmenter } from '../../src/core/segmenter.js';
import { loadBuiltinModel } from '../../src/node/models.js';
import { onnxNodeBackend } from '../../src/node/onnxBackend.js';
import { testdata } from '../helpers/testdata.js';
import { saveRaw } from '../helpers/screenshots.js';
import { base64, bytesFrom64, callHarness, chromiumPath, grabRgbFrame, launchHarness, startHarnessServer, warnSkipped, type Browser } from './chromium.js';

warnSkipped('roi.test.ts');

const W = 640, H = 360;
const CLIP = 'davis2016/DAVIS/JPEGImages/480p/breakdance-flare/00000.jpg';
const TRUTH = 'davis2016/DAVIS/Annotations/480p/breakdance-flare/00000.png';
/** Frames the processor is shown: past the tracker's full-frame pass every 10 frames. */
const FRAMES = 14;

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

/** Mean |Δ| between a processed frame that shows the mask as grey (RGBA) and a mask at the frame's size. */
function maskDiff(grey: Uint8Array, mask: Mask): number {
  let sum = 0;
  for (let i = 0; i < W * H; i++) sum += Math.abs(grey[i * 4] / 255 - mask.data[i]);
  return sum / (W * H);
}

/** IoU of the person (> half) in a grey mask picture against the human-drawn mask. */
function iou(grey: Uint8Array, truth: Uint8Array): number {
  let both = 0, either = 0;
  for (let i = 0; i < W * H; i++) {
    const p = grey[i * 4] > 127, t = truth[i] > 127;
    if (p && t) both++;
    if (p || t) either++;
  }
  return both / either;
}

describe.skipIf(!chromiumPath)('ROI zoom in the browser', () => {
  let server: Awaited<ReturnType<typeof startHarnessServer>>;
  let browser: Browser;
  let rgb: Uint8Array;
  let frame: Frame;
  let truth: Uint8Array;
  let spec: ModelSpec;
  /** Node's masks at the frame's size: the single pass, and core's RoiTracker on each of FRAMES frames. */
  let off: Mask;
  let tracked: Mask[];
  let crop: Rect;

  beforeAll(async () => {
    server = await startHarnessServer();
    browser = await launchHarness(server.url);
    rgb = new Uint8Array(await sharp(testdata(CLIP)).resize(W, H, { fit: 'fill' }).removeAlpha().raw().toBuffer());
    truth = new Uint8Array(await sharp(testdata(TRUTH)).resize(W, H, { fit: 'fill', kernel: 'nearest' }).extractChannel(0).raw().toBuffer());
    frame = { width: W, height: H, channels: 3, data: rgb };
    const model = await loadBuiltinModel('general');
    spec = model.spec;
    const segmenter = await Segmenter.create(onnxNodeBackend(), model.onnx, spec);
    try {
      const low = await segmenter.segment(frame);
      off = upsampleMask(low, W, H);
      const crops = cropsFor(low, W, H, spec);
      if (!crops) throw new Error('the dancer is not small enough for ROI zoom: pick another frame');
      [crop] = crops;
      const tracker = new RoiTracker();
      tracked = [];
      for (let k = 0; k < FRAMES; k++) tracked.push(upsampleMask(await tracker.segment(segmenter, frame), W, H));
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

    it(`${kind}: every look the model takes for a mask reads that mask's frame, while newer frames come in`, async () => {
      // Held frames (the model keeps up) and frames that go out at once (it does not): either
      // way the frame the model is reading keeps its slot until its last crop is read.
      for (const offMainThread of [false, true]) {
        const { runs, drawn, metrics } = await callHarness(browser.page, 'roiReads', W, H, offMainThread ? 100 : 80, 20, offMainThread ? 60 : 30, offMainThread, kind);
        // A look at the whole frame starts a mask; the crop looks after it are of the same frame.
        const pairs = runs.slice(1).map((r, i) => [runs[i], r]).filter(([a, b]) => a.whole && !b.whole);
        const mismatched = pairs.filter(([a, b]) => a.code !== b.code);
        console.log(`${kind}, ${offMainThread ? 'frames go out at once' : 'frames wait for their mask'}: ${runs.length} runs (${runs.filter((r) => r.whole).length} of the whole frame), ${drawn} frames drawn, ${metrics.dropped} dropped; ` +
          `frame codes read ${runs.map((r) => `${r.whole ? 'W' : ''}${r.code}`).join(' ')}`);
        expect(pairs.length).toBeGreaterThanOrEqual(3);
        expect(mismatched).toEqual([]);
        // And the crops were really taken while newer frames came in: the stand-in model waits for
        // two, so with a frame held for its mask one waits and the next is dropped. (Counting frames
        // against model runs, as this once did, hung on how fast a loaded machine lets the camera
        // deliver: 59 against 60 runs; so did trusting the pace alone: 0 dropped in a loaded CI run.)
        expect(metrics.dropped).toBeGreaterThan(0);
        expect(drawn).toBeGreaterThanOrEqual(pairs.length);
      }
    });

    it(`${kind}: roi 'auto' gives Node's RoiTracker mask of a dancer far away, truer than roi 'off', which stays the single pass`, async () => {
      const run = (roi: 'auto' | 'off') => callHarness(browser.page, 'processStill', base64(rgb), W, H, FRAMES, { effect: { type: 'mask' }, refine: 'none', smoothing: 0, compositor: kind, roi });
      const auto = await run('auto');
      const single = await run('off');
      expect(auto.compositor).toBe(kind);
      const zoomed = bytesFrom64(auto.pixels), plain = bytesFrom64(single.pixels);
      await saveRaw(`browser-tests/roi-auto-${kind}.png`, zoomed, W, H, 4);
      await saveRaw(`browser-tests/roi-off-${kind}.png`, plain, W, H, 4);
      // The browser's frame k may carry an earlier frame's mask (when the model cannot keep up);
      // the tracker's masks of this still picture differ a little between its full-frame passes
      // and the frames between them, so the nearest of Node's is the reference.
      const vsTracked = Math.min(...tracked.map((m) => maskDiff(zoomed, m)));
      const autoVsOff = maskDiff(zoomed, off);
      const offVsOff = maskDiff(plain, off);
      const offVsTracked = Math.min(...tracked.map((m) => maskDiff(plain, m)));
      const ious = { auto: iou(zoomed, truth), off: iou(plain, truth) };
      console.log(`${kind}: roi auto vs Node's tracker mean |Δ| ${vsTracked.toFixed(4)} (vs Node's single pass ${autoVsOff.toFixed(4)}); roi off vs Node's single pass ${offVsOff.toFixed(4)} (vs the tracker ${offVsTracked.toFixed(4)}); ` +
        `IoU with the human mask: auto ${ious.auto.toFixed(3)}, off ${ious.off.toFixed(3)}; model runs per mask: auto ${Number(auto.metrics.inferencesPerMask).toFixed(2)}, off ${Number(single.metrics.inferencesPerMask).toFixed(2)}`);
      expect(vsTracked).toBeLessThan(0.01);
      expect(autoVsOff).toBeGreaterThan(0.03);
      expect(offVsOff).toBeLessThan(0.01);
      expect(offVsTracked).toBeGreaterThan(0.03);
      expect(ious.auto).toBeGreaterThan(ious.off + 0.1);
      // The crops cost extra runs of the model: one per person, two on a full-frame pass.
      expect(auto.metrics.inferencesPerMask).toBeGreaterThan(1);
      expect(single.metrics.inferencesPerMask).toBe(1);
    });
  }
});
