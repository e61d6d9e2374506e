/**
 * BackgroundEffect's moving backgrounds: a folder of images cycled by frame time (intervalMs), a
 * BackgroundProvider asked for the picture behind each frame, and resetTemporal starting both over.
 * The segmenter is a stand-in that sees no person, so the output is the background itself. Also
 * compositing in place (what live sessions ask for).
 */
import { describe, expect, it } from 'vitest';
import type { BackgroundProvider } from '../../src/core/backgroundProvider.js';
import { BackgroundEffect } from '../../src/core/effect.js';
import { createMask, type Frame } from '../../src/core/frame.js';
import type { Segmenter } from '../../src/core/segmenter.js';
import { streamChain } from '../../src/core/streamChain.js';
import { FlipProcessor } from '../../src/core/flip.js';
import { FpsMeter } from '../../src/core/fpsMeter.js';

const W = 32;
const H = 24;
const noPerson = { segment: async () => createMask(16, 16, 0), spec: {} } as unknown as Segmenter;

function solid(value: number, width = W, height = H): Frame {
  return { width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(value) };
}
const camera = (timestamp?: number): Frame => ({ ...solid(0), timestamp });
const images = [solid(10), solid(20), solid(30)];
const shown = async (effect: BackgroundEffect, timestamp?: number) => (await effect.process(camera(timestamp))).data[0];

describe('image backgrounds cycled by time', () => {
  it('moves to the next image every intervalMs of frame time, from the first frame it sees', async () => {
    const effect = new BackgroundEffect(noPerson, { effect: { type: 'image', images, intervalMs: 1000 }, lightWrap: 0 });
    const seen = [];
    for (const t of [5000, 5960, 6000, 6999, 7000, 8000]) seen.push(await shown(effect, t));
    expect(seen).toEqual([10, 10, 20, 20, 30, 10]);
  });

  it('a/d (next/previous) go on from the image on screen, which then stays a whole interval', async () => {
    const effect = new BackgroundEffect(noPerson, { effect: { type: 'image', images, intervalMs: 1000 }, lightWrap: 0 });
    expect(await shown(effect, 0)).toBe(10);
    expect(await shown(effect, 1500)).toBe(20);
    effect.next();
    expect(await shown(effect, 1600)).toBe(30);
    expect(await shown(effect, 2500)).toBe(30);
    expect(await shown(effect, 2600)).toBe(10);
    effect.previous();
    expect(await shown(effect, 2700)).toBe(30);
  });

  it('frames without timestamps (photos) stay on the selected image; a step back in time or resetTemporal starts over', async () => {
    const effect = new BackgroundEffect(noPerson, { effect: { type: 'image', images, intervalMs: 1000 }, lightWrap: 0 });
    expect(await shown(effect)).toBe(10);
    effect.setBackgroundIndex(1);
    expect(await shown(effect)).toBe(20);
    effect.setBackgroundIndex(0);
    expect(await shown(effect, 0)).toBe(10);
    expect(await shown(effect, 2100)).toBe(30);
    expect(await shown(effect, 100)).toBe(10); // another clip
    expect(await shown(effect, 1100)).toBe(20);
    effect.resetTemporal();
    expect(await shown(effect, 1200)).toBe(10);
  });

  it('rejects a bad interval', () => {
    expect(() => new BackgroundEffect(noPerson, { effect: { type: 'image', images, intervalMs: 0 } })).toThrow(/intervalMs/);
  });
});

describe('a background provider (video)', () => {
  /** Pictures 100, 101, … one per call, any size; records resets and closes. */
  function counter(width = W, height = H) {
    const calls: (number | undefined)[] = [];
    const p = {
      resets: 0,
      closes: 0,
      calls,
      frameFor(frame: Frame): Frame {
        calls.push(frame.timestamp);
        return solid(100 + calls.length - 1, width, height);
      },
      reset() {
        p.resets++;
      },
      close() {
        p.closes++;
      },
    } satisfies BackgroundProvider & Record<string, unknown>;
    return p;
  }

  it('composites the picture the provider gives for each frame, fitted to the frame', async () => {
    const source = counter(8, 6); // another size and aspect: cover-fitted
    const effect = new BackgroundEffect(noPerson, { effect: { type: 'video', source }, lightWrap: 0 });
    const a = await effect.process(camera(0));
    const b = await effect.process(camera(40));
    expect([a.width, a.height, a.data[0], a.data[a.data.length - 1]]).toEqual([W, H, 100, 100]);
    expect(b.data[0]).toBe(101);
    expect(source.calls).toEqual([0, 40]);
  });

  it('resetTemporal resets the provider; close closes it; render needs the picture', async () => {
    const source = counter();
    const effect = new BackgroundEffect(noPerson, { effect: { type: 'video', source }, lightWrap: 0 });
    effect.resetTemporal();
    await effect.close();
    expect([source.resets, source.closes]).toEqual([1, 1]);
    expect(() => effect.render(camera(0), createMask(W, H, 0))).toThrow(/picture/);
    expect(effect.render(camera(0), createMask(W, H, 0), solid(77)).data[0]).toBe(77);
    expect(() => new BackgroundEffect(noPerson, { effect: { type: 'video', source: {} as BackgroundProvider } })).toThrow(/frameFor/);
  });
});

describe('streamChain', () => {
  it('mirrors first, then the effect and yours, and the FPS meter last', () => {
    const effect = new BackgroundEffect(noPerson, { effect: { type: 'blur', strength: 10 } });
    const mine = { process: (f: Frame) => f };
    const { processors, fpsMeter } = streamChain(effect, { flip: true, fps: true, processors: [mine] });
    expect(processors.map((p) => p.constructor.name)).toEqual(['FlipProcessor', 'BackgroundEffect', 'Object', 'FpsMeter']);
    expect(processors[0]).toBeInstanceOf(FlipProcessor);
    expect(fpsMeter).toBe(processors[3]);
    expect(fpsMeter!.draw).toBe(true);
  });

  it('has no meter unless asked, except a hidden one for live sessions', () => {
    const effect = new BackgroundEffect(noPerson, { effect: { type: 'blur', strength: 10 } });
    expect(streamChain(effect, {})).toEqual({ processors: [effect], fpsMeter: null });
    const live = streamChain(effect, {}, true);
    expect(live.fpsMeter).toBeInstanceOf(FpsMeter);
    expect(live.fpsMeter!.draw).toBe(false);
    expect(streamChain(effect, { fps: { position: 'bottom-right' } }).fpsMeter!.position).toBe('bottom-right');
  });
});

describe('inPlace', () => {
  it("composites into the incoming frame's buffer when asked (a photo's mask and a stream's), the same pixels as into a new frame", async () => {
    for (const temporal of [undefined, true]) {
      const options = { effect: { type: 'color' as const, color: [0, 200, 0, 255] as [number, number, number, number] }, lightWrap: 0, temporal };
      const copying = new BackgroundEffect(noPerson, options);
      const input = solid(7);
      const expected = await copying.process(input);
      expect(expected.data, `temporal ${temporal}`).not.toBe(input.data);
      expect(input.data[1], 'the input is left alone').toBe(7);

      const inPlace = new BackgroundEffect(noPerson, options);
      inPlace.inPlace = true;
      const own = solid(7);
      const out = await inPlace.process(own);
      expect(out.data, `temporal ${temporal}`).toBe(own.data);
      expect(Array.from(out.data)).toEqual(Array.from(expected.data));
      expect(out.data[1]).toBe(200);
    }
  });
});
