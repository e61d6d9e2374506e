/**
 * LiveSink hands a frame to ffmpeg while the session goes on to the next one: write() waits only
 * for the previous frame, except for the first, which starts the recording. Shown with an encoder
 * that is stopped (SIGSTOP) and so reads nothing: a frame is far more than a pipe holds, so its
 * write cannot finish until the encoder runs again.
 */
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/frame.js';
import { LiveSink } from '../../src/node/live/liveSink.js';
import { findFfmpeg } from '../../src/node/video/ffmpegPath.js';
import { VideoSinkError } from '../../src/node/video/sinkPlan.js';
import { makeTempDir, probeStreams } from '../helpers/videos.js';

const W = 640, H = 360;
const frame = (v: number): Frame => ({ width: W, height: H, channels: 3, data: new Uint8Array(W * H * 3).fill(v) });
const sleep = (ms: number) => new Promise<'waited'>((r) => setTimeout(() => r('waited'), ms));
/** Whether a write returns while the encoder reads nothing (10 s is a hang detector, not a speed bound). */
const returns = (write: Promise<void>) => Promise.race([write.then(() => 'returned' as const), sleep(10_000)]);

let dir: string;
let cleanup: () => Promise<void>;
/** An ffmpeg that writes the pid of each run to a file, then becomes the real one. */
let wrapper: string;
let pids: string;

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
  pids = join(dir, 'pids');
  wrapper = join(dir, 'ffmpeg');
  await writeFile(wrapper, `#!/bin/sh\necho $$ >> '${pids}'\nexec '${findFfmpeg().path}' "$@"\n`);
  await chmod(wrapper, 0o755);
});
afterAll(() => cleanup());

/** The encoder the sink started: the wrapped ffmpeg reading raw frames (found once it has started). */
async function encoderPid(): Promise<number> {
  for (;;) {
    const started = (await readFile(pids, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
    for (const pid of started) {
      const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (argv.includes('rawvideo')) return pid;
    }
    await sleep(20);
  }
}

function openSink(file: string): LiveSink {
  const sink = new LiveSink({ preview: null, targets: [file], file, frameRate: { num: 30, den: 1 }, ffmpegPath: wrapper, keepOutputsAfter: () => false });
  sink.prepare(W, H, 3);
  return sink;
}

describe('LiveSink', () => {
  it.skipIf(process.platform !== 'linux')('returns from write() while the frame is still going in, and waits for it at the next write', async () => {
    await writeFile(pids, '');
    const file = join(dir, 'overlap.mp4');
    const sink = openSink(file);
    const encoder = await encoderPid();
    await sink.write(frame(10));
    process.kill(encoder, 'SIGSTOP');
    try {
      // The encoder reads nothing, yet the write returns.
      expect(await returns(sink.write(frame(100)))).toBe('returned');
      // The next waits for that frame, which cannot go in while the encoder is stopped.
      const third = sink.write(frame(200)).then(() => 'returned' as const);
      expect(await Promise.race([third, sleep(300)])).toBe('waited');
      process.kill(encoder, 'SIGCONT');
      expect(await third).toBe('returned');
    } catch (err) {
      process.kill(encoder, 'SIGKILL');
      throw err;
    } finally {
      process.kill(encoder, 'SIGCONT');
    }
    await sink.finish();
    expect(sink.results).toHaveLength(1);
    expect((await stat(file)).size).toBeGreaterThan(0);
    expect((await probeStreams(file)).map((s) => s.type)).toEqual(['video']);
  });

  it.skipIf(process.platform !== 'linux')('returns from the first write only once the encoder has the frame: ffmpeg stamps it as it reads it, and the session is timed from it', async () => {
    await writeFile(pids, '');
    const sink = openSink(join(dir, 'first.mp4'));
    const encoder = await encoderPid();
    process.kill(encoder, 'SIGSTOP');
    try {
      const first = sink.write(frame(10)).then(() => 'returned' as const);
      expect(await Promise.race([first, sleep(300)])).toBe('waited');
      process.kill(encoder, 'SIGCONT');
      expect(await first).toBe('returned');
    } finally {
      process.kill(encoder, 'SIGCONT');
    }
    await sink.finish();
    expect(sink.results).toHaveLength(1);
  });

  it.skipIf(process.platform !== 'linux')("fails the next write with the encoder's failure, which is also the sink's error", async () => {
    await writeFile(pids, '');
    const sink = openSink(join(dir, 'killed.mp4'));
    const encoder = await encoderPid();
    await sink.write(frame(10));
    process.kill(encoder, 'SIGSTOP');
    const second = returns(sink.write(frame(100)));
    try {
      expect(await second).toBe('returned');
    } finally {
      process.kill(encoder, 'SIGKILL');
    }
    const failed = await sink.write(frame(200)).then(() => null, (err: unknown) => err);
    expect(failed).toBeInstanceOf(VideoSinkError);
    expect(sink.error).toBe(failed);
    // finish() after a failed frame fails too (what was written is kept when the session asks).
    await expect(sink.finish()).rejects.toThrow();
  });
});
