import { describe, expect, it } from 'vitest';
import { composite, compositeLowRes, maskToGray, type Background } from '../../src/core/composite.js';
import { invertMask, smoothstepMask, upsampleBilinear } from '../../src/core/refine.js';
import { createFrame, createMask, type Frame, type Mask } from '../../src/core/frame.js';
import { fitBackground } from '../../src/core/resize.js';

/** Number of positions where two arrays differ (plus the length difference); cheap on big arrays. */
function diffs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n;
}

function noise(w: number, h: number, channels: 3 | 4, seed = 7): Frame {
  const f = createFrame(w, h, channels);
  let s = seed;
  for (let i = 0; i < f.data.length; i++) f.data[i] = (s = (s * 16807) % 2147483647) & 255;
  return f;
}
const px = (f: Frame, i: number): number[] => Array.from(f.data.subarray(i * f.channels, (i + 1) * f.channels));

/** Left third background, middle third 0.5, right third person. */
function thirds(w: number, h: number): Mask {
  const m = createMask(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) m.data[y * w + x] = x < w / 3 ? 0 : x < (2 * w) / 3 ? 0.5 : 1;
  return m;
}

describe('composite', () => {
  it('colour: person kept, background exactly the colour, 0.5 midway', () => {
    const f = noise(30, 10, 3);
    const out = composite(f, thirds(30, 10), { kind: 'color', color: [0, 128, 0, 255] }, { lightWrap: 0 });
    for (let y = 0; y < 10; y++) {
      for (let x = 0; x < 30; x++) {
        const i = y * 30 + x;
        const [r, g, b] = px(f, i);
        if (x < 10) expect(px(out, i)).toEqual([0, 128, 0]);
        else if (x < 20) expect(px(out, i)).toEqual([Math.round(r / 2), Math.round((g + 128) / 2), Math.round(b / 2)]);
        else expect(px(out, i)).toEqual([r, g, b]);
      }
    }
    expect(out.channels).toBe(3);
  });

  it('keeps the alpha of 4-channel input', () => {
    const f = noise(30, 4, 4);
    const out = composite(f, thirds(30, 4), { kind: 'color', color: [255, 0, 0, 255] }, { lightWrap: 0 });
    expect(out.channels).toBe(4);
    for (let i = 0; i < 120; i++) expect(out.data[i * 4 + 3]).toBe(f.data[i * 4 + 3]);
    expect(px(out, 0).slice(0, 3)).toEqual([255, 0, 0]);
  });

  it('a translucent colour blends over the original background', () => {
    const f = noise(30, 4, 3);
    const out = composite(f, thirds(30, 4), { kind: 'color', color: [0, 0, 0, 128] }, { lightWrap: 0 });
    const k = 1 - 128 / 255;
    expect(px(out, 0)).toEqual(px(f, 0).map((v) => Math.round(v * k)));
    expect(px(out, 25)).toEqual(px(f, 25));
  });

  it('image: fitted (cover) and cached; m = 0 shows the image', () => {
    const f = noise(40, 20, 3, 3);
    const img = noise(60, 60, 3, 11);
    const m = createMask(40, 20);
    const out = composite(f, m, { kind: 'image', image: img }, { lightWrap: 0 });
    const fitted = fitBackground(img, 40, 20, 'cover');
    expect(diffs(out.data, fitted.data)).toBe(0);
    const stretched = composite(f, m, { kind: 'image', image: img, fit: 'stretch' }, { lightWrap: 0 });
    expect(diffs(stretched.data, fitBackground(img, 40, 20, 'stretch').data)).toBe(0);
    // Cached result is reused and still right.
    expect(diffs(composite(f, m, { kind: 'image', image: img }, { lightWrap: 0 }).data, fitted.data)).toBe(0);
  });

  it('an RGBA image blends over the original background by its alpha', () => {
    const f = noise(4, 1, 3, 5);
    const img = createFrame(4, 1, 4);
    img.data.set([255, 0, 0, 255, 255, 0, 0, 0, 255, 0, 0, 128, 255, 0, 0, 255]);
    const out = composite(f, createMask(4, 1), { kind: 'image', image: img, fit: 'stretch' }, { lightWrap: 0 });
    expect(px(out, 0)).toEqual([255, 0, 0]);
    expect(px(out, 1)).toEqual(px(f, 1));
    const a = 128 / 255;
    expect(px(out, 2)).toEqual(px(f, 2).map((v, c) => Math.round(v + ((c === 0 ? 255 : 0) - v) * a)));
  });

  it('light wrap brightens the person edge with the background, not the interior', () => {
    const W = 200, H = 100;
    const f = createFrame(W, H, 3); // black person and background
    const m = createMask(W, H);
    for (let y = 0; y < H; y++) for (let x = 100; x < W; x++) m.data[y * W + x] = 1;
    const bg: Background = { kind: 'color', color: [255, 255, 255, 255] };
    const plain = composite(f, m, bg, { lightWrap: 0 });
    const wrapped = composite(f, m, bg);
    const edge = 50 * W + 100, interior = 50 * W + 190, outside = 50 * W + 10;
    expect(plain.data[edge * 3]).toBe(0);
    expect(wrapped.data[edge * 3]).toBeGreaterThan(20); // ≈ 0.3·0.5·255
    expect(wrapped.data[edge * 3]).toBeLessThan(60);
    expect(wrapped.data[interior * 3]).toBe(0);
    expect(wrapped.data[outside * 3]).toBe(255);
    expect(() => composite(f, m, bg, { lightWrap: 2 })).toThrow(RangeError);
  });

  it('blur: person kept, background blurred, strength 0 is a copy', () => {
    const W = 128, H = 128;
    const f = createFrame(W, H, 3);
    const m = createMask(W, H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = (x >> 3) % 2 ? 200 : 0; // 8-px stripes
        f.data.fill(v, (y * W + x) * 3, (y * W + x) * 3 + 3);
        if (x >= 96) m.data[y * W + x] = 1;
      }
    }
    const out = composite(f, m, { kind: 'blur', strength: 100 }); // sigma ≈ 5 px
    for (let x = 96; x < W; x++) expect(out.data[(64 * W + x) * 3]).toBe(f.data[(64 * W + x) * 3]);
    // Stripes blurred to roughly their mean in the background.
    for (let x = 20; x < 60; x++) expect(Math.abs(out.data[(64 * W + x) * 3] - 100)).toBeLessThan(30);
    expect(diffs(composite(f, m, { kind: 'blur', strength: 0 }).data, f.data)).toBe(0);
  });

  it('writes into opts.out, or in place into the frame (also a Uint8ClampedArray)', () => {
    const f = noise(30, 10, 4);
    const m = thirds(30, 10);
    const bg: Background = { kind: 'color', color: [0, 128, 0, 255] };
    const fresh = composite(f, m, bg);
    const out = createFrame(30, 10, 4);
    expect(composite(f, m, bg, { out }).data).toBe(out.data);
    expect(diffs(out.data, fresh.data)).toBe(0);
    const clamped: Frame = { width: 30, height: 10, channels: 4, data: Uint8ClampedArray.from(f.data) };
    composite(clamped, m, bg, { out: clamped });
    expect(diffs(clamped.data, fresh.data)).toBe(0);
    const blurred = composite(f, m, { kind: 'blur', strength: 50 });
    const inPlace: Frame = { ...f, data: Uint8Array.from(f.data) };
    composite(inPlace, m, { kind: 'blur', strength: 50 }, { out: inPlace });
    expect(diffs(inPlace.data, blurred.data)).toBe(0);
    expect(() => composite(f, m, bg, { out: createFrame(30, 10, 3) })).toThrow(RangeError);
  });

  it('rejects a mask of the wrong size, naming both sizes', () => {
    const f = createFrame(8, 6, 3);
    expect(() => composite(f, createMask(4, 3), { kind: 'color', color: [0, 0, 0, 255] })).toThrow(RangeError);
    expect(() => composite(f, createMask(4, 3), { kind: 'blur', strength: 10 })).toThrow(/4×3.*8×6/);
  });
});

describe('maskToGray', () => {
  it('rounds and clamps', () => {
    const m: Mask = { width: 5, height: 1, data: Float32Array.from([-0.5, 0, 0.5, 1, 1.5]) };
    expect(Array.from(maskToGray(m))).toEqual([0, 0, 128, 255, 255]);
  });
});

describe('compositeLowRes (straight from the model mask, bilinear edges)', () => {
  const W = 320, H = 180;
  /** A smooth blob of person probability at 64 × 36, like a model's output. */
  function blob(lw = 64, lh = 36): Mask {
    const m = createMask(lw, lh);
    for (let y = 0; y < lh; y++) for (let x = 0; x < lw; x++) m.data[y * lw + x] = Math.max(0, Math.min(1, 1.6 - Math.hypot((x - lw / 2) / (lw / 5), (y - lh / 2) / (lh / 3))));
    return m;
  }
  const edge = { threshold: 0.5, softness: 0.2, invert: false };
  const refined = (low: Mask, invert = false) => {
    const m = smoothstepMask(upsampleBilinear(low, W, H), edge.threshold, edge.softness);
    return invert ? invertMask(m) : m;
  };

  it('gives exactly what composite gives with the upsampled, soft-edged mask (colour, image, inverted, hard edge)', () => {
    const f = noise(W, H, 3);
    const low = blob();
    const image = noise(100, 80, 3, 11);
    const cases: [Background, boolean, number][] = [
      [{ kind: 'color', color: [0, 200, 0, 255] }, false, 0.2],
      [{ kind: 'color', color: [0, 0, 0, 128] }, false, 0.2],
      [{ kind: 'image', image }, false, 0.2],
      [{ kind: 'color', color: [255, 0, 0, 255] }, true, 0.2],
      [{ kind: 'color', color: [255, 0, 0, 255] }, false, 0],
    ];
    for (const [bg, invert, softness] of cases) {
      const full = smoothstepMask(upsampleBilinear(low, W, H), edge.threshold, softness);
      const expected = composite(f, invert ? invertMask(full) : full, bg, { lightWrap: 0 });
      const got = compositeLowRes(f, low, { ...edge, softness, invert }, bg, { lightWrap: 0 });
      expect(diffs(got.data, expected.data), JSON.stringify({ bg: bg.kind, invert, softness })).toBe(0);
    }
  });

  it('is exact where the mask sits on the soft edge\'s ends (e0, e1, the threshold), where only some pixels are worked out', () => {
    const f = noise(W, H, 3);
    const { e0, e1 } = { e0: Math.fround(0.4), e1: Math.fround(0.6) };
    // Patches of 0, e0, 0.5, e1 and 1 side by side: runs of all-person, all-background and edge
    // pixels; the mask smaller than the frame (upsampled) and larger (downsampled).
    for (const [lw, lh, softness, invert] of [[64, 36, 0.2, false], [64, 36, 0.2, true], [64, 36, 0, false], [401, 233, 0.2, false], [97, 17, 0.2, true]] as const) {
      const low = createMask(lw, lh);
      const levels = [0, e0, 0.5, e1, 1, 1, 0];
      for (let y = 0; y < lh; y++) for (let x = 0; x < lw; x++) low.data[y * lw + x] = levels[(Math.floor(x / 5) + Math.floor(y / 7)) % levels.length];
      const full = smoothstepMask(upsampleBilinear(low, W, H), 0.5, softness);
      const bg: Background = { kind: 'color', color: [10, 250, 30, 255] };
      const expected = composite(f, invert ? invertMask(full) : full, bg, { lightWrap: 0 });
      const got = compositeLowRes(f, low, { threshold: 0.5, softness, invert }, bg, { lightWrap: 0 });
      expect(diffs(got.data, expected.data), JSON.stringify({ lw, lh, softness, invert })).toBe(0);
    }
  });

  it('composites into the frame itself (out = frame) exactly as into a new frame', () => {
    const low = blob();
    for (const bg of [{ kind: 'blur', strength: 50 }, { kind: 'color', color: [0, 200, 0, 255] }, { kind: 'image', image: noise(100, 80, 3, 5) }] as Background[]) {
      const f = noise(W, H, 3);
      const expected = compositeLowRes(f, low, edge, bg, { lightWrap: 0.3 });
      const own = { ...f, data: f.data.slice() };
      const got = compositeLowRes(own, low, edge, bg, { lightWrap: 0.3, out: own });
      expect(got.data, bg.kind).toBe(own.data);
      expect(diffs(got.data, expected.data), bg.kind).toBe(0);
      const mask = refined(low);
      const wholeExpected = composite(f, mask, bg, { lightWrap: 0.3 });
      const whole = { ...f, data: f.data.slice() };
      expect(diffs(composite(whole, mask, bg, { lightWrap: 0.3, out: whole }).data, wholeExpected.data), `${bg.kind}, whole mask`).toBe(0);
    }
  });

  it('blur and light wrap: the person identical, the background within rounding of composite', () => {
    const f = noise(W, H, 3);
    const low = blob();
    const mask = refined(low);
    for (const [bg, lightWrap] of [[{ kind: 'blur', strength: 50 }, 0], [{ kind: 'image', image: noise(100, 80, 3, 5) }, 0.3]] as [Background, number][]) {
      const expected = composite(f, mask, bg, { lightWrap });
      const got = compositeLowRes(f, low, edge, bg, { lightWrap });
      let sum = 0;
      let max = 0;
      let person = 0;
      for (let i = 0; i < W * H; i++) {
        for (let c = 0; c < 3; c++) {
          const d = Math.abs(got.data[3 * i + c] - expected.data[3 * i + c]);
          sum += d;
          max = Math.max(max, d);
          if (mask.data[i] === 1 && bg.kind === 'blur') person += d;
        }
      }
      expect(person, bg.kind).toBe(0);
      // Noise is the worst case for two different chains of area averages; a photo differs less.
      expect(sum / (W * H * 3), bg.kind).toBeLessThan(1);
      expect(max, `${bg.kind} max`).toBeLessThanOrEqual(bg.kind === 'blur' ? 8 : 3);
      // And it did change the background.
      expect(diffs(got.data, f.data)).toBeGreaterThan(W * H);
    }
  });
});
