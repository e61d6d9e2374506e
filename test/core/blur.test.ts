import { describe, expect, it } from 'vitest';
import { blurBackground, blurBackgroundFor, boxBlur3, boxRadii } from '../../src/core/blur.js';
import { createFrame, createMask, type Frame } from '../../src/core/frame.js';
import { resizeFrame, resizeMask } from '../../src/core/resize.js';

/** Number of positions where two arrays differ (plus the length difference); cheap on big arrays. */
function diffs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n;
}

const N = 256, LO = 96, HI = 160; // bright person square [96, 160)²

function scene(channels: 3 | 4 = 3): { frame: Frame; mask: ReturnType<typeof createMask> } {
  const frame = createFrame(N, N, channels);
  const mask = createMask(N, N);
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) {
      const on = x >= LO && x < HI && y >= LO && y < HI;
      const p = (y * N + x) * channels;
      frame.data[p] = frame.data[p + 1] = frame.data[p + 2] = on ? 240 : 20;
      if (channels === 4) frame.data[p + 3] = 255;
      if (on) mask.data[y * N + x] = 1;
    }
  }
  return { frame, mask };
}

/** Value of the low-res result at full-res pixel (x, y) (nearest low-res pixel). */
function at(low: Frame, x: number, y: number): number {
  const lx = Math.min(low.width - 1, Math.floor(((x + 0.5) * low.width) / N));
  const ly = Math.min(low.height - 1, Math.floor(((y + 0.5) * low.height) / N));
  return low.data[(ly * low.width + lx) * 3];
}

describe('blurBackground', () => {
  it('returns a low-res RGB frame', () => {
    const { frame, mask } = scene(4);
    const low = blurBackground(frame, mask, 50);
    expect(low.channels).toBe(3);
    expect(low.width).toBeLessThan(N);
    expect(low.width).toBeGreaterThanOrEqual(64);
    expect(low.width).toBe(low.height);
    expect(low.data.length).toBe(low.width * low.height * 3);
  });

  it('does not halo: the background next to the person stays dark', () => {
    const { frame, mask } = scene();
    const weighted = blurBackground(frame, mask, 50);
    const unweighted = blurBackground(frame, createMask(N, N), 50);
    // Just outside the square, on all four sides.
    for (const [x, y] of [[LO - 4, 128], [HI + 3, 128], [128, LO - 4], [128, HI + 3]]) {
      expect(at(weighted, x, y)).toBeLessThanOrEqual(22);
      expect(at(unweighted, x, y)).toBeGreaterThan(60);
    }
    // Far away both are the plain dark background.
    expect(at(weighted, 10, 10)).toBe(20);
    expect(at(unweighted, 10, 10)).toBe(20);
    // Deep inside the person there is no background: falls back to the (unweighted) blur.
    expect(at(weighted, 128, 128)).toBeGreaterThan(200);
  });

  it('strength scales the blur: sigma = strength/100 × 0.04 × longest side', () => {
    const { frame } = scene();
    const none = createMask(N, N);
    // Edge profile width grows with strength.
    const soft = blurBackground(frame, none, 100);
    const sharp = blurBackground(frame, none, 20);
    expect(at(soft, LO - 12, 128)).toBeGreaterThan(at(sharp, LO - 12, 128));
    // strength 0: no blur, the frame's own RGB at full size.
    const zero = blurBackground(frame, none, 0);
    expect(zero.width).toBe(N);
    expect(diffs(zero.data, frame.data)).toBe(0);
    expect(() => blurBackground(frame, none, 101)).toThrow(RangeError);
    expect(() => blurBackground(frame, createMask(10, 10), 50)).toThrow(/10×10.*256×256/);
  });

  it('the 4-channel box-blur fast path equals blurring each channel alone', () => {
    for (const [W, H, sigma] of [[37, 5, 3], [7, 3, 2], [200, 9, 6], [64, 64, 2]]) {
      const a = new Float32Array(W * H * 4);
      let s = 1;
      for (let i = 0; i < a.length; i++) a[i] = ((s = (s * 16807) % 2147483647) % 1000) / 10;
      const fast = Float32Array.from(boxBlur3(Float32Array.from(a), W, H, 4, sigma, 'zero'));
      let maxd = 0;
      for (let c = 0; c < 4; c++) {
        const one = new Float32Array(W * H);
        for (let i = 0; i < W * H; i++) one[i] = a[i * 4 + c];
        const r = boxBlur3(one, W, H, 1, sigma, 'zero');
        for (let i = 0; i < W * H; i++) maxd = Math.max(maxd, Math.abs(r[i] - fast[i * 4 + c]));
      }
      expect(maxd).toBeLessThan(1e-3);
    }
    // And the blur really is a blur: a single spike spreads out and keeps its mass (zero padding).
    const spike = new Float32Array(21 * 21);
    spike[10 * 21 + 10] = 100;
    const b = boxBlur3(spike, 21, 21, 1, 2, 'zero');
    expect(b[10 * 21 + 10]).toBeLessThan(10);
    expect(b[10 * 21 + 10]).toBeGreaterThan(b[10 * 21 + 12]);
    expect(b.reduce((x, y) => x + y, 0)).toBeCloseTo(100, 2);
  });

  it('box radii approximate the Gaussian variance', () => {
    for (const sigma of [1, 2.5, 3, 7]) {
      const r = boxRadii(sigma);
      const variance = r.reduce((v, ri) => v + ((2 * ri + 1) ** 2 - 1) / 12, 0);
      expect(Math.abs(Math.sqrt(variance) - sigma)).toBeLessThan(0.35);
    }
  });
});

describe('blurBackgroundFor', () => {
  it('blurs as much across as down when the picture is seen through a square view (a model input)', () => {
    // A 640 × 360 picture, dark with a bright square in the middle, seen as 128 × 128.
    const W = 640, H = 360;
    const picture = createFrame(W, H, 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) picture.data.fill(Math.abs(x - W / 2) < 6 && Math.abs(y - H / 2) < 6 ? 255 : 10, (y * W + x) * 3, (y * W + x + 1) * 3);
    const view = resizeFrame(picture, 128, 128);
    const low = blurBackgroundFor(view, createMask(128, 128), 100, W, H);
    expect(Math.abs(low.width / low.height - W / H)).toBeLessThan(0.1);
    // Spread of the blurred square in picture pixels, along the middle row and the middle column.
    const back = resizeFrame(low, W, H);
    const spread = (n: number, value: (i: number) => number): number => {
      let sw = 0, s2 = 0;
      for (let i = 0; i < n; i++) {
        const w = Math.max(0, value(i) - 10);
        sw += w;
        s2 += w * (i + 0.5 - n / 2) ** 2;
      }
      return Math.sqrt(s2 / sw);
    };
    const across = spread(W, (x) => back.data[((H / 2) * W + x) * 3]);
    const down = spread(H, (y) => back.data[(y * W + W / 2) * 3]);
    expect(across).toBeGreaterThan(15);
    expect(down / across).toBeGreaterThan(0.85);
    expect(down / across).toBeLessThan(1.15);
  });

  it('takes a model-size frame and its mask to the blur in one resample, looking as when both are resized to the picture first', () => {
    // A textured background around the person square, seen through a square view of a 16:9 picture.
    const { frame, mask } = scene();
    for (let i = 0; i < N * N; i++) if (mask.data[i] === 0) frame.data.fill(20 + ((i * 37) % 200), 3 * i, 3 * i + 3);
    const direct = blurBackgroundFor(frame, mask, 50, 1280, 720);
    const resizedFirst = blurBackground(resizeFrame(frame, 256, 144), resizeMask(mask, 256, 144), 50);
    expect([direct.width, direct.height]).toEqual([resizedFirst.width, resizedFirst.height]);
    let worst = 0;
    for (let y = 0; y < direct.height; y++) {
      for (let x = 0; x < direct.width; x++) {
        // Only where the background shows: the person's square covers the rest.
        const mx = Math.floor(((x + 0.5) * N) / direct.width), my = Math.floor(((y + 0.5) * N) / direct.height);
        if (mx >= LO - 8 && mx < HI + 8 && my >= LO - 8 && my < HI + 8) continue;
        for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(direct.data[(y * direct.width + x) * 3 + c] - resizedFirst.data[(y * direct.width + x) * 3 + c]));
      }
    }
    expect(worst).toBeLessThanOrEqual(3);
  });
});
