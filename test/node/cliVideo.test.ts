/**
 * `backdrop video…`: frame count, rate, duration and sound kept; effect range; transparency; Ctrl-C;
 * bad input. A frame of each effect's output is saved under out/video/ for a look.
 */
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackdrop } from '../../src/node/facade.js';
import { cli } from '../helpers/cli.js';
import { alive, childPids, tempFileBytes, until } from '../helpers/processes.js';
import { saveRaw } from '../helpers/screenshots.js';
import { audioOnlyClip, clipWithAudio, decodeFrames, makeTempDir, ntscClip, probeStreams, undecodableCopy } from '../helpers/videos.js';

let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
  clip = await clipWithAudio(dir, 3, 'talk.mp4');
});
afterAll(() => cleanup());

const W = 400;
const H = 300;
/** Mean absolute difference of frame `n` of two RGB decodes, over the pixels `where` selects. */
function frameDiff(a: Buffer, b: Buffer, n: number, where: (i: number) => boolean): number {
  const off = n * W * H * 3;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < W * H; i++) {
    if (!where(i)) continue;
    for (let c = 0; c < 3; c++) sum += Math.abs(a[off + 3 * i + c] - b[off + 3 * i + c]);
    count += 3;
  }
  return sum / count;
}

describe('backdrop on a video', () => {
  let mask: Float32Array;
  let input: Buffer;
  beforeAll(async () => {
    input = await decodeFrames(clip, 3);
    const backdrop = await createBackdrop();
    mask = (await backdrop.mask({ width: W, height: H, channels: 3, data: input.subarray(0, W * H * 3) })).data;
    await backdrop.close();
  });
  const person = (i: number) => mask[i] > 0.99;
  const background = (i: number) => mask[i] < 0.01;

  it('keeps frames, rate, duration and sound, and blurs only the background', async () => {
    const run = await cli(clip, '--json');
    expect(run.code, run.stderr).toBe(0);
    const out = join(dir, 'talk_out.mp4');
    expect(JSON.parse(run.stdout).files[0].output).toBe(out);
    const [inV, inA] = await probeStreams(clip);
    const streams = await probeStreams(out);
    const v = streams.find((s) => s.type === 'video')!;
    const a = streams.find((s) => s.type === 'audio')!;
    expect(Math.abs(v.frames! - inV.frames!)).toBeLessThanOrEqual(1);
    expect(v.rFrameRate).toBe('25/1');
    expect(v.codec).toBe('h264');
    expect(Math.abs(a.duration! - inA.duration!)).toBeLessThan(0.1);
    const output = await decodeFrames(out, 3);
    await saveRaw('video/blur.png', output.subarray(0, W * H * 3), W, H, 3);
    expect(frameDiff(input, output, 0, person)).toBeLessThan(4);
    // The wall behind is nearly flat, so a blur changes it a little but clearly more than the face.
    expect(frameDiff(input, output, 0, background)).toBeGreaterThan(1.2 * frameDiff(input, output, 0, person));

    const green = join(dir, 'green.mp4');
    expect((await cli(clip, '--color', '#00ff00', '--light-wrap', '0', '-o', green)).code).toBe(0);
    const painted = await decodeFrames(green, 3);
    await saveRaw('video/color.png', painted.subarray(0, W * H * 3), W, H, 3);
    const pure = Buffer.alloc(input.length);
    for (let i = 0; i < pure.length; i += 3) pure[i + 1] = 255;
    expect(frameDiff(pure, painted, 40, background)).toBeLessThan(12);
    expect(frameDiff(input, painted, 0, person)).toBeLessThan(4);
  });

  it('applies the effect only between --from and --to, or keeps only that range with --trim', async () => {
    const out = join(dir, 'range.mp4');
    expect((await cli(clip, '--color', 'black', '--from', '25', '--to', '2s', '-o', out)).code).toBe(0);
    const output = await decodeFrames(out, 3);
    expect(output.length).toBe(input.length);
    const bg = (n: number) => frameDiff(input, output, n, background);
    expect(bg(24)).toBeLessThan(4); // before frame 25: untouched but for re-encoding
    expect(bg(25)).toBeGreaterThan(100); // frames 25…49 painted black
    expect(bg(49)).toBeGreaterThan(100);
    expect(bg(50)).toBeLessThan(4);

    const trimmed = join(dir, 'trim.mp4');
    expect((await cli(clip, '--from', '1s', '--to', '2s', '--trim', '-o', trimmed)).code).toBe(0);
    const [v, a] = await probeStreams(trimmed);
    expect(v.frames).toBeGreaterThanOrEqual(24);
    expect(v.frames).toBeLessThanOrEqual(26);
    expect(a.duration).toBeCloseTo(1, 1);
  });

  it('--from past the end is an error, with or without --trim, and writes nothing', async () => {
    for (const args of [['--from', '10s'], ['--from', '75'], ['--from', '3s', '--to', '5s'], ['--from', '200', '--trim']]) {
      const out = join(dir, 'past-end.mp4');
      const run = await cli(clip, ...args, '-o', out);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr).toContain(`talk.mp4: --from ${args[1]} is past the end of the video (75 frames, 3.00 s)`);
      expect((await readdir(dir)).filter((f) => f.includes('past-end'))).toEqual([]);
    }
  });

  it('writes a transparent WebM whose background decodes as transparent', async () => {
    const out = join(dir, 'cut.webm');
    expect((await cli(clip, '--transparent', '-o', out, '--to', '8')).code).toBe(0);
    const rgba = await decodeFrames(out, 4, ['-c:v', 'libvpx-vp9']);
    await saveRaw('video/transparent.png', rgba.subarray(0, W * H * 4), W, H, 4);
    let bgAlpha = 0;
    let personAlpha = 0;
    let nb = 0;
    let np = 0;
    for (let i = 0; i < W * H; i++) {
      if (background(i)) {
        bgAlpha += rgba[4 * i + 3];
        nb++;
      } else if (person(i)) {
        personAlpha += rgba[4 * i + 3];
        np++;
      }
    }
    expect(bgAlpha / nb).toBeLessThan(10);
    expect(personAlpha / np).toBeGreaterThan(245);
  });
});

it('keeps 29.97 fps exactly', async () => {
  const ntsc = await ntscClip(dir, 2);
  const out = join(dir, 'ntsc_out.mp4');
  expect((await cli(ntsc, '-o', out)).code).toBe(0);
  const [v] = await probeStreams(out);
  expect(v.rFrameRate).toBe('30000/1001');
});

it('reports a file with no video stream, and never writes over the input', async () => {
  const audio = await audioOnlyClip(dir);
  const run = await cli(audio, '-o', join(dir, 'x.mp4'));
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/no video stream/);
  const same = await cli(clip, '-o', clip, '--force');
  expect(same.code).toBe(1);
  expect(same.stderr).toMatch(/refusing to overwrite the input/);
});

it('a --background video that cannot be decoded fails at once with a message about that file', async () => {
  const damaged = await undecodableCopy(clip, join(dir, 'damaged-bg.mp4'));
  const out = join(dir, 'on-damaged.mp4');
  const run = await cli(clip, '--background', damaged, '-o', out);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain(`error: the background video ${damaged} is not a readable video: ffmpeg could not decode the video`);
  expect(run.stderr).not.toMatch(/camera/);
  expect((await readdir(dir)).filter((f) => f.includes('on-damaged'))).toEqual([]);
});

it('Ctrl-C stops cleanly: exit 130, no output, no temporary file', async () => {
  const long = await clipWithAudio(dir, 20, 'long.mp4');
  const out = join(dir, 'interrupted.mp4');
  const child = spawn(process.execPath, ['dist/node/cli.js', long, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Interrupt once it is surely encoding (the first second of work).
  await new Promise((r) => setTimeout(r, 4000));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  expect(code, stderr).toBe(130);
  const left = (await readdir(dir)).filter((f) => f.includes('interrupted'));
  expect(left).toEqual([]);
});

it('SIGTERM stops a video job as Ctrl-C does: ffmpeg stopped, nothing left behind, exit 143', async () => {
  const long = await clipWithAudio(dir, 20, 'long.mp4');
  const out = join(dir, 'terminated.mp4');
  const child = spawn(process.execPath, ['dist/node/cli.js', long, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let running = true;
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => ((running = false), r(c))));
  // Once it is encoding: ffmpeg is running and the temporary output is being written.
  let ffmpegs: number[] = [];
  await until(async () => !running || ((ffmpegs = await childPids(child.pid!)).length >= 2 && (await tempFileBytes(out)) > 0));
  expect(running, stderr).toBe(true);
  child.kill('SIGTERM');
  const code = await exited;
  expect(code, stderr).toBe(143);
  expect(stderr).toContain('Interrupted (SIGTERM): unfinished outputs were removed.');
  expect((await readdir(dir)).filter((f) => f.includes('terminated'))).toEqual([]);
  for (const pid of ffmpegs) expect(await alive(pid), `ffmpeg ${pid} still running`).toBe(false);
});

it('says how to get ffmpeg when none is found', async () => {
  const before = process.env.FFMPEG_PATH;
  process.env.FFMPEG_PATH = join(dir, 'no-ffmpeg-here');
  try {
    await writeFile(join(dir, 'dummy.txt'), '');
    const run = await cli(clip, '-o', join(dir, 'noff.mp4'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ffmpeg/i);
    expect(run.stderr).toMatch(/npm install|apt|FFMPEG_PATH/);
  } finally {
    if (before === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = before;
  }
});
