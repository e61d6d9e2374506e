import { describe, expect, it } from 'vitest';
import { createFrame, createMask } from '../../src/core/frame.js';
import { cutout } from '../../src/core/matte.js';

describe('cutout', () => {
  // Red person on the right, blue background on the left, a 20-px soft edge from x = 90 to 110.
  const W = 200, H = 60;
  const frame = createFrame(W, H, 3);
  const mask = createMask(W, H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const m = Math.min(1, Math.max(0, (x + 0.5 - 90) / 20));
      mask.data[y * W + x] = m;
      const p = (y * W + x) * 3;
      frame.data[p] = Math.round(255 * m);
      frame.data[p + 1] = 0;
      frame.data[p + 2] = Math.round(255 * (1 - m));
    }
  }
  const out = cutout(frame, mask);

  it('is RGBA with alpha = round(m·255)', () => {
    expect(out.channels).toBe(4);
    expect(out.width).toBe(W);
    for (let i = 0; i < W * H; i++) expect(out.data[i * 4 + 3]).toBe(Math.round(mask.data[i] * 255));
  });

  it('decontaminates the edge: red-ish, far less blue than the input', () => {
    const y = 30;
    let rawTotal = 0, outTotal = 0;
    for (let x = 90; x < 110; x++) {
      const i = y * W + x;
      const [r, g, b, a] = out.data.subarray(i * 4, i * 4 + 4);
      expect(a).toBeGreaterThan(0);
      expect(a).toBeLessThan(255);
      const rawBlue = frame.data[i * 3 + 2];
      rawTotal += rawBlue;
      outTotal += b;
      expect(g).toBe(0);
      expect(b).toBeLessThanOrEqual(rawBlue);
      // Premultiplied, no pixel of the band carries visible blue.
      expect((b * a) / 255, `x=${x}`).toBeLessThan(4);
      // Pixels with α < 0.05 count as (almost) background themselves, so start above that.
      if (a >= 0.05 * 255 && a <= 0.95 * 255) {
        expect(r, `x=${x}`).toBeGreaterThan(200);
        expect(b, `x=${x}`).toBeLessThan(rawBlue * 0.2 + 1);
      }
    }
    expect(outTotal).toBeLessThan(rawTotal * 0.15);
    // Premultiplied, the edge carries (almost) no blue: α·F_blue ≈ 0 while the input's is (1 − α)·255.
    const i = y * W + 95;
    expect((out.data[i * 4 + 2] * out.data[i * 4 + 3]) / 255).toBeLessThan(3);
    expect(frame.data[i * 3 + 2]).toBeGreaterThan(150);
  });

  it('opaque pixels keep their colour, transparent ones are 0', () => {
    expect(Array.from(out.data.subarray((30 * W + 150) * 4, (30 * W + 150) * 4 + 4))).toEqual([255, 0, 0, 255]);
    expect(Array.from(out.data.subarray((30 * W + 20) * 4, (30 * W + 20) * 4 + 4))).toEqual([0, 0, 0, 0]);
  });

  it('writes into a given RGBA frame', () => {
    const target = createFrame(W, H, 4);
    target.data.fill(77);
    expect(cutout(frame, mask, target).data).toBe(target.data);
    let diff = 0;
    for (let i = 0; i < target.data.length; i++) if (target.data[i] !== out.data[i]) diff++;
    expect(diff).toBe(0);
  });

  it('multiplies in an RGBA input\'s own alpha', () => {
    const f = createFrame(4, 1, 4);
    f.data.set([10, 20, 30, 255, 10, 20, 30, 128, 10, 20, 30, 0, 10, 20, 30, 255]);
    const m = { width: 4, height: 1, data: Float32Array.from([1, 1, 1, 0]) };
    const o = cutout(f, m);
    expect(Array.from(o.data)).toEqual([10, 20, 30, 255, 10, 20, 30, 128, 10, 20, 30, 0, 0, 0, 0, 0]);
  });

  it('rejects a mask of the wrong size', () => {
    expect(() => cutout(frame, createMask(3, 3))).toThrow(/3×3.*200×60/);
  });
});
