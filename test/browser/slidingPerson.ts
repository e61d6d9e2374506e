/**
 * A fake-camera clip of a real person moving sideways (Node side): a person cut out of a shared
 * test photo with its alpha matte, slid across a plain wall a fixed number of pixels per frame, left
 * to right, then starting over (the camera loops the file). Each frame carries its index as a row of
 * black/white blocks at the top, on the wall, so a processed frame says which camera frame it is.
 * The matte at each frame's position is the ground truth of where the person is.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { testdata } from '../helpers/testdata.js';
import { ffmpegPath } from './chromium.js';

const run = promisify(execFile);

const PHOTO = 'p3m/demo/imgs/original/p_bac3c1ff.jpg';
const MATTE = 'p3m/demo/imgs/alpha/p_bac3c1ff.png';

/** The frame-index code: BITS blocks of BLOCK × BLOCK pixels from (MARGIN, MARGIN), most significant first. */
const BITS = 6;
const BLOCK = 24;
const MARGIN = 8;
/** The wall: warm light grey. */
export const WALL: readonly [number, number, number] = [196, 186, 168];

export interface SlidingClip {
  y4m: string;
  width: number;
  height: number;
  fps: number;
  frames: number;
  /** Pixels the person moves right per frame. */
  step: number;
  /** The person's alpha (0..255) at frame k's position, width × height. */
  alpha(k: number): Uint8Array;
  /** Rows at the top holding the frame code (leave them out when judging the mask). */
  codeRows: number;
}

/**
 * Reads the frame index back from RGBA pixels by the red and blue of each block's centre (a green
 * tint over the wall leaves black blocks at 0 and white ones at ≥ 128); -1 when unreadable.
 */
export function readFrameCode(rgba: Uint8Array, width: number): number {
  let k = 0;
  for (let b = 0; b < BITS; b++) {
    let sum = 0, n = 0;
    for (let y = MARGIN + 6; y < MARGIN + BLOCK - 6; y++) {
      for (let x = MARGIN + b * BLOCK + 6; x < MARGIN + (b + 1) * BLOCK - 6; x++) {
        const o = (y * width + x) * 4;
        sum += rgba[o] + rgba[o + 2];
        n++;
      }
    }
    const mean = sum / (2 * n);
    if (mean > 32 && mean < 96) return -1;
    k = (k << 1) | (mean >= 96 ? 1 : 0);
  }
  return k;
}

/**
 * Makes the clip in `dir`: `frames` frames of width × height at `fps`, the person (scaled to
 * `personHeight`, standing on the bottom edge) moving `step` pixels right per frame.
 */
export async function makeSlidingPersonY4m(dir: string, options: { width?: number; height?: number; fps?: number; frames?: number; step?: number; personHeight?: number } = {}): Promise<SlidingClip> {
  const { width = 640, height = 360, fps = 30, frames = 32, step = 16, personHeight = 300 } = options;
  if (frames > 1 << BITS) throw new RangeError(`at most ${1 << BITS} frames`);
  // The person: the photo's alpha bounding box (right of the left third: the matte has a speck
  // at the left edge), scaled to personHeight.
  const matte = await sharp(testdata(MATTE)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const mw = matte.info.width, mh = matte.info.height;
  let x0 = mw, x1 = 0, y0 = mh, y1 = 0;
  for (let y = 0; y < mh; y++) {
    for (let x = Math.floor(mw / 3); x < mw; x++) {
      if (matte.data[y * mw + x] > 128) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
  }
  const box = { left: x0, top: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
  const pw = Math.round((box.width * personHeight) / box.height);
  const ph = personHeight;
  const rgb = await sharp(testdata(PHOTO)).extract(box).resize(pw, ph).removeAlpha().raw().toBuffer();
  const a = await sharp(testdata(MATTE)).extractChannel(0).extract(box).resize(pw, ph).raw().toBuffer();
  // Left edge of the person in frame k: from half off the left side to half off the right side.
  const start = -Math.round(pw / 2);
  const xOf = (k: number) => start + k * step;
  const top = height - ph;

  const alphas: Uint8Array[] = [];
  const raw = Buffer.alloc(width * height * 3 * frames);
  for (let k = 0; k < frames; k++) {
    const alpha = new Uint8Array(width * height);
    const px = xOf(k);
    const o = k * width * height * 3;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const sx = x - px, sy = y - top;
        const inside = sx >= 0 && sx < pw && sy >= 0 && sy < ph;
        const t = inside ? a[sy * pw + sx] : 0;
        alpha[i] = t;
        for (let c = 0; c < 3; c++) {
          const p = inside ? rgb[(sy * pw + sx) * 3 + c] : 0;
          raw[o + i * 3 + c] = Math.round((p * t + WALL[c] * (255 - t)) / 255);
        }
      }
    }
    // The frame code, on the wall above the person's head.
    for (let b = 0; b < BITS; b++) {
      const v = (k >> (BITS - 1 - b)) & 1 ? 255 : 0;
      for (let y = MARGIN; y < MARGIN + BLOCK; y++) {
        for (let x = MARGIN + b * BLOCK; x < MARGIN + (b + 1) * BLOCK; x++) raw.fill(v, o + (y * width + x) * 3, o + (y * width + x) * 3 + 3);
      }
    }
    alphas.push(alpha);
  }
  if (xOf(frames - 1) + pw / 2 > width) throw new RangeError('the person leaves the frame before the clip ends: fewer frames or a smaller step');
  const rawPath = join(dir, 'sliding.rgb');
  await writeFile(rawPath, raw);
  const y4m = join(dir, 'sliding.y4m');
  await run(await ffmpegPath(), ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', rawPath, '-pix_fmt', 'yuv420p', y4m]);
  return { y4m, width, height, fps, frames, step, alpha: (k) => alphas[((k % frames) + frames) % frames], codeRows: MARGIN + BLOCK + 4 };
}
