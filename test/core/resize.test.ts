import { describe, expect, it } from 'vitest';
import { createFrame, type Frame } from '../../src/core/frame.js';
import { boxDownsample, fitBackground, resizeFrame, resizeMask } from '../../src/core/resize.js';

/** A frame whose red channel holds `values` along x (one row), green = x, blue = 7. */
function row(values: number[], channels: 3 | 4 = 3): Frame {
  const f = createFrame(values.length, 1, channels);
  values.forEach((v, x) => {
    f.data[x * channels] = v;
    f.data[x * channels + 1] = x;
    f.data[x * channels + 2] = 7;
    if (channels === 4) f.data[x * channels + 3] = 200;
  });
  return f;
}
const reds = (f: Frame): number[] => Array.from({ length: f.width * f.height }, (_, i) => f.data[i * f.channels]);

describe('resizeFrame', () => {
  it('upsamples a gradient bilinearly with half-pixel centres and clamped edges', () => {
    const out = resizeFrame(row([0, 100, 200, 255]), 8, 1);
    expect(reds(out)).toEqual([0, 25, 75, 125, 175, 214, 241, 255]);
    expect(out.channels).toBe(3);
    expect(out.data[2]).toBe(7);
  });

  it('averages neighbours at exactly 2× and area-averages beyond 2×', () => {
    expect(reds(resizeFrame(row([0, 100, 200, 255]), 2, 1))).toEqual([50, 228]);
    // 4× shrink: box average of each run of four.
    expect(reds(resizeFrame(row([0, 40, 80, 120, 200, 200, 200, 0]), 2, 1))).toEqual([60, 150]);
    // 3× shrink of 7 → 2 is 3.5 source px per output: fractional coverage.
    // out0 = (10+20+30+0.5·40)/3.5, out1 = (0.5·40+50+60+70)/3.5
    expect(reds(resizeFrame(row([10, 20, 30, 40, 50, 60, 70]), 2, 1))).toEqual([23, 57]);
  });

  it('resizes 2-D RGBA and keeps alpha', () => {
    const f = createFrame(2, 2, 4);
    f.data.set([0, 0, 0, 255, 100, 0, 0, 255, 0, 100, 0, 255, 100, 100, 0, 255]);
    const out = resizeFrame(f, 4, 4);
    expect(out.channels).toBe(4);
    // Pixel (1,1) samples src (0.25, 0.25): r = 25, g = 25.
    expect(Array.from(out.data.subarray((1 * 4 + 1) * 4, (1 * 4 + 1) * 4 + 4))).toEqual([25, 25, 0, 255]);
    expect(Array.from(out.data.subarray((3 * 4 + 3) * 4, (3 * 4 + 3) * 4 + 4))).toEqual([100, 100, 0, 255]);
  });

  it('returns a copy at the same size and rejects bad sizes', () => {
    const f = row([1, 2, 3]);
    const out = resizeFrame(f, 3, 1);
    expect(out.data).toEqual(f.data);
    expect(out.data).not.toBe(f.data);
    expect(() => resizeFrame(f, 0, 1)).toThrow(RangeError);
    expect(() => resizeFrame(f, 1.5, 1)).toThrow(RangeError);
  });

  it('resizes masks (area when shrinking)', () => {
    const m = { width: 4, height: 1, data: new Float32Array([0, 1, 1, 1]) };
    expect(Array.from(resizeMask(m, 1, 1).data)).toEqual([0.75]);
  });
});

describe('fitBackground', () => {
  // 2:1 image, 4×2, every column its own red value.
  const wide = createFrame(4, 2, 3);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) wide.data[(y * 4 + x) * 3] = [10, 20, 30, 40][x];

  it('cover scales to cover and crops the centre', () => {
    const out = fitBackground(wide, 2, 2, 'cover');
    expect(reds(out)).toEqual([20, 30, 20, 30]);
    // Larger: 2:1 image 200×100 with columns x into a 50×50 square → source columns 50..149.
    const big = createFrame(200, 100, 3);
    for (let y = 0; y < 100; y++) for (let x = 0; x < 200; x++) big.data[(y * 200 + x) * 3] = x;
    const sq = fitBackground(big, 50, 50);
    expect(sq.width).toBe(50);
    expect(sq.height).toBe(50);
    // Output x covers source [50 + 2x, 52 + 2x): the mean of columns 50+2x and 51+2x.
    expect(sq.data[0]).toBe(51); // round(50.5)
    expect(sq.data[49 * 3]).toBe(149); // round(148.5) → 149
    expect(sq.data[(25 * 50 + 25) * 3]).toBe(101);
  });

  it('contain letterboxes with the fill colour', () => {
    const out = fitBackground(wide, 4, 4, 'contain');
    expect(reds(out)).toEqual([0, 0, 0, 0, 10, 20, 30, 40, 10, 20, 30, 40, 0, 0, 0, 0]);
    const rgba = createFrame(4, 2, 4);
    rgba.data.fill(255);
    const boxed = fitBackground(rgba, 4, 4, 'contain', [1, 2, 3, 4]);
    expect(Array.from(boxed.data.subarray(0, 4))).toEqual([1, 2, 3, 4]);
    expect(Array.from(boxed.data.subarray(16, 20))).toEqual([255, 255, 255, 255]);
    expect(Array.from(boxed.data.subarray(48, 52))).toEqual([1, 2, 3, 4]);
    // Default fill: opaque black.
    expect(Array.from(fitBackground(rgba, 4, 4, 'contain').data.subarray(0, 4))).toEqual([0, 0, 0, 255]);
  });

  it('contain pillarboxes a tall image', () => {
    const tall = createFrame(1, 2, 3);
    tall.data.set([50, 0, 0, 60, 0, 0]);
    const out = fitBackground(tall, 4, 2, 'contain', [9, 9, 9, 255]);
    expect(reds(out)).toEqual([9, 50, 9, 9, 9, 60, 9, 9]);
  });

  it('stretch ignores the aspect ratio', () => {
    const out = fitBackground(wide, 4, 4, 'stretch');
    expect(reds(out)).toEqual([10, 20, 30, 40, 10, 20, 30, 40, 10, 20, 30, 40, 10, 20, 30, 40]);
    expect(() => fitBackground(wide, 4, 4, 'zoom' as 'cover')).toThrow(/fit must be/);
  });
});

describe('boxDownsample', () => {
  it('averages k × k blocks (rounded), leaving out the rows and columns that do not fill a block', () => {
    // k = 2 has a path of its own (halving); 3 takes the general one.
    for (const k of [2, 3]) {
      for (const C of [3, 4] as const) {
        const f = createFrame(7, 5, C);
        for (let i = 0; i < f.data.length; i++) f.data[i] = (i * 37) % 256;
        const out = boxDownsample(f, k);
        const w = Math.floor(7 / k), h = Math.floor(5 / k);
        expect([out.width, out.height, out.channels]).toEqual([w, h, C]);
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            for (let c = 0; c < C; c++) {
              let sum = 0;
              for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) sum += f.data[((k * y + dy) * 7 + k * x + dx) * C + c];
              expect(out.data[(y * w + x) * C + c]).toBe(Math.round(sum / (k * k)));
            }
          }
        }
      }
    }
    // Into a buffer of the result's size (a stream reuses one): the same values, in that buffer.
    const f = createFrame(9, 6, 3);
    for (let i = 0; i < f.data.length; i++) f.data[i] = (i * 53) % 256;
    const into = new Uint8Array(4 * 3 * 3);
    expect(boxDownsample(f, 2, into).data).toBe(into);
    expect(into).toEqual(boxDownsample(f, 2).data);
    expect(() => boxDownsample(f, 2, new Uint8Array(5))).toThrow(RangeError);
    expect(() => boxDownsample(createFrame(4, 4, 3), 0)).toThrow(RangeError);
    expect(() => boxDownsample(createFrame(4, 4, 3), 5)).toThrow(RangeError);
  });
});
