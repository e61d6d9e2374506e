import { describe, expect, it } from 'vitest';
import { FlipProcessor, flipFrame } from '../../src/core/flip.js';
import type { Frame } from '../../src/core/frame.js';

/** A frame whose pixel (x, y) holds (x, y, x + 10·y[, 255 − x]). */
function ramp(w: number, h: number, channels: 3 | 4): Frame {
  const data = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * channels;
      data[o] = x;
      data[o + 1] = y;
      data[o + 2] = x + 10 * y;
      if (channels === 4) data[o + 3] = 255 - x;
    }
  }
  return { width: w, height: h, channels, data, timestamp: 123 };
}

const at = (f: Frame, x: number, y: number) => Array.from(f.data.subarray((y * f.width + x) * f.channels, (y * f.width + x + 1) * f.channels));

describe('flip', () => {
  for (const channels of [3, 4] as const) {
    it(`mirrors left-right (${channels} channels) without touching the input`, () => {
      const f = ramp(7, 3, channels);
      const before = f.data.slice();
      const out = new FlipProcessor().process(f);
      expect(out.timestamp).toBe(123);
      expect(out.channels).toBe(channels);
      for (let y = 0; y < 3; y++) for (let x = 0; x < 7; x++) expect(at(out, x, y)).toEqual(at(f, 6 - x, y));
      expect(f.data).toEqual(before);
    });

    it(`mirrors top-bottom and both (${channels} channels)`, () => {
      const f = ramp(4, 5, channels);
      const v = flipFrame(f, false, true);
      const both = new FlipProcessor({ horizontal: true, vertical: true }).process(f);
      for (let y = 0; y < 5; y++) {
        for (let x = 0; x < 4; x++) {
          expect(at(v, x, y)).toEqual(at(f, x, 4 - y));
          expect(at(both, x, y)).toEqual(at(f, 3 - x, 4 - y));
        }
      }
    });
  }

  it('flipping twice gives the original back; toggle() passes frames through', () => {
    const f = ramp(5, 2, 3);
    const p = new FlipProcessor();
    expect(Array.from(p.process(p.process(f)).data)).toEqual(Array.from(f.data));
    expect(p.toggle()).toBe(false);
    expect(p.process(f)).toBe(f);
    expect(p.toggle()).toBe(true);
    expect(p.process(f)).not.toBe(f);
  });
});
