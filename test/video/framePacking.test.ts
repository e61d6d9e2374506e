import { describe, expect, it } from 'vitest';
import { createFrame, createMask, type Frame, type Mask } from '../../src/core/frame.js';
import { boxDownsample } from '../../src/core/resize.js';
import { streamGuide, streamMaskSize, streamWorkSize } from '../../src/core/streamMask.js';
import { backgroundBlur, packBlurred, repackMask } from '../../src/node/video/framePacking.js';

/** A frame packed as the ffmpeg renderer packs it: the blur (strength null: none) of `small`, the mask in alpha. */
const pack = (small: Frame, mask: Mask, strength: number | null, W: number, H: number, buffer?: Uint8Array) =>
  packBlurred(mask, strength === null ? null : backgroundBlur(small, mask, strength, W, H), buffer, small.timestamp);

let seed = 7;
const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;

describe('backgroundBlur and packBlurred', () => {
  it("blurs the background from the stream's guide (the working frame halved) exactly as from the working frame", () => {
    for (const [W, H] of [[1280, 720], [1920, 1080], [1920, 800]]) {
      const { width: ww, height: wh } = streamWorkSize(W, H);
      const { width: mw, height: mh } = streamMaskSize(W, H);
      const work = createFrame(ww, wh, 3);
      for (let y = 0; y < wh; y++) for (let x = 0; x < ww; x++) work.data.set([(x * 7 + y) % 256, (x * y) % 256, Math.floor(rnd() * 256)], (y * ww + x) * 3);
      const mask = createMask(mw, mh);
      for (let y = 0; y < mh; y++) for (let x = 0; x < mw; x++) mask.data[y * mw + x] = Math.min(1, Math.max(0, (x - mw * 0.4) / 20));
      const guide = streamGuide(work);
      expect([guide.width, guide.height]).toEqual([mw, mh]);
      for (const strength of [10, 50, 100]) {
        expect(pack(guide, mask, strength, W, H).data).toEqual(pack(work, mask, strength, W, H).data);
      }
      // Into a used buffer of the packed size (a video reuses a few): every byte rewritten, with or without a blur.
      for (const strength of [50, null]) {
        const used = new Uint8Array(mw * mh * 4).fill(77);
        const packed = pack(guide, mask, strength, W, H, used);
        expect(packed.data).toBe(used);
        expect(packed.data).toEqual(pack(guide, mask, strength, W, H).data);
      }
    }
  });
});

describe('repackMask', () => {
  it("keeps an earlier packed frame's blurred background and puts the new mask in alpha", () => {
    const guide = createFrame(64, 36, 3);
    for (let i = 0; i < guide.data.length; i++) guide.data[i] = Math.floor(rnd() * 256);
    const [before, after] = [0.3, 0.6].map((edge) => {
      const m = createMask(64, 36);
      for (let i = 0; i < m.data.length; i++) m.data[i] = (i % 64) / 64 > edge ? 1 : 0;
      return m;
    });
    const earlier = pack(guide, before, 50, 1280, 720).data as Uint8Array;
    const used = new Uint8Array(earlier.length).fill(9);
    const repacked = repackMask(after, earlier, used, 40);
    expect(repacked.data).toBe(used);
    expect(repacked.timestamp).toBe(40);
    const alone = pack(guide, after, null, 1280, 720).data;
    for (let i = 0; i < earlier.length; i++) expect(repacked.data[i]).toBe(i % 4 === 3 ? alone[i] : earlier[i]);
    expect(() => repackMask(createMask(32, 18), earlier)).toThrow(/9216 bytes, not 32×18/);
  });
});

describe('streamGuide', () => {
  it('halves the working frame into the buffer it is given, and never into the working frame itself', () => {
    const work = createFrame(640, 360, 3);
    for (let i = 0; i < work.data.length; i++) work.data[i] = Math.floor(rnd() * 256);
    const buffer = new Uint8Array(320 * 180 * 3);
    const guide = streamGuide(work, buffer);
    expect(guide.data).toBe(buffer);
    expect(guide.data).toEqual(boxDownsample(work, 2).data);
    // A buffer of the wrong size, or one sharing the working frame's memory, is not written.
    expect(streamGuide(work, new Uint8Array(10)).data.length).toBe(buffer.length);
    const shared = new Uint8Array(work.data.buffer, 0, buffer.length);
    const before = Uint8Array.from(work.data);
    expect(streamGuide(work, shared).data).not.toBe(shared);
    expect(work.data).toEqual(before);
    // A working frame already at the mask's size is its own guide.
    const small = createFrame(300, 200, 3);
    expect(streamGuide(small)).toBe(small);
  });
});
