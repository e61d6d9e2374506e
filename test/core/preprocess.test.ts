/** frameToTensor: stretch to the model size, then map RGB onto the model's range. */
import { describe, expect, it } from 'vitest';
import type { ModelSpec } from '../../src/core/modelSpec.js';
import { frameToTensor } from '../../src/core/preprocess.js';

const spec = (layout: 'nhwc' | 'nchw'): ModelSpec => ({
  name: 'test', inputWidth: 4, inputHeight: 2, inputLayout: layout, inputRange: [-1, 1],
  outputWidth: 4, outputHeight: 2, outputChannels: 1, outputLayout: layout, personChannel: 0, activation: 'none',
});

describe('frameToTensor', () => {
  it('maps a frame already at the model size pixel for pixel, in both layouts', () => {
    const data = Uint8Array.from({ length: 4 * 2 * 3 }, (_, i) => (i * 37) % 256);
    const frame = { width: 4, height: 2, channels: 3 as const, data };
    const nhwc = frameToTensor(frame, spec('nhwc'));
    const nchw = frameToTensor(frame, spec('nchw'));
    for (let p = 0; p < 8; p++) {
      for (let k = 0; k < 3; k++) {
        const v = (data[p * 3 + k] * 2) / 255 - 1;
        expect(nhwc[p * 3 + k]).toBeCloseTo(v, 6);
        expect(nchw[k * 8 + p]).toBeCloseTo(v, 6);
      }
    }
  });

  it('gives the same tensor from RGBA as from RGB, and averages when it shrinks', () => {
    const rgb = Uint8Array.from({ length: 8 * 2 * 3 }, (_, i) => (i * 11) % 256);
    const rgba = new Uint8Array(8 * 2 * 4);
    for (let p = 0; p < 16; p++) rgba.set([...rgb.subarray(p * 3, p * 3 + 3), 255], p * 4);
    const a = frameToTensor({ width: 8, height: 2, channels: 3, data: rgb }, spec('nhwc'));
    const b = frameToTensor({ width: 8, height: 2, channels: 4, data: rgba }, spec('nhwc'));
    expect(Array.from(b)).toEqual(Array.from(a));
    // 8 → 4 wide with half-pixel centres: each output pixel is the mean of two neighbours.
    expect(a[0]).toBeCloseTo(((rgb[0] + rgb[3]) / 2) * (2 / 255) - 1, 5);
  });
});
