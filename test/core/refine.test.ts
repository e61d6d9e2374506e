import { describe, expect, it } from 'vitest';
import { createFrame, createMask, type Mask } from '../../src/core/frame.js';

/** Largest absolute difference between two equally long arrays (Infinity if lengths differ). */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
import {
  hardThreshold, invertMask, jointBilateralUpsample, smoothstepMask, upsampleBilinear,
} from '../../src/core/refine.js';

const mask = (values: number[]): Mask => ({ width: values.length, height: 1, data: Float32Array.from(values) });
const arr = (m: Mask): number[] => Array.from(m.data);

describe('smoothstepMask / hardThreshold / invertMask', () => {
  it('hits 0, 1 and 0.5 at the edges and midpoint', () => {
    const out = smoothstepMask(mask([0, 0.4, 0.45, 0.5, 0.55, 0.6, 1]), 0.5, 0.2);
    expect(out.data[0]).toBe(0);
    expect(out.data[1]).toBe(0);
    expect(out.data[2]).toBeCloseTo(0.15625, 5); // smoothstep(0.25)
    expect(out.data[3]).toBeCloseTo(0.5, 6);
    expect(out.data[4]).toBeCloseTo(0.84375, 5);
    expect(out.data[5]).toBe(1);
    expect(out.data[6]).toBe(1);
  });

  it('defaults to threshold 0.5, softness 0.2', () => {
    const out = smoothstepMask(mask([0.39, 0.5, 0.61]));
    expect(out.data[0]).toBe(0);
    expect(out.data[1]).toBeCloseTo(0.5, 6);
    expect(out.data[2]).toBe(1);
  });

  it('softness 0 is the seed hard cut p > threshold', () => {
    const m = mask([0.2, 0.5, 0.50001, 0.9]);
    expect(arr(smoothstepMask(m, 0.5, 0))).toEqual([0, 0, 1, 1]);
    expect(arr(hardThreshold(m, 0.5))).toEqual([0, 0, 1, 1]);
    expect(arr(hardThreshold(m, 0.1))).toEqual([1, 1, 1, 1]);
  });

  it('clamps the edges into [0, 1] so p = 1 stays 1 at high thresholds', () => {
    const out = smoothstepMask(mask([0.85, 0.95, 1]), 0.95, 0.2);
    expect(out.data[0]).toBe(0);
    expect(out.data[2]).toBe(1);
    // Edges 0.85 … 1 (clamped from 1.05): p = 0.95 is t = 2/3 → 20/27.
    expect(out.data[1]).toBeCloseTo(20 / 27, 5);
    expect(() => smoothstepMask(mask([0]), 0.5, -1)).toThrow(RangeError);
  });

  it('inverts', () => {
    expect(arr(invertMask(mask([0, 0.25, 1])))).toEqual([1, 0.75, 0]);
  });

  it('can write in place or into a given mask', () => {
    const m = mask([0.3, 0.7]);
    expect(smoothstepMask(m, 0.5, 0, m)).toBe(m);
    expect(arr(m)).toEqual([0, 1]);
    const out = mask([9, 9]);
    expect(invertMask(m, out)).toBe(out);
    expect(arr(out)).toEqual([1, 0]);
    expect(() => invertMask(m, mask([0]))).toThrow(/1×1.*2×1/);
  });
});

describe('upsampleBilinear', () => {
  it('matches GL_LINEAR with half-pixel centres and edge clamp', () => {
    expect(arr(upsampleBilinear(mask([0, 1]), 4, 1))).toEqual([0, 0.25, 0.75, 1]);
    // 3 → 5: src = (x + 0.5)·0.6 − 0.5 = −0.2, 0.4, 1.0, 1.6, 2.2
    const out = upsampleBilinear(mask([0, 0.5, 1]), 5, 1);
    expect(out.data[0]).toBe(0);
    expect(out.data[1]).toBeCloseTo(0.2, 6);
    expect(out.data[2]).toBeCloseTo(0.5, 6);
    expect(out.data[3]).toBeCloseTo(0.8, 6);
    expect(out.data[4]).toBe(1);
  });

  it('interpolates in 2-D', () => {
    const low: Mask = { width: 2, height: 2, data: Float32Array.from([0, 1, 1, 1]) };
    const out = upsampleBilinear(low, 4, 4);
    // (1,1) samples (0.25, 0.25): 0·0.5625 + 1·(0.1875·2 + 0.0625)
    expect(out.data[1 * 4 + 1]).toBeCloseTo(0.4375, 6);
    expect(out.data[0]).toBe(0);
    expect(out.data[15]).toBe(1);
  });
});

describe('jointBilateralUpsample', () => {
  const N = 256, L = 16, R = 80, CX = 128, CY = 128;
  const inside = (x: number, y: number): boolean => (x - CX) ** 2 + (y - CY) ** 2 <= R * R;

  // The true sharp disc at full resolution (pixel centres).
  const truth = new Float32Array(N * N);
  const guide = createFrame(N, N, 3);
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) {
      const on = inside(x + 0.5, y + 0.5);
      truth[y * N + x] = on ? 1 : 0;
      guide.data.set(on ? [220, 160, 130] : [40, 90, 160], (y * N + x) * 3);
    }
  }
  // A blurry low-res model output: area coverage at 16×16, then a 3×3 box blur.
  const cover = new Float32Array(L * L);
  const s = N / L;
  for (let j = 0; j < L; j++) {
    for (let i = 0; i < L; i++) {
      let c = 0;
      for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) c += truth[(j * s + y) * N + i * s + x];
      cover[j * L + i] = c / (s * s);
    }
  }
  const low = createMask(L, L);
  for (let j = 0; j < L; j++) {
    for (let i = 0; i < L; i++) {
      let sum = 0, n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const jj = j + dy, ii = i + dx;
          if (jj < 0 || ii < 0 || jj >= L || ii >= L) continue;
          sum += cover[jj * L + ii];
          n++;
        }
      }
      low.data[j * L + i] = sum / n;
    }
  }

  function edgeError(m: Mask): number {
    let err = 0, n = 0;
    for (let y = 0; y < N; y++) {
      for (let x = 0; x < N; x++) {
        const d = Math.hypot(x + 0.5 - CX, y + 0.5 - CY);
        if (Math.abs(d - R) > 4) continue;
        err += Math.abs(m.data[y * N + x] - truth[y * N + x]);
        n++;
      }
    }
    return err / n;
  }

  it('follows the guide edge better than bilinear', () => {
    const jbu = jointBilateralUpsample(low, guide);
    const bil = upsampleBilinear(low, N, N);
    expect(jbu.width).toBe(N);
    expect(jbu.height).toBe(N);
    const eJ = edgeError(jbu), eB = edgeError(bil);
    expect(eB).toBeGreaterThan(0.2);
    // Measured: ≈ 0.20 vs ≈ 0.45 (3 × 3 window ≈ 0.23).
    expect(eJ).toBeLessThan(eB * 0.5);
    expect(edgeError(jointBilateralUpsample(low, guide, { window: 3 }))).toBeLessThan(eB * 0.6);
  });

  it('equals bilinear where the mask is flat', () => {
    const jbu = jointBilateralUpsample(low, guide);
    const bil = upsampleBilinear(low, N, N);
    // The centre of the disc and the far corners are flat in the low-res mask (equal to float rounding).
    for (const [x, y] of [[128, 128], [120, 135], [2, 2], [250, 3], [3, 252]]) {
      expect(Math.abs(jbu.data[y * N + x] - bil.data[y * N + x])).toBeLessThan(1e-6);
    }
    // A mask flat everywhere gives exactly bilinear everywhere.
    const flat = createMask(L, L, 0.7);
    for (let i = 0; i < L * L; i++) flat.data[i] += (i % 3) * 0.005;
    expect(maxDiff(jointBilateralUpsample(flat, guide).data, upsampleBilinear(flat, N, N).data)).toBeLessThan(1e-6);
  });

  it('handles a 1×1 mask, non-integer scales and RGBA guides', () => {
    const one = jointBilateralUpsample(createMask(1, 1, 0.3), createFrame(5, 7, 3));
    expect(one.width).toBe(5);
    expect(one.height).toBe(7);
    for (const v of one.data) expect(v).toBeCloseTo(0.3, 6);

    let seed = 1;
    const rnd = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const lowR = createMask(7, 5);
    for (let i = 0; i < lowR.data.length; i++) lowR.data[i] = rnd();
    const g = createFrame(100, 37, 4);
    for (let i = 0; i < g.data.length; i++) g.data[i] = Math.floor(rnd() * 256);
    const out = jointBilateralUpsample(lowR, g);
    expect(out.width).toBe(100);
    expect(out.height).toBe(37);
    const lo = Math.min(...lowR.data), hi = Math.max(...lowR.data);
    let changed = 0;
    const bil = upsampleBilinear(lowR, 100, 37);
    for (let i = 0; i < out.data.length; i++) {
      expect(out.data[i]).toBeGreaterThanOrEqual(lo - 1e-6);
      expect(out.data[i]).toBeLessThanOrEqual(hi + 1e-6);
      if (Math.abs(out.data[i] - bil.data[i]) > 1e-3) changed++;
    }
    expect(changed).toBeGreaterThan(100);
    expect(() => jointBilateralUpsample(lowR, g, { sigmaColor: 0 })).toThrow(RangeError);
    // A guide smaller than the mask works too.
    const small = jointBilateralUpsample(lowR, createFrame(5, 3, 3));
    expect(small.data.length).toBe(15);
    for (const v of small.data) expect(v >= lo - 1e-6 && v <= hi + 1e-6).toBe(true);
    const into = createMask(100, 37, 5);
    expect(jointBilateralUpsample(lowR, g, { out: into })).toBe(into);
    expect(maxDiff(into.data, out.data)).toBe(0);
  });
});
