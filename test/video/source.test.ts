import { spawn } from 'node:child_process';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/frame.js';
import { VideoInputError } from '../../src/node/video/probe.js';
import { VideoSourceError, openVideoFile, openVideoSource } from '../../src/node/video/source.js';
import { testdata } from '../helpers/testdata.js';
import { THOUGHTFUL, clipWithAudio, makeTempDir, noise, npmFfmpeg, oddClip, rotatedClip } from '../helpers/videos.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterAll(() => cleanup());

async function collect(frames: AsyncIterable<Frame>, limit = Infinity): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of frames) {
    out.push(f);
    if (out.length >= limit) break;
  }
  return out;
}

const tools: [string, { ffmpegPath?: string; ffprobePath?: string | null }][] = [
  ['default ffmpeg', {}],
  ...(npmFfmpeg ? ([['npm ffmpeg', { ffmpegPath: npmFfmpeg, ffprobePath: null }]] as [string, { ffmpegPath?: string; ffprobePath?: string | null }][]) : []),
];

describe.each(tools)('openVideoSource (%s)', (_name, ff) => {
  it('reads a range of a 29.97 fps file with exact timestamps', async () => {
    const src = await openVideoFile(testdata(THOUGHTFUL), { ...ff, from: 2, to: 4 });
    expect(src.info.frameRate).toEqual({ num: 30000, den: 1001 });
    expect(src.expectedFrames).toBe(60);
    const frames = await collect(src.frames());
    expect(Math.abs(frames.length - 60)).toBeLessThanOrEqual(1);
    expect(frames[0]).toMatchObject({ width: 640, height: 360, channels: 3 });
    expect(frames[0].data.length).toBe(640 * 360 * 3);
    expect(frames[0].timestamp).toBeCloseTo(2000, 6);
    expect(frames[30].timestamp).toBeCloseTo(2000 + (30 * 1001) / 30, 6);
  });

  it('delivers rotated video upright, in display size', async () => {
    const clip = await rotatedClip(dir, await clipWithAudio(dir, 1, 'short.mp4'));
    const src = await openVideoFile(clip, { ...ff, channels: 4 });
    expect(src.info).toMatchObject({ width: 300, height: 400 });
    const frames = await collect(src.frames());
    expect(frames).toHaveLength(25);
    expect(frames[0]).toMatchObject({ width: 300, height: 400, channels: 4 });
    expect(frames[0].data.length).toBe(300 * 400 * 4);
  });

  it('reads odd sizes', async () => {
    const src = await openVideoFile(await oddClip(dir), ff);
    const frames = await collect(src.frames());
    expect(frames).toHaveLength(50);
    expect(frames[0]).toMatchObject({ width: 401, height: 301 });
    expect(frames[0].data.length).toBe(401 * 301 * 3);
  });

  it('reads live input args (lavfi test source) with arrival timestamps', async () => {
    const src = await openVideoSource({ args: ['-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=30:duration=1'] }, ff);
    expect(src.live).toBe(true);
    expect(src.info).toMatchObject({ width: 96, height: 64 });
    const frames = await collect(src.frames());
    expect(frames).toHaveLength(30);
    expect(frames[0].timestamp).toBe(0);
    for (let i = 1; i < frames.length; i++) expect(frames[i].timestamp!).toBeGreaterThanOrEqual(frames[i - 1].timestamp!);
  });
});

describe('openVideoSource: pulling, stopping, failing', () => {
  it('does not run ahead of the consumer (backpressure)', async () => {
    const src = await openVideoFile(testdata(THOUGHTFUL), { queueFrames: 2 });
    const it = src.frames();
    await it.next();
    // Give ffmpeg plenty of time to decode the whole file if nothing held it back.
    await new Promise((r) => setTimeout(r, 1500));
    // 2 queued + 1 in progress; the pipe buffers hold less than one more 640×360 frame.
    expect(src.framesRead).toBeLessThanOrEqual(5);
    await it.return?.();
    expect(src.framesRead).toBeLessThan(367);
  });

  it('breaking out of the loop stops ffmpeg', async () => {
    const src = await openVideoFile(testdata(THOUGHTFUL));
    const frames = await collect(src.frames(), 3);
    expect(frames).toHaveLength(3);
    await src.close(); // already closed: resolves immediately
  });

  it('a file damaged midway fails at the frame where the damage is, with ffmpeg\'s words', async () => {
    const good = await clipWithAudio(dir, 4, 'to-damage.mp4');
    const bytes = await readFile(good);
    const damaged = join(dir, 'damaged.mp4');
    noise(20_000).copy(bytes, Math.floor(bytes.length * 0.55));
    await writeFile(damaged, bytes);
    const src = await openVideoFile(damaged);
    let n = 0;
    let err: unknown;
    try {
      for await (const _ of src.frames()) n++;
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VideoSourceError);
    const e = err as VideoSourceError;
    expect(e.code).toBe('decode');
    expect(e.frame).toBe(n);
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThan(100);
    expect(e.message).toMatch(new RegExp(`damaged\\.mp4: decoding failed at frame ${n} \\(≈ [\\d.]+ s\\) of 100: .*(corrupt|Invalid|error)`, 'i'));
  });

  it('a truncated file fails at the frame where it ends', async () => {
    const good = await clipWithAudio(dir, 4, 'to-truncate.mp4');
    const bytes = await readFile(good);
    const cut = join(dir, 'truncated.mp4');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const src = await openVideoFile(cut);
    let n = 0;
    const err = await (async () => {
      for await (const _ of src.frames()) n++;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VideoSourceError);
    expect((err as Error).message).toContain(`at frame ${n}`);
    expect(n).toBeLessThan(100);
  });

  it('conceal mode keeps going through damage as players do', async () => {
    const good = await clipWithAudio(dir, 4, 'to-damage.mp4');
    const bytes = await readFile(good);
    noise(20_000).copy(bytes, Math.floor(bytes.length * 0.55));
    const damaged = join(dir, 'damaged-conceal.mp4');
    await writeFile(damaged, bytes);
    const src = await openVideoFile(damaged, { onDecodeError: 'conceal' });
    const frames = await collect(src.frames());
    expect(frames.length).toBeGreaterThan(90);
  });

  it('an undecodable file fails before any frame', async () => {
    const garbage = join(dir, 'garbage.mov');
    await writeFile(garbage, noise(40_000, 7));
    await expect(openVideoFile(garbage)).rejects.toBeInstanceOf(VideoInputError);
  });

  it('a live input that stops delivering ends with a clear error, not a hang', async () => {
    if (process.platform === 'win32') return;
    // A named pipe stands in for a camera: a few frames arrive, then nothing, but it stays open.
    const fifo = join(dir, 'camera.fifo');
    await new Promise<void>((resolve, reject) => {
      const p = spawn('mkfifo', [fifo]);
      p.on('close', (code) => (code === 0 ? resolve() : reject(new Error('mkfifo failed'))));
    });
    const w = 32;
    const h = 24;
    const writerOpen = open(fifo, 'r+'); // r+: does not wait for a reader (Linux)
    const srcPromise = openVideoSource(
      { args: ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-r', '10', '-i', fifo], name: 'test camera' },
      { stallTimeoutMs: 800, startTimeoutMs: 30_000 },
    );
    const writer = await writerOpen;
    await writer.write(Buffer.alloc(w * h * 3 * 5, 128));
    const src = await srcPromise;
    let n = 0;
    const err = await (async () => {
      for await (const _ of src.frames()) n++;
    })().catch((e: unknown) => e);
    await writer.close();
    expect(err).toBeInstanceOf(VideoSourceError);
    expect((err as VideoSourceError).code).toBe('stalled');
    expect((err as Error).message).toMatch(/^test camera: no frame for 0\.8 s after frame \d+; the camera or stream stopped delivering/);
    expect(n).toBeGreaterThanOrEqual(1);
  });

  it('a live input that never starts fails after the stall timeout', async () => {
    if (process.platform === 'win32') return;
    const fifo = join(dir, 'dead.fifo');
    await new Promise<void>((resolve, reject) => {
      const p = spawn('mkfifo', [fifo]);
      p.on('close', (code) => (code === 0 ? resolve() : reject(new Error('mkfifo failed'))));
    });
    const writer = open(fifo, 'r+');
    const err = await openVideoSource(
      { args: ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', '32x24', '-r', '10', '-i', fifo], name: 'dead camera' },
      { startTimeoutMs: 500 },
    ).catch((e: unknown) => e);
    await (await writer).close();
    expect(err).toBeInstanceOf(VideoSourceError);
    expect((err as Error).message).toMatch(/dead camera: no video arrived within 0\.5 s/);
  });

  it('an AbortSignal stops reading', async () => {
    const ac = new AbortController();
    const src = await openVideoFile(testdata(THOUGHTFUL), { signal: ac.signal });
    let n = 0;
    const err = await (async () => {
      for await (const _ of src.frames()) {
        if (++n === 5) ac.abort();
      }
    })().catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(n).toBeLessThan(20);
  });
});
