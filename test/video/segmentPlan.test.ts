import { describe, expect, it } from 'vitest';
import { DEFAULT_SEGMENT_LEAD_IN, planSegments, segmentJobOptions } from '../../src/node/video/segmentPlan.js';

const fps30 = { num: 30, den: 1 };
const frame = 1 / 30;
/** Keyframes every `every` seconds up to `end`. */
const every = (step: number, end: number) => Array.from({ length: Math.floor(end / step) + 1 }, (_, i) => i * step);

describe('planSegments', () => {
  it('cuts at the first keyframe at or after each boundary, with the lead-in before it', () => {
    const segs = planSegments({ keyframes: every(2, 20), segmentSeconds: 5, leadIn: 10, frameRate: fps30, duration: 20 });
    // Boundaries: 5 → keyframe 6; 6 + 5 = 11 → 12; 17 → 18 would leave 2 s (< half a segment): no cut.
    expect(segs.map((s) => s.keyframe)).toEqual([undefined, 6, 12]);
    expect(segs.map((s) => [s.index, s.start, s.end])).toEqual([
      [0, 0, 6],
      [1, 6, 12],
      [2, 12, undefined], // to the end of the video
    ]);
    expect(segs[0]).toMatchObject({ leadInStart: 0, leadInFrames: 0 });
    expect(segs[1].leadInFrames).toBe(10);
    expect(segs[1].leadInStart).toBeCloseTo(6 - 10 * frame, 12);
  });

  it('reads each segment from a quarter frame before its first frame to half a frame after its last', () => {
    const segs = planSegments({ keyframes: every(2, 20), segmentSeconds: 5, leadIn: 10, frameRate: fps30, duration: 20 });
    // The first as a one-worker run starts; ffmpeg counts the duration from the first frame it keeps.
    expect(segs[0].read.from).toBe(0);
    expect(segs[0].read.to).toBeCloseTo(6 - frame / 2, 12);
    const r1 = segs[1].read;
    expect(r1.from).toBeCloseTo(6 - 10.25 * frame, 12);
    expect(r1.to! - r1.from + segs[1].leadInStart).toBeCloseTo(12 - frame / 2, 12);
    expect(segs[2].read.to).toBeUndefined();
  });

  it('every segment but the last is at least segmentSeconds long; the last at least half of it', () => {
    const keyframes = every(1.5, 60);
    const segs = planSegments({ keyframes, segmentSeconds: 4, frameRate: fps30, duration: 60 });
    const lengths = segs.map((s) => (s.end ?? 60) - s.start);
    for (const l of lengths.slice(0, -1)) expect(l).toBeGreaterThanOrEqual(4 - 1e-9);
    expect(lengths.at(-1)).toBeGreaterThanOrEqual(2);
    expect(lengths.reduce((a, b) => a + b, 0)).toBeCloseTo(60, 9);
  });

  it('sparse keyframes make longer segments', () => {
    const segs = planSegments({ keyframes: [0, 10, 20, 30], segmentSeconds: 3, frameRate: fps30, duration: 40 });
    expect(segs.map((s) => s.keyframe)).toEqual([undefined, 10, 20, 30]);
  });

  it('no keyframe past the first boundary, or a video shorter than a segment, makes one segment', () => {
    for (const opts of [
      { keyframes: [0], duration: 100 },
      { keyframes: [], duration: 100 },
      { keyframes: every(1, 20), duration: 20, segmentSeconds: 30 },
    ]) {
      const segs = planSegments({ segmentSeconds: 5, frameRate: fps30, ...opts });
      expect(segs).toEqual([{ index: 0, start: 0, end: undefined, leadInStart: 0, leadInFrames: 0, read: { from: 0, to: undefined } }]);
    }
  });

  it("keeps to the job's range: the first segment starts at from, the last ends where a one-worker run's reading ends", () => {
    const segs = planSegments({ from: 2.51, to: 17.3, keyframes: every(1, 30), segmentSeconds: 4, leadIn: 6, frameRate: fps30 });
    expect(segs.map((s) => s.keyframe)).toEqual([undefined, 7, 11, 15]); // 17.3 − 15 = 2.3 s ≥ half a segment
    expect(segs[0]).toMatchObject({ start: 2.51, leadInStart: 2.51, leadInFrames: 0, read: { from: 2.51 } });
    expect(segs.at(-1)!.end).toBe(17.3);
    // A one-worker run keeps frames from 76/30 s (the first at or after 2.51 s) for 17.3 − 2.51 s.
    const last = segs.at(-1)!;
    expect(last.read.to! - last.read.from + last.leadInStart).toBeCloseTo(76 / 30 + 17.3 - 2.51, 12);
    for (const s of segs.slice(1)) expect(s.leadInStart).toBeGreaterThanOrEqual(2.51);
  });

  it('never reads a lead-in from before the job starts', () => {
    const segs = planSegments({ from: 1, keyframes: [0, 1.2, 1.5, 3], segmentSeconds: 0.2, leadIn: 30, frameRate: fps30, duration: 10 });
    // 6 frames between the job's first (1 s) and 1.2 s: read from the job's own start.
    expect(segs[1]).toMatchObject({ keyframe: 1.2, leadInFrames: 6, leadInStart: 1, read: { from: 1 } });
    expect(segs[2]).toMatchObject({ keyframe: 1.5, leadInFrames: 15, leadInStart: 1, read: { from: 1 } });
    expect(segs[3].leadInFrames).toBe(30);
    expect(segs[3].read.from).toBeCloseTo(3 - 30.25 * frame, 12);
  });

  it('counts the lead-in in frames at the exact rate', () => {
    const ntsc = { num: 30000, den: 1001 };
    const segs = planSegments({ keyframes: [0, 3.003, 6.006], segmentSeconds: 3, frameRate: ntsc, duration: 9 });
    expect(segs[1].leadInFrames).toBe(DEFAULT_SEGMENT_LEAD_IN);
    expect((segs[1].start - segs[1].leadInStart) * (30000 / 1001)).toBeCloseTo(DEFAULT_SEGMENT_LEAD_IN, 9);
    expect((segs[1].leadInStart - segs[1].read.from) * (30000 / 1001)).toBeCloseTo(0.25, 9);
  });

  it('refuses bad options, naming them', () => {
    const ok = { keyframes: [0], frameRate: fps30, segmentSeconds: 3 };
    expect(() => planSegments({ ...ok, segmentSeconds: 0 })).toThrow(/segmentSeconds/);
    expect(() => planSegments({ ...ok, leadIn: 2.5 })).toThrow(/leadIn/);
    expect(() => planSegments({ ...ok, frameRate: { num: 0, den: 1 } })).toThrow(/frameRate/);
    expect(() => planSegments({ ...ok, from: 5, to: 4 })).toThrow(/to \(4\) must be after from \(5\)/);
  });
});

describe('segmentJobOptions', () => {
  it('reads the lead-in and the segment, drops the lead-in and the sound, keeps the rest', () => {
    const seg = { index: 1, start: 6, end: 12, leadInStart: 5, leadInFrames: 30, keyframe: 6, read: { from: 4.99, to: 11.98 } };
    expect(segmentJobOptions({ crf: 18, from: 0, to: 20, audio: true }, seg)).toEqual({ crf: 18, from: 4.99, to: 11.98, audio: false, leadIn: 30 });
  });

  it('refuses an effect range, which counts frames from where reading starts', () => {
    const seg = { index: 0, start: 0, leadInStart: 0, leadInFrames: 0, read: { from: 0 } };
    expect(() => segmentJobOptions({ range: { unit: 'frame', from: 10 } }, seg)).toThrow(/effect range/);
  });
});
