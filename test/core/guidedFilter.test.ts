import { describe, expect, it } from 'vitest';
import { createFrame, createMask, type Frame, type Mask } from '../../src/core/frame.js';
import { GUIDED_PRE_SOFTNESS, GUIDED_SOFTNESS_SCALE, guidedRefine, guidedUpsample } from '../../src/core/guidedFilter.js';
import { smoothstepMask, upsampleBilinear } from '../../src/core/refine.js';

let seed = 1;
const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const inUnitRange = (m: Mask): boolean => m.data.every((v) => v >= 0 && v <= 1);

function noiseFrame(W: number, H: number, C: 3 | 4): Frame {
  const f = createFrame(W, H, C);
  for (let i = 0; i < f.data.length; i++) f.data[i] = Math.floor(rnd() * 256);
  return f;
}

/** Box mean with edge-repeated pixels, the slow way (every window summed). */
function boxRef(src: Float64Array, W: number, H: number, r: number): Float64Array {
  const out = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) s += src[Math.min(H - 1, Math.max(0, y + dy)) * W + Math.min(W - 1, Math.max(0, x + dx))];
      }
      out[y * W + x] = s / (2 * r + 1) ** 2;
    }
  }
  return out;
}

/** He et al.'s guided filter, written out from the paper (colour guide: a 3 × 3 solve per pixel). */
function guidedRef(I: Float64Array[], p: Float64Array, W: number, H: number, r: number, eps: number): Float64Array {
  const n = W * H;
  const mean = (a: Float64Array) => boxRef(a, W, H, r);
  const mul = (a: Float64Array, b: Float64Array) => a.map((v, i) => v * b[i]);
  const d = I.length;
  const mI = I.map(mean), mp = mean(p);
  const mIp = I.map((c) => mean(mul(c, p)));
  const mII = I.map((a) => I.map((b) => mean(mul(a, b))));
  const A = I.map(() => new Float64Array(n));
  const B = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Gaussian elimination on (Σ + εU) a = cov(I, p).
    const M = I.map((_, j) => [...I.map((__, k) => mII[j][k][i] - mI[j][i] * mI[k][i] + (j === k ? eps : 0)), mIp[j][i] - mI[j][i] * mp[i]]);
    for (let c = 0; c < d; c++) for (let rr = c + 1; rr < d; rr++) { const f = M[rr][c] / M[c][c]; for (let k = c; k <= d; k++) M[rr][k] -= f * M[c][k]; }
    const a = new Array<number>(d).fill(0);
    for (let c = d - 1; c >= 0; c--) { let s = M[c][d]; for (let k = c + 1; k < d; k++) s -= M[c][k] * a[k]; a[c] = s / M[c][c]; }
    let b = mp[i];
    for (let c = 0; c < d; c++) { A[c][i] = a[c]; b -= a[c] * mI[c][i]; }
    B[i] = b;
  }
  const mA = A.map(mean), mB = mean(B);
  return Float64Array.from({ length: n }, (_, i) => {
    let q = mB[i];
    for (let c = 0; c < d; c++) q += mA[c][i] * I[c][i];
    return Math.min(1, Math.max(0, q));
  });
}

describe('guidedUpsample', () => {
  it('is He et al.\'s guided filter (colour and grey guides) when it works at full resolution', () => {
    const W = 37, H = 23;
    const f = noiseFrame(W, H, 4);
    const low = createMask(W, H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) low.data[y * W + x] = x > 15 + rnd() * 5 ? 0.9 : 0.1;
    const channel = (c: number) => Float64Array.from({ length: W * H }, (_, i) => f.data[i * 4 + c] / 255);
    const rgb = [channel(0), channel(1), channel(2)];
    const grey = [Float64Array.from({ length: W * H }, (_, i) => 0.299 * rgb[0][i] + 0.587 * rgb[1][i] + 0.114 * rgb[2][i])];
    const p = Float64Array.from(low.data);
    for (const [r, eps] of [[3, 1e-3], [1, 1e-2], [6, 1e-4]]) {
      const opts = { radius: r / W, eps, workSide: 1000 };
      expect(maxDiff(guidedUpsample(low, f, { ...opts, guide: 'colour' }).data, guidedRef(rgb, p, W, H, r, eps))).toBeLessThan(1e-5);
      expect(maxDiff(guidedUpsample(low, f, { ...opts, guide: 'grey' }).data, guidedRef(grey, p, W, H, r, eps))).toBeLessThan(1e-5);
    }
  });

  it('with a constant guide is the mask box-smoothed twice', () => {
    const W = 40, H = 30, r = 4;
    const f = createFrame(W, H, 3);
    f.data.fill(120);
    const low = createMask(W, H);
    for (let i = 0; i < low.data.length; i++) low.data[i] = rnd();
    const expected = boxRef(boxRef(Float64Array.from(low.data), W, H, r), W, H, r);
    for (const guide of ['colour', 'grey'] as const) {
      expect(maxDiff(guidedUpsample(low, f, { radius: r / W, workSide: 1000, guide }).data, expected)).toBeLessThan(1e-5);
    }
  });

  // A picture with a sharp vertical edge at x = 100 (and a little noise), and a model mask with a
  // soft 24 px ramp at the model's coarse resolution, centred a few pixels off the picture's edge.
  const W = 256, H = 96, EDGE = 100;
  const stepFrame = createFrame(W, H, 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) stepFrame.data.set(x < EDGE ? [200, 150, 120] : [30, 80, 150], (y * W + x) * 3);
  for (let i = 0; i < stepFrame.data.length; i++) stepFrame.data[i] = Math.max(0, Math.min(255, stepFrame.data[i] + Math.round((rnd() - 0.5) * 6)));
  const ramp = (offset: number): Mask => {
    const m = createMask(64, 24);
    for (let j = 0; j < 24; j++) for (let i = 0; i < 64; i++) m.data[j * 64 + i] = Math.min(1, Math.max(0, 0.5 - ((i + 0.5) * 4 - (EDGE + offset)) / 24));
    return m;
  };

  it.each([-2, 3])('snaps a blurry mask edge %i px off onto the picture\'s edge', (offset) => {
    const low = ramp(offset);
    const bil = upsampleBilinear(low, W, H);
    const guided = guidedUpsample(low, stepFrame);
    const refined = guidedRefine(low, stepFrame, 0.5, 0.2);
    const bilinearEdge = smoothstepMask(bil, 0.5, 0.2);
    for (const y of [0, 5, 48, 95]) {
      const at = (m: Mask, x: number) => m.data[y * W + x];
      // Bilinear: a gentle ramp (1/24 a pixel), so its soft edge is off where the model put it.
      expect(at(bil, EDGE - 1) - at(bil, EDGE)).toBeLessThan(0.05);
      expect(offset < 0 ? at(bilinearEdge, EDGE - 1) : 1 - at(bilinearEdge, EDGE + 1)).toBeLessThan(0.5);
      // Guided: a step of more than a quarter at the picture's edge; after the soft edge, a clean cut there.
      expect(at(guided, EDGE - 1) - at(guided, EDGE)).toBeGreaterThan(0.25);
      expect(at(refined, EDGE - 1)).toBeGreaterThan(0.9);
      expect(at(refined, EDGE + 1)).toBeLessThan(0.1);
      // Where the picture is flat, the mask stays smooth and monotone (the noise is not copied in).
      for (let x = EDGE + 2; x < W - 1; x++) expect(at(guided, x + 1)).toBeLessThanOrEqual(at(guided, x) + 0.02);
      for (let x = 1; x < EDGE - 2; x++) expect(at(guided, x)).toBeLessThanOrEqual(at(guided, x - 1) + 0.02);
    }
  });

  it('takes any mask size, any frame size and channels, and stays within [0, 1]', () => {
    const cases: [number, number, number, number][] = [
      [1, 1, 1, 1], [1, 1, 256, 256], [5, 7, 1, 1], [37, 23, 256, 144], [100, 37, 7, 5], [50, 30, 300, 200],
      [3, 900, 16, 16], [1000, 2, 256, 256], [1283, 719, 256, 144], [2000, 1001, 301, 97],
    ];
    for (const [fw, fh, mw, mh] of cases) {
      const low = createMask(mw, mh);
      for (let i = 0; i < low.data.length; i++) low.data[i] = rnd() < 0.5 ? rnd() : Math.round(rnd());
      const f3 = noiseFrame(fw, fh, 3);
      const f4 = createFrame(fw, fh, 4);
      for (let i = 0; i < fw * fh; i++) f4.data.set([f3.data[3 * i], f3.data[3 * i + 1], f3.data[3 * i + 2], Math.floor(rnd() * 256)], 4 * i);
      const a = guidedUpsample(low, f3);
      expect([a.width, a.height]).toEqual([fw, fh]);
      expect(inUnitRange(a)).toBe(true);
      // Alpha is not part of the guide.
      expect(maxDiff(guidedUpsample(low, f4).data, a.data)).toBe(0);
      expect(inUnitRange(guidedUpsample(low, f3, { guide: 'grey' }))).toBe(true);
    }
  });

  it('keeps its coefficients for a stream, and with reuse applies them to a new picture without reading the mask', () => {
    const low = createMask(64, 36);
    for (let y = 0; y < 36; y++) for (let x = 0; x < 64; x++) low.data[y * 64 + x] = x > 20 && x < 44 && y > 8 ? 1 : 0;
    const f = noiseFrame(256, 144, 3);
    const kept = { reuse: false, data: null as Float32Array | null, key: '' };
    const first = guidedUpsample(low, f, { workSide: 128, coefficients: kept });
    expect(maxDiff(first.data, guidedUpsample(low, f, { workSide: 128 }).data)).toBe(0);
    expect(kept.data).not.toBeNull();

    // Reused: the same output for the same picture, whatever the mask says now.
    const empty = createMask(64, 36);
    kept.reuse = true;
    expect(maxDiff(guidedUpsample(empty, f, { workSide: 128, coefficients: kept }).data, first.data)).toBe(0);
    // … and a new picture gets the old coefficients (q = a·I + b): brighter where a > 0.
    const brighter = { ...f, data: f.data.map((v) => Math.min(255, v + 40)) };
    const moved = guidedUpsample(empty, brighter, { workSide: 128, coefficients: kept });
    expect(maxDiff(moved.data, first.data)).toBeGreaterThan(0);
    expect(maxDiff(moved.data, guidedUpsample(low, brighter, { workSide: 128 }).data)).toBeGreaterThan(0);

    // Not reused: worked out afresh (an empty mask filters to nothing) and stored.
    kept.reuse = false;
    expect(Math.max(...guidedUpsample(empty, f, { workSide: 128, coefficients: kept }).data)).toBe(0);
    kept.reuse = true;
    expect(Math.max(...guidedUpsample(low, f, { workSide: 128, coefficients: kept }).data)).toBe(0);
    // Coefficients of another size are never applied: a frame of another size computes its own.
    const other = noiseFrame(200, 100, 3);
    expect(maxDiff(guidedUpsample(low, other, { workSide: 128, coefficients: kept }).data, guidedUpsample(low, other, { workSide: 128 }).data)).toBe(0);
  });

  it('applies the soft edge and the inversion exactly as smoothstepMask and 1 − m would', () => {
    const low = createMask(64, 36);
    for (let j = 0; j < 36; j++) for (let i = 0; i < 64; i++) low.data[j * 64 + i] = (i - 32) ** 2 + (j - 18) ** 2 < 150 + rnd() * 40 ? 0.95 : 0.02;
    const f = noiseFrame(1283, 721, 3);
    const plain = guidedUpsample(low, f);
    for (const [threshold, softness] of [[0.5, 0.1], [0.3, 0.4], [0.6, 0]]) {
      const edged = guidedUpsample(low, f, { edge: { threshold, softness } });
      expect(maxDiff(edged.data, smoothstepMask(plain, threshold, softness).data)).toBeLessThan(1e-6);
      const inverted = guidedUpsample(low, f, { edge: { threshold, softness }, invert: true });
      expect(maxDiff(inverted.data, edged.data.map((v) => 1 - v))).toBe(0);
    }
    expect(maxDiff(guidedUpsample(low, f, { invert: true }).data, plain.data.map((v) => 1 - v))).toBe(0);
    // Into a given mask.
    const out = createMask(1283, 721, 7);
    expect(guidedUpsample(low, f, { out })).toBe(out);
    expect(maxDiff(out.data, plain.data)).toBe(0);
  });

  it('smooths as much on a thumbnail as on a large picture (radius and working size scale with the frame)', () => {
    const low = createMask(32, 32);
    for (let i = 0; i < low.data.length; i++) low.data[i] = rnd() < 0.3 ? 1 : 0;
    const flat = (N: number): Frame => {
      const f = createFrame(N, N, 3);
      f.data.fill(128);
      return f;
    };
    const small = guidedUpsample(low, flat(256)), large = guidedUpsample(low, flat(2048));
    // The large result at the small one's pixel centres: the same picture, 8× the pixels.
    let worst = 0, spread = 0;
    for (let y = 0; y < 256; y++) {
      for (let x = 0; x < 256; x++) {
        const a = small.data[y * 256 + x];
        const b = (large.data[(8 * y + 3) * 2048 + 8 * x + 3] + large.data[(8 * y + 4) * 2048 + 8 * x + 4]) / 2;
        worst = Math.max(worst, Math.abs(a - b));
        spread = Math.max(spread, Math.abs(a - 0.3));
      }
    }
    expect(spread).toBeGreaterThan(0.05); // the smoothing has not flattened everything
    expect(worst).toBeLessThan(0.03);
  });

  it('checks its options', () => {
    const low = createMask(4, 4, 0.5), f = createFrame(8, 8, 3);
    expect(() => guidedUpsample(low, f, { radius: 0 })).toThrow(/radius/);
    expect(() => guidedUpsample(low, f, { eps: -1 })).toThrow(/eps/);
    expect(() => guidedUpsample(low, f, { workSide: 0 })).toThrow(/workSide/);
    expect(() => guidedUpsample(low, f, { guide: 'rgb' as 'grey' })).toThrow(/guide/);
    expect(() => guidedUpsample(low, f, { out: createMask(7, 8) })).toThrow(/7×8/);
    expect(() => guidedRefine(low, f, 0.5, -0.1)).toThrow(/softness must be ≥ 0, got -0.1/);
  });
});

describe('guidedRefine', () => {
  it('moves the edge with the threshold, narrows the soft edge, and softness 0 is a hard cut', () => {
    // Flat picture, smooth ramp: the output edge follows the threshold on the model's probability.
    const low = createMask(64, 1);
    for (let i = 0; i < 64; i++) low.data[i] = 1 - i / 63;
    const f = createFrame(640, 8, 3);
    f.data.fill(90);
    const crossing = (m: Mask) => m.data.subarray(0, 640).findIndex((v) => v < 0.5);
    const mid = crossing(guidedRefine(low, f, 0.5, 0.2));
    expect(Math.abs(mid - 320)).toBeLessThan(20);
    // A lower threshold keeps more: the edge moves right, about where p = 0.3 is (x ≈ 448).
    const lower = crossing(guidedRefine(low, f, 0.3, 0.2));
    expect(lower).toBeGreaterThan(mid + 80);
    const hard = guidedRefine(low, f, 0.5, 0);
    for (const v of hard.data) expect(v === 0 || v === 1).toBe(true);
    expect(GUIDED_SOFTNESS_SCALE).toBeLessThan(1);
    expect(GUIDED_PRE_SOFTNESS).toBeGreaterThan(0);
    const inv = guidedRefine(low, f, 0.5, 0.2, true);
    expect(maxDiff(inv.data, guidedRefine(low, f, 0.5, 0.2).data.map((v) => 1 - v))).toBe(0);
  });
});
