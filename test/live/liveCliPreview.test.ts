/**
 * The live path end to end through the real command (`node dist/node/cli.js`, so run `npm run
 * build` first): a looping .y4m made from a shared clip as the camera, `--preview=PORT` and
 * `-o rec.mp4`. Frames are read from the preview's MJPEG stream and checked (size; background
 * blurred, person kept sharp, judged against the input frame), then Ctrl-C (SIGINT) stops the
 * command and the recording is checked with ffprobe.
 *
 * The CLI has no way to loop a plain file (a file input is transcoded, not played live), so the
 * camera is ffmpeg's `movie` source with `loop=0` through a `lavfi:` input (see loopingLavfiSpec).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/frame.js';
import { createBackdrop, type Backdrop } from '../../src/node/facade.js';
import { freePort, loopingLavfiSpec, makeY4m, openMjpeg, startLiveCommand } from '../helpers/live.js';
import { THOUGHTFUL, decodeErrors, decodeFrames, makeTempDir, probeStreams } from '../helpers/videos.js';

const W = 640;
const H = 360;
const CLIP_SECONDS = 2;

let dir: string;
let cleanup: () => Promise<void>;
let y4m: string;
/** The camera's frames, RGB. */
let inputFrames: Frame[];
let backdrop: Backdrop;

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
  y4m = await makeY4m(dir, THOUGHTFUL, { seconds: CLIP_SECONDS });
  const raw = await decodeFrames(y4m, 3);
  const size = W * H * 3;
  inputFrames = [];
  for (let i = 0; i + size <= raw.length; i += size) inputFrames.push({ width: W, height: H, channels: 3, data: raw.subarray(i, i + size) });
  // The model in this process only finds where the person is in an input frame.
  backdrop = await createBackdrop({ model: 'general' });
});
afterAll(async () => {
  await backdrop?.close();
  await cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function luma(f: Frame): Float32Array {
  const out = new Float32Array(f.width * f.height);
  for (let i = 0, p = 0; i < out.length; i++, p += f.channels) out[i] = 0.299 * f.data[p] + 0.587 * f.data[p + 1] + 0.114 * f.data[p + 2];
  return out;
}

/** The input frame that looks most like `out` (mean |Δluma| on a coarse grid). */
function closestInput(out: Frame): Frame {
  const o = luma(out);
  let best = inputFrames[0];
  let bestDiff = Infinity;
  for (const f of inputFrames) {
    const l = luma(f);
    let d = 0;
    for (let y = 0; y < H; y += 4) for (let x = 0; x < W; x += 4) d += Math.abs(l[y * W + x] - o[y * W + x]);
    if (d < bestDiff) {
      bestDiff = d;
      best = f;
    }
  }
  return best;
}

const BLOCK = 16;

/**
 * High-frequency energy (mean |Laplacian| of luma) of `a` and `b` over the 16×16 blocks that are
 * surely person (mask > 0.9 everywhere in the block) and surely background (mask < 0.05).
 */
function highFrequency(a: Frame, b: Frame, mask: Float32Array): { person: [number, number]; background: [number, number]; blocks: [number, number] } {
  const la = luma(a);
  const lb = luma(b);
  const sums = { person: [0, 0, 0], background: [0, 0, 0] };
  for (let by = 0; by + BLOCK <= H; by += BLOCK) {
    for (let bx = 0; bx + BLOCK <= W; bx += BLOCK) {
      let lo = 1;
      let hi = 0;
      for (let y = by; y < by + BLOCK; y++) {
        for (let x = bx; x < bx + BLOCK; x++) {
          lo = Math.min(lo, mask[y * W + x]);
          hi = Math.max(hi, mask[y * W + x]);
        }
      }
      const kind = lo > 0.9 ? 'person' : hi < 0.05 ? 'background' : null;
      if (!kind) continue;
      const s = sums[kind];
      for (let y = Math.max(1, by); y < Math.min(H - 1, by + BLOCK); y++) {
        for (let x = Math.max(1, bx); x < Math.min(W - 1, bx + BLOCK); x++) {
          const i = y * W + x;
          s[0] += Math.abs(4 * la[i] - la[i - 1] - la[i + 1] - la[i - W] - la[i + W]);
          s[1] += Math.abs(4 * lb[i] - lb[i - 1] - lb[i + 1] - lb[i - W] - lb[i + W]);
          s[2]++;
        }
      }
    }
  }
  const mean = (s: number[]): [number, number] => [s[0] / Math.max(1, s[2]), s[1] / Math.max(1, s[2])];
  return { person: mean(sums.person), background: mean(sums.background), blocks: [sums.person[2] / (BLOCK * BLOCK), sums.background[2] / (BLOCK * BLOCK)] };
}

interface Stats {
  frames: number;
  dropped: number;
}

describe('backdrop <looping y4m camera> --preview=PORT -o rec.mp4 (the built command)', () => {
  it('serves blurred frames on the MJPEG stream, records at the input rate, and stops cleanly on Ctrl-C', async () => {
    expect(existsSync('dist/node/cli.js'), 'run `npm run build` first').toBe(true);
    const port = await freePort();
    const rec = join(dir, 'rec.mp4');
    // Ready: the command prints the preview address once the camera is open.
    const cmd = await startLiveCommand([loopingLavfiSpec(y4m), `--preview=${port}`, '-o', rec, '--json']);
    try {
      expect(cmd.stderr).toContain(`preview: http://127.0.0.1:${port}/`);
      expect(cmd.stderr).toMatch(/: 640×360 at 29\.97 fps/);
      const url = `http://127.0.0.1:${port}/`;

      // Several frames from the MJPEG stream, a few parts apart.
      const stream = await openMjpeg(new URL('stream.mjpg', url).href);
      const jpegs: Buffer[] = [];
      try {
        for (let part = 0; jpegs.length < 4; part++) {
          const jpeg = await stream.next();
          expect(jpeg, cmd.stderr).not.toBeNull();
          if (part % 5 === 4) jpegs.push(jpeg!);
        }
      } finally {
        await stream.close();
      }

      for (const jpeg of jpegs) {
        expect(jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
        const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
        expect([info.width, info.height, info.channels]).toEqual([W, H, 3]);
        const out: Frame = { width: W, height: H, channels: 3, data };
        const input = closestInput(out);
        const mask = (await backdrop.mask(input)).data;
        const hf = highFrequency(input, out, mask);
        // Enough of both to judge.
        expect(hf.blocks[0]).toBeGreaterThan(20);
        expect(hf.blocks[1]).toBeGreaterThan(100);
        // The background lost most of its detail; the person kept most of it (JPEG costs a little).
        const background = hf.background[1] / hf.background[0];
        const person = hf.person[1] / hf.person[0];
        expect(background, JSON.stringify(hf)).toBeLessThan(0.35);
        expect(person, JSON.stringify(hf)).toBeGreaterThan(0.6);
      }

      // Let the camera loop at least once (it delivered more frames than the clip has) before stopping.
      const clipFrames = inputFrames.length;
      let stats: Stats = { frames: 0, dropped: 0 };
      while (cmd.running && stats.frames + stats.dropped <= clipFrames * 1.5) {
        await sleep(250);
        stats = (await (await fetch(new URL('stats', url))).json()) as Stats;
      }
      cmd.child.kill('SIGINT');
      const code = await cmd.exited;
      expect(code, cmd.stderr).toBe(130);
    } finally {
      if (cmd.running) cmd.child.kill('SIGKILL');
    }

    const summary = JSON.parse(cmd.stdout) as { frames: number; dropped: number; seconds: number; stoppedBy: string; outputs: { output: string; frames: number }[] };
    expect(summary.stoppedBy).toBe('signal');
    expect(summary.frames + summary.dropped).toBeGreaterThan(inputFrames.length);
    expect(summary.outputs.map((o) => o.output)).toEqual([rec]);

    // The recording: clean, the input's size and exact frame rate, as long as the session.
    const [camera] = await probeStreams(y4m);
    const [v] = await probeStreams(rec);
    expect(v.type).toBe('video');
    expect(v.codec).toBe('h264');
    expect([v.width, v.height]).toEqual([W, H]);
    expect(camera.rFrameRate).toBe('30000/1001');
    expect(v.rFrameRate).toBe(camera.rFrameRate);
    expect(v.avgFrameRate).toBe(camera.rFrameRate);
    expect(v.duration).toBeGreaterThan(0);
    expect(v.frames).toBe(summary.outputs[0].frames);
    // Real time kept: longer than one pass of the clip, about as long as the session.
    expect(v.duration!).toBeGreaterThan(CLIP_SECONDS);
    expect(Math.abs(v.duration! - summary.seconds)).toBeLessThan(1.5);
    expect(await decodeErrors(rec)).toBe('');
  });
});
