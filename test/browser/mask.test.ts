/**
 * The browser's raw mask (onnxruntime-web + the core Segmenter, no refinement) equals the Node mask
 * (onnxruntime-node + the same core code) for identical RGB bytes; and the mask the WebGL path
 * gives (the frame stretched to the model's size on the GPU) stays close to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mask } from '../../src/core/frame.js';
import { Segmenter } from '../../src/core/segmenter.js';
import { loadBuiltinModel } from '../../src/node/models.js';
import { onnxNodeBackend } from '../../src/node/onnxBackend.js';
import {
  base64, callHarness, chromiumPath, floatsFrom64, grabRgbFrame, launchHarness, startHarnessServer, warnSkipped, type Browser,
} from './chromium.js';

warnSkipped('mask.test.ts');

const W = 640, H = 360;

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

describe.skipIf(!chromiumPath)('browser mask vs Node mask', () => {
  let server: Awaited<ReturnType<typeof startHarnessServer>>;
  let browser: Browser;
  let rgb: Uint8Array;
  let nodeMask: Mask;

  beforeAll(async () => {
    server = await startHarnessServer();
    browser = await launchHarness(server.url);
    rgb = await grabRgbFrame(2, W, H);
    const { onnx, spec } = await loadBuiltinModel('general');
    const segmenter = await Segmenter.create(onnxNodeBackend(), onnx, spec);
    nodeMask = await segmenter.segment({ width: W, height: H, channels: 3, data: rgb });
    await segmenter.close();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.server.close();
  });

  it('the page is cross-origin isolated, so onnxruntime-web may use two threads', async () => {
    const info = await callHarness(browser.page, 'info');
    expect(info.crossOriginIsolated).toBe(true);
  });

  it('asking for WebGPU where there is no adapter falls back to WASM and says why', async () => {
    const info = await callHarness(browser.page, 'backendInfo', { executionProvider: 'webgpu' });
    expect(info.executionProvider).toBe('wasm');
    expect(info.fallbackReason).toMatch(/WebGPU/);
  });

  it('gives the Node mask for the same RGB frame (mean abs difference ≤ 0.01)', async () => {
    const result = await callHarness(browser.page, 'segmentRgb', base64(rgb), W, H);
    expect([result.width, result.height]).toEqual([nodeMask.width, nodeMask.height]);
    const mad = meanAbsDiff(floatsFrom64(result.mask), nodeMask.data);
    console.log(`browser (${result.backend}) vs Node mask: mean abs difference ${mad.toExponential(2)}`);
    expect(mad).toBeLessThanOrEqual(0.01);
    // The person is really there: a sanity check that both are not, say, all zeros.
    const person = nodeMask.data.filter((v) => v > 0.5).length / nodeMask.data.length;
    expect(person).toBeGreaterThan(0.05);
  });

  it('the WebGL path (GPU resize to the model input) stays close to the Node mask', async () => {
    const result = await callHarness(browser.page, 'compositeRgb', base64(rgb), W, H, { type: 'mask' });
    expect(result.kind).toBe('webgl2');
    const mad = meanAbsDiff(floatsFrom64(result.mask), nodeMask.data);
    console.log(`WebGL-resized input vs Node mask: mean abs difference ${mad.toExponential(2)}`);
    expect(mad).toBeLessThanOrEqual(0.01);
  });
});
