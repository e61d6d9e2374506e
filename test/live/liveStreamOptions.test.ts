/**
 * Live sessions with the stream options, on a synthetic camera whose left half is white: `flip`
 * mirrors it, the `f` key (in the preview page) shows the FPS meter top-left, and the session's
 * effect smooths over time unless told not to.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackgroundEffect } from '../../src/core/effect.js';
import type { TemporalOptions } from '../../src/core/temporal.js';
import { startLive, type LiveBackdrop } from '../../src/node/live/runLive.js';
import { createBackdrop, type Backdrop } from '../../src/node/facade.js';

const W = 320;
const H = 240;
/** Black, with the left half white; no person, so a blur of strength 0 leaves it as it is. */
const CAMERA = `lavfi:color=c=black:s=${W}x${H}:r=25,drawbox=x=0:y=0:w=${W / 2}:h=${H}:color=white:t=fill`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let backdrop: Backdrop;
let effects: BackgroundEffect[];
/** The Backdrop, remembering the effects it made for sessions. */
let recording: LiveBackdrop;
beforeAll(async () => {
  backdrop = await createBackdrop({ effect: { type: 'blur', strength: 0 } });
  effects = [];
  recording = {
    streamEffect: (temporal?: TemporalOptions | boolean) => {
      const e = backdrop.streamEffect(temporal);
      effects.push(e);
      return e;
    },
  };
});
afterAll(() => backdrop.close());

async function previewFrame(url: string): Promise<{ data: Buffer; channels: number }> {
  const res = await fetch(new URL('frame.jpg', url));
  expect(res.status).toBe(200);
  const { data, info } = await sharp(Buffer.from(await res.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([W, H]);
  return { data, channels: info.channels };
}
/** Mean brightness of a box. */
function brightness(f: { data: Buffer; channels: number }, x0: number, y0: number, x1: number, y1: number): number {
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += f.data[(y * W + x) * f.channels];
  return sum / ((x1 - x0) * (y1 - y0));
}
/** Pixels brighter than 128 in a box. */
function bright(f: { data: Buffer; channels: number }, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (f.data[(y * W + x) * f.channels] > 128) n++;
  return n;
}

describe('live stream options', () => {
  it('flip mirrors the camera; f shows the FPS meter in the top-left corner; smoothing is on', async () => {
    const toggles: boolean[] = [];
    const session = await startLive({ input: CAMERA, backdrop: recording, outputs: { preview: true }, flip: true, onToggleFps: (shown) => toggles.push(shown) });
    try {
      const url = session.previewUrl!;
      const mirrored = await previewFrame(url);
      expect(brightness(mirrored, 0, 40, W / 2 - 10, H)).toBeLessThan(30);
      expect(brightness(mirrored, W / 2 + 10, 40, W, H)).toBeGreaterThan(225);
      // No meter yet: the top-left corner is the black half.
      expect(bright(mirrored, 0, 0, 100, 30)).toBe(0);

      const key = await fetch(new URL('key', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"key":"f"}' });
      expect(await key.json()).toEqual({ key: 'f', action: 'toggle-fps' });
      expect(toggles).toEqual([true]);
      expect(session.fpsMeter.draw).toBe(true);
      let text = 0;
      for (let i = 0; i < 50 && text < 20; i++) {
        await sleep(100);
        text = bright(await previewFrame(url), 0, 0, 100, 30);
      }
      // The meter's white letters on its dark box ("FPS 24.9").
      expect(text).toBeGreaterThan(20);

      expect(effects.at(-1)!.settings.temporal).toBe(true);
      expect(effects.at(-1)!.temporal).not.toBeNull();
    } finally {
      session.stop();
    }
    expect((await session.done).stoppedBy).toBe('stop');
  });

  it('fps: true shows the meter from the start; temporal: false turns smoothing off; no flip, no mirror', async () => {
    const session = await startLive({ input: CAMERA, backdrop: recording, outputs: { preview: true }, fps: true, temporal: false });
    try {
      const url = session.previewUrl!;
      let frame = await previewFrame(url);
      expect(brightness(frame, 0, 40, W / 2 - 10, H)).toBeGreaterThan(225);
      expect(brightness(frame, W / 2 + 10, 40, W, H)).toBeLessThan(30);
      // The meter's dark box over the white half.
      let dark = 0;
      for (let i = 0; i < 50 && dark < 20; i++) {
        frame = await previewFrame(url);
        dark = 100 * 30 - bright(frame, 0, 0, 100, 30);
        if (dark < 20) await sleep(100);
      }
      expect(dark).toBeGreaterThan(20);
      expect(effects.at(-1)!.temporal).toBeNull();
    } finally {
      session.stop();
    }
    await session.done;
  });
});
