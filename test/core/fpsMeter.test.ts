import { describe, expect, it } from 'vitest';
import { glyph } from '../../src/core/font.js';
import { FpsMeter } from '../../src/core/fpsMeter.js';
import { createFrame, type Frame } from '../../src/core/frame.js';

/** A clock the test moves by hand. */
function manualClock() {
  const c = { t: 1000, now: () => c.t };
  return c;
}

const frame = () => createFrame(200, 100, 3);
const inked = (f: Frame) => {
  let n = 0;
  for (let i = 0; i < f.data.length; i++) if (f.data[i] !== 0) n++;
  return n;
};

describe('FpsMeter', () => {
  it('averages over the last N frame intervals from arrival times', () => {
    const clock = manualClock();
    const m = new FpsMeter({ window: 4, draw: false, clock: clock.now });
    expect(m.fps).toBe(0);
    m.process(frame());
    expect(m.fps).toBe(0); // one arrival: no interval yet
    clock.t += 40;
    m.process(frame());
    expect(m.fps).toBeCloseTo(25, 9);
    // Four frames 100 ms apart push the 40 ms interval out of a window of 4.
    for (let i = 0; i < 3; i++) {
      clock.t += 100;
      m.process(frame());
    }
    expect(m.fps).toBeCloseTo(4000 / 340, 9); // intervals 40, 100, 100, 100
    clock.t += 100;
    m.process(frame());
    expect(m.fps).toBeCloseTo(10, 9); // only 100 ms intervals left
    expect(m.frames).toBe(6);
    m.reset();
    expect(m.fps).toBe(0);
  });

  it('defaults to a 30-frame window', () => {
    const clock = manualClock();
    const m = new FpsMeter({ draw: false, clock: clock.now });
    for (let i = 0; i < 31; i++) {
      m.tick();
      clock.t += i < 5 ? 1000 : 20; // slow start, then 50 fps
    }
    // 31 arrivals = 30 intervals, all inside the window: 5 slow, 25 fast.
    expect(m.fps).toBeCloseTo((30 * 1000) / (5 * 1000 + 25 * 20), 9);
    for (let i = 0; i < 4; i++) {
      m.tick();
      clock.t += 20;
    }
    expect(m.fps).toBeLessThan(49); // one slow interval left in the window
    m.tick();
    expect(m.fps).toBeCloseTo(50, 9);
  });

  it('draws "FPS 25.0" in the chosen corner, on a copy', () => {
    const clock = manualClock();
    const m = new FpsMeter({ clock: clock.now, scale: 1, background: null, color: [0, 255, 0, 255], margin: 0, position: 'top-left' });
    m.process(frame());
    clock.t += 40;
    const input = frame();
    const out = m.process(input);
    expect(m.text()).toBe('FPS 25.0');
    expect(inked(input)).toBe(0); // input untouched
    // Text starts at (margin + padding) = (1, 1): 'F' row 0 is all ink.
    const g = glyph('F');
    for (let c = 0; c < 5; c++) expect(out.data[(1 * 200 + 1 + c) * 3 + 1]).toBe(g[0][c] ? 255 : 0);
    // Nothing in the right half.
    for (let y = 0; y < 100; y++) for (let x = 100; x < 200; x++) expect(out.data[(y * 200 + x) * 3 + 1]).toBe(0);
  });

  it('places the box in each corner', () => {
    const regions = { 'top-left': [0, 0], 'top-right': [1, 0], 'bottom-left': [0, 1], 'bottom-right': [1, 1] } as const;
    for (const [position, [qx, qy]] of Object.entries(regions)) {
      const m = new FpsMeter({ position: position as keyof typeof regions, scale: 2, background: [255, 0, 0, 255] });
      const out = m.process(frame());
      // All ink (red box or white text) lies in the expected quadrant.
      for (let y = 0; y < 100; y++) {
        for (let x = 0; x < 200; x++) {
          if (out.data[(y * 200 + x) * 3] === 0) continue;
          expect(Math.floor(x / 100), `${position} x`).toBe(qx);
          expect(Math.floor(y / 50), `${position} y`).toBe(qy);
        }
      }
      expect(inked(out)).toBeGreaterThan(0);
    }
  });

  it('draws extra lines below the FPS line, and toggle() hides it all', () => {
    const m = new FpsMeter({ scale: 1, lines: () => ['MODEL 2.9 MS', 'REFINE 4.1 MS'] });
    expect(m.text().split('\n')).toEqual(['FPS 0.0', 'MODEL 2.9 MS', 'REFINE 4.1 MS']);
    const one = new FpsMeter({ scale: 1 }).process(frame());
    const three = m.process(frame());
    expect(inked(three)).toBeGreaterThan(inked(one));
    expect(m.toggle()).toBe(false);
    const f = frame();
    expect(m.process(f)).toBe(f);
    expect(inked(f)).toBe(0);
    expect(m.toggle()).toBe(true);
  });

  it('draws in place on request and validates options', () => {
    const f = frame();
    expect(new FpsMeter({ inPlace: true }).process(f)).toBe(f);
    expect(inked(f)).toBeGreaterThan(0);
    expect(() => new FpsMeter({ window: 0 })).toThrow(/window/);
    expect(() => new FpsMeter({ position: 'middle' as 'top-left' })).toThrow(/position/);
    expect(() => new FpsMeter({ scale: 0 })).toThrow(/scale/);
  });
});
