/** A video as the background: picked by time at its own rate, looped, fitted to the frame in ffmpeg, started over on demand. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/frame.js';
import { fitFilter, openBackgroundVideo } from '../../src/node/video/backgroundVideo.js';
import { VideoInputError } from '../../src/node/video/probe.js';
import { createBackdrop } from '../../src/node/facade.js';
import { colourClip, makeTempDir, undecodableCopy } from '../helpers/videos.js';

let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
  // 1 s at 10 fps, 160×90: red for 0.5 s, then blue.
  clip = await colourClip(dir, ['red', 'blue']);
});
afterAll(() => cleanup());

const frame = (width: number, height: number, timestamp?: number): Frame => ({ width, height, channels: 3, data: new Uint8Array(width * height * 3), timestamp });
type Colour = 'red' | 'blue' | 'black' | 'other';
function colourAt(f: Frame, x: number, y: number): Colour {
  const i = (y * f.width + x) * 3;
  const [r, g, b] = [f.data[i], f.data[i + 1], f.data[i + 2]];
  if (r > 200 && g < 60 && b < 60) return 'red';
  if (b > 200 && r < 60 && g < 60) return 'blue';
  if (r < 20 && g < 20 && b < 20) return 'black';
  return 'other';
}

describe('BackgroundVideo', () => {
  it('plays at its own rate from the first frame asked for, loops, and starts over when time steps back', async () => {
    const bg = await openBackgroundVideo(clip);
    try {
      const at = async (t: number) => {
        const f = await bg.frameFor(frame(64, 48, t));
        expect([f.width, f.height, f.channels]).toEqual([64, 48, 3]);
        return colourAt(f, 32, 24);
      };
      // The output's clock starts wherever the stream does (here 2 s, as after --from).
      const seen = [];
      for (const t of [2000, 2440, 2560, 2960, 3000, 3400, 3600, 5560]) seen.push(await at(t));
      expect(seen).toEqual(['red', 'red', 'blue', 'blue', 'red', 'red', 'blue', 'blue']);
      // Another clip (time back at 0): from the start again.
      expect(await at(0)).toBe('red');
      expect(await at(700)).toBe('blue');
      // A photo (no timestamp) gets the first picture; a new size restarts the decoder at that size.
      const still = await bg.frameFor(frame(30, 20));
      expect([still.width, still.height, colourAt(still, 15, 10)]).toEqual([30, 20, 'red']);
      bg.reset();
      expect(await at(10_000)).toBe('red');
    } finally {
      await bg.close();
    }
  });

  it("plays along each stream's own clock when one Backdrop runs several streams", async () => {
    const backdrop = await createBackdrop({ model: 'landscape', effect: { type: 'video', path: clip } });
    const [a, b] = [backdrop.streamEffect(), backdrop.streamEffect()];
    try {
      const at = async (effect: typeof a, t: number): Promise<Colour> => {
        const fx = effect.effect;
        if (fx.type !== 'video') throw new Error('expected a video background');
        return colourAt(await fx.source.frameFor(frame(64, 48, t)), 32, 24);
      };
      expect(await at(a, 0)).toBe('red');
      expect(await at(a, 300)).toBe('red');
      // Stream b starts later on its own clock: the video from its start…
      expect(await at(b, 5000)).toBe('red');
      // …while stream a goes on where it was (0.7 s in: blue), not restarted by b.
      expect(await at(a, 700)).toBe('blue');
      expect(await at(b, 5600)).toBe('blue');
    } finally {
      await Promise.all([a.close(), b.close()]);
      await backdrop.close();
    }
  });

  it('fits like background images: cover crops, contain letterboxes', async () => {
    const contain = await openBackgroundVideo(clip, { fit: 'contain' });
    const cover = await openBackgroundVideo(clip, { fit: 'cover' });
    try {
      // A 16:9 video in a square frame.
      const c = await contain.frameFor(frame(64, 64, 0));
      expect([colourAt(c, 32, 2), colourAt(c, 32, 32), colourAt(c, 32, 61)]).toEqual(['black', 'red', 'black']);
      const v = await cover.frameFor(frame(64, 64, 0));
      expect([colourAt(v, 32, 2), colourAt(v, 32, 32), colourAt(v, 32, 61)]).toEqual(['red', 'red', 'red']);
    } finally {
      await Promise.all([contain.close(), cover.close()]);
    }
    expect(fitFilter(10, 20, 'stretch')).toBe('scale=10:20,setsar=1');
  });

  it('a file whose pictures cannot be decoded fails at once at the first frame, as a file, not as a camera', async () => {
    const damaged = await undecodableCopy(clip, join(dir, 'damaged.mp4'));
    const bg = await openBackgroundVideo(damaged);
    try {
      const err = await bg.frameFor(frame(64, 48, 0)).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(VideoInputError);
      expect(err!.message).toMatch(new RegExp(`^the background video ${damaged.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a readable video: `));
      expect(err!.message).not.toMatch(/camera/);
    } finally {
      await bg.close();
    }
  });

  it('a missing file fails when it is opened, not at the first frame', async () => {
    await expect(openBackgroundVideo(`${dir}/missing.mp4`)).rejects.toBeInstanceOf(VideoInputError);
  });
});
