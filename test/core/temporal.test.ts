import { describe, expect, it } from 'vitest';
import { BackgroundEffect, refineMask } from '../../src/core/effect.js';
import { DEFAULT_CADENCE } from '../../src/core/modelCadence.js';
import { streamEdges } from '../../src/core/streamMask.js';
import { createMask, type Frame, type Mask } from '../../src/core/frame.js';
import type { Segmenter } from '../../src/core/segmenter.js';
import { TemporalSmoother, validateTemporalOptions } from '../../src/core/temporal.js';

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const M = 64; // mask size
const F = 128; // frame size (2 frame pixels per mask pixel)

/**
 * A frame: static textured background, and a textured "person" block covering frame columns
 * [left, left + 40) and rows [20, 108), the texture moving with it.
 */
function scene(left: number, seed = 1): Frame {
  const bg = rng(seed), data = new Uint8Array(F * F * 3);
  for (let y = 0; y < F; y++) {
    for (let x = 0; x < F; x++) {
      const o = (y * F + x) * 3;
      const inside = x >= left && x < left + 40 && y >= 20 && y < 108;
      const v = inside ? 150 + 80 * (((x - left) >> 2) % 2) + 20 * (((y >> 3) % 2)) : 30 + Math.floor(bg() * 60);
      data[o] = v;
      data[o + 1] = inside ? v - 40 : v;
      data[o + 2] = inside ? v - 80 : v;
      if (!inside) bg(); // keep the background stream aligned per pixel
    }
  }
  return { width: F, height: F, channels: 3, data };
}

/**
 * The model's mask for `scene(left)`: `hi` inside, 1 − hi outside (coverage-weighted at the
 * edges), plus uniform noise of ± `noise`.
 */
function modelMask(left: number, noise: number, r: () => number, hi = 1): Mask {
  const data = new Float32Array(M * M);
  for (let y = 0; y < M; y++) {
    for (let x = 0; x < M; x++) {
      // Coverage of the mask pixel [x, x+1) by the person [left/2, left/2 + 20), rows [10, 54).
      const cover = y >= 10 && y < 54 ? Math.max(0, Math.min(x + 1, left / 2 + 20) - Math.max(x, left / 2)) : 0;
      const v = 1 - hi + (2 * hi - 1) * cover;
      data[y * M + x] = Math.min(1, Math.max(0, v + (r() - 0.5) * 2 * noise));
    }
  }
  return { width: M, height: M, data };
}

/** Mean |Δ| between consecutive masks after the default soft threshold (what the user sees). */
function flicker(masks: Mask[]): number {
  let sum = 0;
  for (let t = 1; t < masks.length; t++) {
    const a = masks[t - 1].data, b = masks[t].data;
    let s = 0;
    for (let i = 0; i < a.length; i++) s += Math.abs(soft(a[i]) - soft(b[i]));
    sum += s / a.length;
  }
  return sum / (masks.length - 1);
}
const soft = (p: number) => {
  const t = Math.min(1, Math.max(0, (p - 0.4) / 0.2));
  return t * t * (3 - 2 * t);
};

/** Column where row y of the mask crosses 0.5 going right to left (the person's right edge), sub-pixel. */
function rightEdge(m: Mask, y: number): number {
  const row = m.data.subarray(y * m.width, (y + 1) * m.width);
  for (let x = m.width - 1; x > 0; x--) {
    if (row[x - 1] >= 0.5 && row[x] < 0.5) return x - 1 + (row[x - 1] - 0.5) / (row[x - 1] - row[x]) + 0.5;
  }
  return NaN;
}

describe('TemporalSmoother', () => {
  it('flickers far less on a static scene with a noisy model, and stays close to the truth', () => {
    const r = rng(7);
    const frame = scene(30);
    const truth = modelMask(30, 0, r);
    const noisy = () => modelMask(30, 0.35, r, 0.8); // 0.8 ± 0.35 inside, 0.2 ± 0.35 outside
    const raw: Mask[] = [], smoothed: Mask[] = [];
    const t = new TemporalSmoother();
    for (let i = 0; i < 40; i++) {
      // An unsure model whose noise keeps crossing the threshold.
      const m = noisy();
      raw.push(m);
      smoothed.push(t.apply(m, frame));
    }
    const fr = flicker(raw), fs = flicker(smoothed);
    expect(fr).toBeGreaterThan(0.01);
    expect(fs).toBeLessThan(0.5 * fr);
    // Still the same mask: smoothed agrees with the truth at least as well as the raw frames.
    const err = (ms: Mask[]) => ms.slice(10).reduce((s, m) => s + m.data.reduce((a, v, i) => a + Math.abs(soft(v) - truth.data[i]), 0), 0);
    expect(err(smoothed)).toBeLessThan(err(raw));
  });

  for (const motionCompensation of [true, false]) {
    it(`follows a moving sharp edge to within 1.5 px (motion compensation ${motionCompensation ? 'on' : 'off'})`, () => {
      const r = rng(3);
      const t = new TemporalSmoother({ motionCompensation });
      let worst = 0;
      for (let i = 0; i < 16; i++) {
        const left = 4 + 4 * i; // 4 frame px = 2 mask px per frame, a fast limb
        const out = t.apply(modelMask(left, 0.05, r), scene(left));
        const trueEdge = left / 2 + 20;
        if (i >= 3) {
          for (const y of [20, 32, 44]) worst = Math.max(worst, Math.abs(rightEdge(out, y) - trueEdge));
        }
      }
      expect(worst).toBeLessThan(1.5);
      expect(t.sceneCuts).toBe(0); // followed, not reset
    });
  }

  it('predicts a frame without the model: the history carried along the motion, its doubt grown', () => {
    const r = rng(5);
    const t = new TemporalSmoother();
    t.observe(M, M, scene(20));
    expect(t.canPredict).toBe(false); // nothing to predict from yet
    expect(() => t.predict()).toThrow(/canPredict/);
    t.correct(modelMask(20, 0.05, r));
    for (let i = 1; i < 6; i++) t.apply(modelMask(20 + 4 * i, 0.05, r), scene(20 + 4 * i));
    // The picture moves on (4 frame px = 2 mask px); the model does not look.
    t.observe(M, M, scene(44));
    expect(t.canPredict).toBe(true);
    expect(t.edgeMotion().motion).toBeGreaterThan(1);
    const predicted = t.predict();
    for (const y of [20, 32, 44]) expect(Math.abs(rightEdge(predicted, y) - (44 / 2 + 20))).toBeLessThan(1.5);
    // A wrong out mask is refused before the history moves on.
    const frames = t.frames;
    t.observe(M, M, scene(48));
    expect(() => t.predict(createMask(3, 3))).toThrow(/out mask is 3×3/);
    expect(() => t.correct(modelMask(48, 0.05, r), createMask(3, 3))).toThrow(/out mask is 3×3/);
    expect(t.frames).toBe(frames);
    expect(t.canPredict).toBe(true);
    t.predict();
    // A scene cut leaves nothing to predict from.
    t.observe(M, M, { ...scene(44), data: new Uint8Array(F * F * 3).fill(250) });
    expect(t.canPredict).toBe(false);
  });

  it('without frames, still follows a moving edge (disagreement releases the history)', () => {
    const r = rng(5);
    const t = new TemporalSmoother();
    let worst = 0;
    for (let i = 0; i < 16; i++) {
      const left = 4 + 4 * i;
      const out = t.apply(modelMask(left, 0.05, r));
      if (i >= 4) worst = Math.max(worst, Math.abs(rightEdge(out, 32) - (left / 2 + 20)));
    }
    expect(worst).toBeLessThan(2);
  });

  it('starts afresh when the mask or frame size changes, on reset() and on a scene cut', () => {
    const r = rng(9);
    const t = new TemporalSmoother();
    const frame = scene(30);
    for (let i = 0; i < 5; i++) t.apply(modelMask(30, 0.3, r), frame);
    const fresh = (out: Mask, m: Mask) => expect(Array.from(out.data)).toEqual(Array.from(m.data));

    // Mask size change.
    const small: Mask = { width: 16, height: 16, data: Float32Array.from({ length: 256 }, r) };
    fresh(t.apply(small, frame), small);
    // Frame size change (same mask size).
    for (let i = 0; i < 3; i++) t.apply(modelMask(30, 0.3, r), frame);
    const m1 = modelMask(30, 0.3, r);
    const other: Frame = { width: 96, height: 96, channels: 4, data: new Uint8Array(96 * 96 * 4) };
    fresh(t.apply(m1, other), m1);
    // reset().
    for (let i = 0; i < 3; i++) t.apply(modelMask(30, 0.3, r), frame);
    t.reset();
    const m2 = modelMask(30, 0.3, r);
    fresh(t.apply(m2, frame), m2);
    // Scene cut: a completely different picture.
    for (let i = 0; i < 3; i++) t.apply(modelMask(30, 0.3, r), frame);
    const cut = scene(30, 99);
    for (let i = 0; i < cut.data.length; i++) cut.data[i] = 255 - cut.data[i];
    const m3 = modelMask(70, 0.3, r);
    expect(t.sceneCuts).toBe(0);
    fresh(t.apply(m3, cut), m3);
    expect(t.sceneCuts).toBe(1);
    // The same picture again is no cut: smoothing resumes.
    const m4 = modelMask(30, 0.3, r);
    expect(Array.from(t.apply(m4, cut).data)).not.toEqual(Array.from(m4.data));
    expect(t.sceneCuts).toBe(1);
  });

  it('smooths less per frame when frames are further apart in time, and restarts after a jump in time', () => {
    const run = (intervalMs: number) => {
      const r = rng(21);
      const t = new TemporalSmoother();
      const base = scene(30);
      const out = Array.from({ length: 80 }, (_, i) => t.apply(modelMask(30, 0.35, r, 0.8), { ...base, timestamp: i * intervalMs }));
      // Mean |Δ| of the smoothed values once settled (the soft edge hides most of it by then).
      let sum = 0;
      for (let i = 41; i < 80; i++) for (let k = 0; k < M * M; k++) sum += Math.abs(out[i].data[k] - out[i - 1].data[k]);
      return sum / (39 * M * M);
    };
    expect(run(100)).toBeGreaterThan(1.3 * run(1000 / 30));
    expect(run(1000 / 30)).toBeGreaterThan(0.005);

    const r = rng(23);
    const t = new TemporalSmoother();
    const base = scene(30);
    for (let i = 0; i < 5; i++) t.apply(modelMask(30, 0.3, r), { ...base, timestamp: i * 40 });
    const jump = modelMask(30, 0.3, r);
    expect(Array.from(t.apply(jump, { ...base, timestamp: 5000 }).data)).toEqual(Array.from(jump.data)); // > 1 s later
    t.apply(modelMask(30, 0.3, r), { ...base, timestamp: 5040 });
    const back = modelMask(30, 0.3, r);
    expect(Array.from(t.apply(back, { ...base, timestamp: 200 }).data)).toEqual(Array.from(back.data)); // a seek back
    const next = modelMask(30, 0.3, r);
    expect(Array.from(t.apply(next, { ...base, timestamp: 240 }).data)).not.toEqual(Array.from(next.data)); // smoothing again
    expect(t.sceneCuts).toBe(0);
  });

  it('strength 0 is the raw mask; the input is never modified', () => {
    const r = rng(11);
    const t = new TemporalSmoother({ strength: 0 });
    const frame = scene(30);
    for (let i = 0; i < 4; i++) {
      const m = modelMask(30, 0.3, r);
      const copy = Float32Array.from(m.data);
      expect(Array.from(t.apply(m, frame).data)).toEqual(Array.from(copy));
    }
    const s = new TemporalSmoother();
    s.apply(modelMask(30, 0.3, r), frame);
    const m = modelMask(30, 0.3, r);
    const copy = Float32Array.from(m.data);
    const out = s.apply(m, frame);
    expect(m.data).toEqual(copy);
    expect(out.data).not.toBe(m.data);
  });

  it('is stronger with a higher strength', () => {
    const f = (strength: number) => {
      const r = rng(13);
      const t = new TemporalSmoother({ strength });
      const frame = scene(30);
      return flicker(Array.from({ length: 30 }, () => t.apply(modelMask(30, 0.35, r, 0.8), frame)));
    };
    expect(f(0.8)).toBeLessThan(f(0.5));
    expect(f(0.5)).toBeLessThan(f(0.2));
  });

  it('reads a frame already at the mask size directly, as it reads that frame scaled up', () => {
    // A mask-sized frame, and the same picture at twice the size (each pixel a 2×2 block): the
    // smoother must see the same picture through its one-tap and its four-tap paths.
    const small = (left: number): Frame => {
      const big = scene(left), data = new Uint8Array(M * M * 3);
      for (let y = 0; y < M; y++) for (let x = 0; x < M; x++) data.set(big.data.subarray(((2 * y) * F + 2 * x) * 3, ((2 * y) * F + 2 * x) * 3 + 3), (y * M + x) * 3);
      return { width: M, height: M, channels: 3, data };
    };
    const doubled = (f: Frame): Frame => {
      const data = new Uint8Array(F * F * 3);
      for (let y = 0; y < F; y++) for (let x = 0; x < F; x++) data.set(f.data.subarray(((y >> 1) * M + (x >> 1)) * 3, ((y >> 1) * M + (x >> 1)) * 3 + 3), (y * F + x) * 3);
      return { width: F, height: F, channels: 3, data };
    };
    const r = rng(17);
    const direct = new TemporalSmoother(), scaled = new TemporalSmoother();
    for (let i = 0; i < 10; i++) {
      const left = 20 + 6 * i, m = modelMask(left, 0.3, r), f = small(left);
      const a = direct.apply(m, f), b = scaled.apply(m, doubled(f));
      for (let k = 0; k < a.data.length; k++) expect(Math.abs(a.data[k] - b.data[k])).toBeLessThan(1e-5);
    }
    expect(direct.lastChange).toBeGreaterThan(0); // pictures were compared, not just masks
  });

  it('validates options, naming the bad one', () => {
    expect(() => validateTemporalOptions({ strength: 2 })).toThrow(/strength/);
    expect(() => validateTemporalOptions({ motionSensitivity: -1 })).toThrow(/motionSensitivity/);
    expect(() => validateTemporalOptions({ sceneCut: 0 })).toThrow(/sceneCut/);
    expect(() => validateTemporalOptions({ speed: 1 } as never)).toThrow(/unknown temporal option "speed"/);
    expect(() => new TemporalSmoother().apply({ width: 4, height: 4, data: new Float32Array(3) })).toThrow(/mask/);
  });
});

describe('TemporalSmoother on any grid', () => {
  /** modelMask's scene resampled (nearest) onto a gw × gh grid, with noise. */
  function gridMask(gw: number, gh: number, noise: number, r: () => number): Mask {
    const base = modelMask(30, 0, r);
    const data = new Float32Array(gw * gh);
    for (let y = 0; y < gh; y++) {
      for (let x = 0; x < gw; x++) {
        const v = base.data[Math.floor(((y + 0.5) * M) / gh) * M + Math.floor(((x + 0.5) * M) / gw)];
        data[y * gw + x] = Math.min(1, Math.max(0, 0.2 + 0.6 * v + (r() - 0.5) * 2 * noise));
      }
    }
    return { width: gw, height: gh, data };
  }

  for (const [gw, gh] of [[320, 180], [97, 61], [5, 3]] as const) {
    it(`smooths a ${gw}×${gh} mask as it does a square one, into the mask it is given`, () => {
      const r = rng(23);
      const frame = scene(30);
      const t = new TemporalSmoother();
      const reference = new TemporalSmoother();
      const out = createMask(gw, gh);
      const raw: Mask[] = [], smoothed: Mask[] = [];
      for (let i = 0; i < 30; i++) {
        const m = gridMask(gw, gh, 0.3, r);
        raw.push(m);
        const got = t.apply(m, frame, out);
        expect(got).toBe(out);
        const ref = reference.apply(m, frame);
        expect(Buffer.from(out.data.buffer).equals(Buffer.from(ref.data.buffer))).toBe(true);
        smoothed.push({ ...ref });
      }
      expect(flicker(smoothed)).toBeLessThan(0.5 * flicker(raw));
      expect(() => t.apply(gridMask(gw, gh, 0, r), frame, createMask(gw + 1, gh))).toThrow(/out mask/);
    });
  }
});

describe('BackgroundEffect temporal option', () => {
  /** A stand-in segmenter returning the given low-resolution masks in turn (ROI zoom off: one pass a frame). */
  /** Gives the masks in turn; `calls` counts the model's looks. */
  function fakeSegmenter(masks: Mask[]): Segmenter & { calls: number } {
    const fake = { calls: 0, spec: { outputWidth: M, outputHeight: M }, segment: async () => masks[fake.calls++ % masks.length] };
    return fake as unknown as Segmenter & { calls: number };
  }

  it('is off by default: the mask is exactly the refined model output (photos unchanged)', async () => {
    const r = rng(17);
    const masks = Array.from({ length: 4 }, () => modelMask(30, 0.3, r));
    const effect = new BackgroundEffect(fakeSegmenter(masks), { effect: { type: 'mask' }, roi: 'off' });
    expect(effect.temporal).toBeNull();
    const frame = scene(30);
    for (const m of masks) expect(Array.from((await effect.mask(frame)).data)).toEqual(Array.from(refineMask(m, frame, {}).data));
    expect(effect.timings.temporal).toBe(0);
  });

  it('smooths the low-resolution mask before refinement when on, and can be reset or switched off', async () => {
    const r = rng(19);
    const masks = Array.from({ length: 6 }, () => modelMask(30, 0.3, r));
    const frame = scene(30);
    // Bilateral edges: a stream's mask refined at the frame's size, as photos are (see the next test for a stream's own edges).
    const effect = new BackgroundEffect(fakeSegmenter(masks), { effect: { type: 'mask' }, temporal: { strength: 0.6 }, roi: 'off', refine: 'bilateral' });
    expect(effect.temporal?.options.strength).toBe(0.6);
    const reference = new TemporalSmoother({ strength: 0.6 });
    for (const m of masks) {
      const expected = refineMask(reference.apply(m, frame), frame, { refine: 'bilateral' });
      expect(Array.from((await effect.mask(frame)).data)).toEqual(Array.from(expected.data));
    }
    expect(effect.timings.temporal).toBeGreaterThan(0);
    effect.resetTemporal();
    expect(effect.temporal?.frames).toBe(0);
    effect.setOptions({ temporal: false });
    expect(effect.temporal).toBeNull();
    effect.setOptions({ temporal: true });
    expect(effect.temporal?.options.strength).toBe(0.5);
    expect(() => effect.setOptions({ temporal: { strength: -1 } })).toThrow(/strength/);
  });

  it("smooths a stream's mask before its guided edges (streamMask), and upsamples it with the narrower soft edge", async () => {
    const r = rng(23);
    const masks = Array.from({ length: 4 }, () => modelMask(30, 0.3, r));
    const frame = scene(30);
    // The model on every frame (a still picture's frames may otherwise go without it: see below).
    const effect = new BackgroundEffect(fakeSegmenter(masks), { effect: { type: 'mask' }, temporal: { predict: false }, roi: 'off', threshold: 0.4, softness: 0.3 });
    expect(effect.streamEdges).toBe('guided');
    expect(effect.streamEdge).toEqual({ threshold: 0.5, softness: 0.15, invert: false });
    const reference = new TemporalSmoother({});
    for (const m of masks) {
      // The frame is smaller than the working size: the stream mask is worked out on it as it is.
      const expected = streamEdges(reference.apply(m, frame), frame, 'guided', 0.4);
      expect(Array.from((await effect.streamMask(frame)).data)).toEqual(Array.from(expected.data));
    }
    expect(effect.timings.temporal).toBeGreaterThan(0);
    expect(effect.timings.refine).toBeGreaterThan(0);
    const photo = new BackgroundEffect(fakeSegmenter(masks), { effect: { type: 'mask' }, roi: 'off' });
    expect(photo.streamEdges).toBeNull();
    await expect(photo.streamMask(frame)).rejects.toThrow(/stream/);
  });

  it("lets a steady stream frame go without the model, at most maxSkip in a row, its mask the smoother's prediction", async () => {
    const r = rng(29);
    const beat = DEFAULT_CADENCE.maxSkip + 1;
    const masks = Array.from({ length: 6 }, () => modelMask(30, 0.3, r));
    const frame = scene(30);
    const segmenter = fakeSegmenter(masks);
    const effect = new BackgroundEffect(segmenter, { effect: { type: 'mask' }, temporal: true, roi: 'off', threshold: 0.4 });
    const reference = new TemporalSmoother({});
    let looked = 0;
    for (let i = 0; i < 2 * beat; i++) {
      reference.observe(M, M, frame);
      // The first frame starts the history; then the model sees every beat-th frame of the still picture.
      const low = i % beat !== 0 ? reference.predict() : reference.correct(masks[looked++]);
      const expected = streamEdges(low, frame, 'guided', 0.4);
      expect(Array.from((await effect.streamMask(frame)).data)).toEqual(Array.from(expected.data));
      expect(effect.predicted).toBe(i % beat !== 0);
    }
    expect(segmenter.calls).toBe(2);
    // A video file's frames skip by position (the model sees those at multiples of the beat), wherever the run starts.
    const fromSeven = fakeSegmenter(masks);
    const video = new BackgroundEffect(fromSeven, { effect: { type: 'mask' }, temporal: true, roi: 'off' });
    const lookedAt: number[] = [];
    for (let index = 7; index < 13; index++) {
      const before = fromSeven.calls;
      await video.streamMask({ ...frame, index });
      if (fromSeven.calls > before) lookedAt.push(index);
    }
    // The first starts the history.
    expect(lookedAt).toEqual([7, ...[8, 9, 10, 11, 12].filter((i) => i % beat === 0)]);
    expect(lookedAt.length).toBeGreaterThan(1);
    // Asked to, the model sees every frame.
    const everyFrame = fakeSegmenter(masks);
    const strict = new BackgroundEffect(everyFrame, { effect: { type: 'mask' }, temporal: { predict: false }, roi: 'off' });
    for (let i = 0; i < 6; i++) await strict.streamMask(frame);
    expect(everyFrame.calls).toBe(6);
  });

  it('runs the model on every frame where the edge moves fast', async () => {
    const r = rng(31);
    const segmenter = fakeSegmenter(Array.from({ length: 8 }, (_, i) => modelMask(8 + 8 * i, 0.05, r)));
    const effect = new BackgroundEffect(segmenter, { effect: { type: 'mask' }, temporal: true, roi: 'off' });
    // 8 frame px (4 mask px) a frame.
    for (let i = 0; i < 8; i++) await effect.streamMask(scene(8 + 8 * i));
    expect(segmenter.calls).toBe(8);
  });
});
