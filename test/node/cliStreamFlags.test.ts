/**
 * `backdrop video…` with the stream flags, judged on the output's pixels: --flip mirrors, --fps
 * draws the meter top-left (or in the corner, colour and size asked for), --background plays a video (looped) or cycles a folder every
 * --background-interval seconds, and temporal smoothing is on unless --smoothing 0, its steady
 * frames going without the model unless --every-frame.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalFrom } from '../../src/node/options/backdropOptions.js';
import { videoOptionsFrom } from '../../src/node/options/videoOptions.js';
import { probeVideo } from '../../src/node/video/probe.js';
import { createBackdrop } from '../../src/node/facade.js';
import { cli } from '../helpers/cli.js';
import { clipWithAudio, colourClip, decodeFrames, makeTempDir } from '../helpers/videos.js';

const W = 400;
const H = 300;
const FRAME = W * H * 3;
let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
let input: Buffer;
/** Background pixels of the first frame (the talking head hardly moves in 3 s). */
let background: (i: number) => boolean;

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
  clip = await clipWithAudio(dir, 3, 'talk.mp4');
  input = await decodeFrames(clip, 3);
  const backdrop = await createBackdrop();
  const mask = (await backdrop.mask({ width: W, height: H, channels: 3, data: input.subarray(0, FRAME) })).data;
  await backdrop.close();
  background = (i) => mask[i] < 0.01;
});
afterAll(() => cleanup());

/** Runs the CLI on the clip with these flags; resolves with the decoded RGB frames of the output. */
async function render(name: string, ...flags: string[]): Promise<Buffer> {
  const out = join(dir, `${name}.mp4`);
  const run = await cli(clip, '-o', out, '-q', ...flags);
  expect(run.code, run.stderr).toBe(0);
  const frames = await decodeFrames(out, 3);
  expect(frames.length).toBe(input.length);
  return frames;
}

/** Mean absolute difference of frame n of a and b over the pixels in x0..x1 × y0..y1 (optionally only where `where`), with b mirrored left ↔ right when asked. */
function diff(a: Buffer, b: Buffer, n: number, opts: { mirrorB?: boolean; box?: [number, number, number, number]; where?: (i: number) => boolean } = {}): number {
  const [x0, y0, x1, y1] = opts.box ?? [0, 0, W, H];
  let sum = 0;
  let count = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (opts.where && !opts.where(y * W + x)) continue;
      const p = n * FRAME + (y * W + x) * 3;
      const q = n * FRAME + (y * W + (opts.mirrorB ? W - 1 - x : x)) * 3;
      for (let c = 0; c < 3; c++) sum += Math.abs(a[p + c] - b[q + c]);
      count += 3;
    }
  }
  return sum / count;
}

/** Share of frame n's pixels whose first channel differs between a and b by more than `by`. */
function changed(a: Buffer, b: Buffer, n: number, by = 16): number {
  let count = 0;
  for (let i = 0; i < W * H; i++) if (Math.abs(a[n * FRAME + i * 3] - b[n * FRAME + i * 3]) > by) count++;
  return count / (W * H);
}

/** Mean colour of frame n over the background pixels. */
function backgroundColour(frames: Buffer, n: number): [number, number, number] {
  const sum = [0, 0, 0];
  let count = 0;
  for (let i = 0; i < W * H; i++) {
    if (!background(i)) continue;
    for (let c = 0; c < 3; c++) sum[c] += frames[n * FRAME + i * 3 + c];
    count++;
  }
  return [sum[0] / count, sum[1] / count, sum[2] / count];
}
const isRed = ([r, g, b]: number[]) => r > 180 && g < 70 && b < 70;
const isBlue = ([r, g, b]: number[]) => b > 180 && r < 70 && g < 70;

describe('--flip and --fps', () => {
  let plain: Buffer;
  beforeAll(async () => {
    plain = await render('plain');
  });

  it('--flip: the output is the mirror image of the unflipped output', async () => {
    const flipped = await render('flipped', '--flip');
    for (const n of [0, 40, 74]) {
      const mirrored = diff(plain, flipped, n, { mirrorB: true });
      // Only the effect's edges may differ: the model sees a mirrored picture.
      expect(mirrored, `frame ${n}`).toBeLessThan(3);
      expect(diff(plain, flipped, n), `frame ${n}`).toBeGreaterThan(8 * Math.max(mirrored, 0.5));
    }
  });

  it('--fps: draws the meter in the top-left corner and leaves the rest of the frame alone', async () => {
    const withMeter = await render('fps', '--fps');
    for (const n of [10, 74]) {
      expect(diff(plain, withMeter, n, { box: [0, 0, 60, 20] }), `frame ${n}`).toBeGreaterThan(25);
      // Elsewhere only the encoder's rounding differs.
      expect(diff(plain, withMeter, n, { box: [W / 2, H / 2, W, H] }), `frame ${n}`).toBeLessThan(3);
    }
  });

  it('--fps-corner bottom-right --fps-color red --fps-size 3: that corner, that colour, that size', async () => {
    const styled = await render('fps-styled', '--fps', '--fps-corner', 'bottom-right', '--fps-color', 'red', '--fps-size', '3');
    const n = 40;
    expect(diff(plain, styled, n, { box: [W - 100, H - 30, W, H] })).toBeGreaterThan(25);
    expect(diff(plain, styled, n, { box: [0, 0, W / 2, H / 2] })).toBeLessThan(3);
    // Red text: strongly red pixels in the corner, and the text is 7 font pixels (21 px) tall.
    let rows = 0;
    let red = 0;
    for (let y = H - 40; y < H; y++) {
      let rowRed = 0;
      for (let x = W - 120; x < W; x++) {
        const p = n * FRAME + (y * W + x) * 3;
        if (styled[p] > 170 && styled[p + 1] < 90 && styled[p + 2] < 90) rowRed++;
      }
      red += rowRed;
      if (rowRed > 0) rows++;
    }
    expect(red).toBeGreaterThan(100);
    expect(rows).toBeGreaterThanOrEqual(18);
    expect(rows).toBeLessThanOrEqual(24);
  });

  it('refuses a meter style without --fps, and an unknown corner', async () => {
    const alone = await cli(clip, '-o', join(dir, 'never.mp4'), '--fps-color', 'red');
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--fps-corner, --fps-color and --fps-size go with --fps');
    const corner = await cli(clip, '-o', join(dir, 'never.mp4'), '--fps', '--fps-corner', 'middle');
    expect(corner.code).toBe(2);
    expect(corner.stderr).toMatch(/top-left.*bottom-right/);
  });
});

describe('--background video and folder interval', () => {
  it('a video background plays behind the person at its own speed, looped and cover-fitted', async () => {
    // 1 s at 10 fps, 16:9: red for 0.5 s, then blue; the output is 25 fps (40 ms a frame).
    const bg = await colourClip(dir, ['red', 'blue']);
    const out = await render('bg-video', '--background', bg, '--light-wrap', '0');
    const colours = [5, 12, 13, 24, 25, 37, 38, 74].map((n) => backgroundColour(out, n));
    // Frame n is at 40·n ms: red while (40·n mod 1000) < 500.
    expect(colours.map((c) => (isRed(c) ? 'red' : isBlue(c) ? 'blue' : `${c.map(Math.round)}`))).toEqual(['red', 'red', 'blue', 'blue', 'red', 'red', 'blue', 'blue']);
    // The person is untouched.
    expect(diff(input, out, 0, { where: (i) => !background(i) && i % 7 === 0 })).toBeLessThan(20);
  });

  it('a folder changes background every --background-interval seconds, at the frame the time says', async () => {
    const bgs = join(dir, 'bgs');
    await mkdir(bgs, { recursive: true });
    const solid = (r: number, g: number, b: number) => sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g, b } } }).png();
    await solid(255, 0, 0).toFile(join(bgs, '1-red.png'));
    await solid(0, 0, 255).toFile(join(bgs, '2-blue.png'));
    const out = await render('bg-folder', '--background', bgs, '--background-interval', '1', '--light-wrap', '0');
    const at = (n: number) => {
      const c = backgroundColour(out, n);
      return isRed(c) ? 'red' : isBlue(c) ? 'blue' : `${c.map(Math.round)}`;
    };
    // 25 fps: frames 0–24 are the first second.
    expect([0, 24, 25, 49, 50, 74].map(at)).toEqual(['red', 'red', 'blue', 'blue', 'red', 'red']);
  });

  it('--background-interval needs --background', async () => {
    const run = await cli(clip, '--background-interval', '2', '-o', join(dir, 'x.mp4'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--background-interval goes with a --background folder/);
  });
});

describe('temporal smoothing', () => {
  /** The default mask video, lossless (rendered once for the tests below). */
  let smoothedMask: Promise<Buffer> | undefined;
  const defaultMask = () => (smoothedMask ??= render('mask-smoothed', '--mask', '--crf', '0'));

  it('is on for video by default, off for photos, and --smoothing 0 turns it off', async () => {
    expect(temporalFrom(0.5)).toEqual({ strength: 0.5 });
    expect(temporalFrom(0)).toBe(false);
    expect(temporalFrom(undefined)).toBeUndefined();
    const help = await cli('--help');
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/--smoothing <0-1> video and cameras: [^-]*0 = off \(default: 0\.5\)/);

    const backdrop = await createBackdrop();
    expect(backdrop.effect.settings.temporal).toBeUndefined();
    expect(backdrop.streamEffect().settings.temporal).toBe(true);
    expect(backdrop.streamEffect(temporalFrom(0.5)).temporal?.options.strength).toBe(0.5);
    expect(backdrop.streamEffect(temporalFrom(0)).temporal).toBeNull();
    await backdrop.close();
    const off = await createBackdrop({ temporal: false });
    expect(off.streamEffect().temporal).toBeNull();
    await off.close();

    // The mask video, lossless: the first frame has no history to smooth with; later ones differ.
    const smoothed = await defaultMask();
    const raw = await render('mask-raw', '--mask', '--crf', '0', '--smoothing', '0');
    expect(diff(smoothed, raw, 0)).toBe(0);
    // Smoothing moves the edge: a few hundred pixels of the 120 000 by more than 16 grey levels.
    const later = [20, 40, 60, 74].map((n) => changed(smoothed, raw, n));
    expect(Math.min(...later), later.join(', ')).toBeGreaterThan(0.0005);
  });

  it('--every-frame: the model on every frame (predict off), where the default lets steady frames go on the prediction', async () => {
    expect(temporalFrom(0.5, true)).toEqual({ strength: 0.5, predict: false });
    expect(temporalFrom(undefined, true)).toEqual({ predict: false });
    // Without smoothing there is nothing to predict with: off, as --smoothing 0 alone.
    expect(temporalFrom(0, true)).toBe(false);
    const help = (await cli('--help')).stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--every-frame video and cameras: run the model on every frame \(by default a steady frame goes without it[^)]*--smoothing 0[^)]*\)/);

    // The video flags as the CLI parses them → the effect's temporal options.
    const info = await probeVideo(clip);
    const streamFor = (everyFrame?: boolean) => videoOptionsFrom(clip, { smoothing: 0.5, everyFrame }, info).temporal;
    const backdrop = await createBackdrop();
    expect(backdrop.streamEffect(streamFor(true)).temporal?.options).toMatchObject({ strength: 0.5, predict: false });
    expect(backdrop.streamEffect(streamFor(undefined)).temporal?.options).toMatchObject({ strength: 0.5, predict: true });
    expect(backdrop.streamEffect(streamFor(false)).temporal?.options.predict).toBe(true);
    expect(backdrop.streamEffect().temporal?.options.predict).toBe(true);
    await backdrop.close();

    // The talking head is steady: by default some frames go on the prediction, so the lossless
    // mask videos agree on the first frame (no history yet, both looked) and part ways after.
    const smoothed = await defaultMask();
    const looked = await render('mask-every-frame', '--mask', '--crf', '0', '--every-frame');
    expect(diff(looked, smoothed, 0)).toBe(0);
    const frames = input.length / FRAME;
    const differing = Array.from({ length: frames }, (_, n) => n).filter((n) => changed(looked, smoothed, n, 2) > 0);
    expect(differing.length).toBeGreaterThan(frames / 4);
  });
});
