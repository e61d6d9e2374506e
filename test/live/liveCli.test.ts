/** The live CLI entry points: flags → outputs, and a whole run on a synthetic camera with a fake io. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isLiveInput, liveOutputsFrom, runLiveCommand, type LiveCliIO } from '../../src/node/live/liveCli.js';
import { Backdrop, type BackdropOptions } from '../../src/node/facade.js';
import type { BackgroundEffect } from '../../src/core/effect.js';
import { cli } from '../helpers/cli.js';
import type { Frame } from '../../src/core/frame.js';
import { decodeFrames, ffmpeg, ffmpegBin, makeTempDir, probeStreams } from '../helpers/videos.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterAll(() => cleanup());

function fakeIO(signal?: AbortSignal, onErr?: (text: string) => void): LiveCliIO & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    interactive: false,
    signal,
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => {
      io.err += t;
      onErr?.(io.err);
    },
  };
  return io;
}

describe('live flags', () => {
  it('tells live inputs from files', () => {
    for (const a of ['camera', 'camera:1', '/dev/video2', 'rtsp://cam/1', 'lavfi:testsrc2']) expect(isLiveInput(a)).toBe(true);
    for (const a of ['talk.mp4', 'photo.jpg', 'photos/']) expect(isLiveInput(a)).toBe(false);
  });

  it('maps flags to outputs, with the preview as the default', () => {
    expect(liveOutputsFrom({})).toEqual({ preview: true });
    expect(liveOutputsFrom({ output: 'rec.mp4' })).toEqual({ file: 'rec.mp4' });
    expect(liveOutputsFrom({ output: 'rec.mp4', preview: 8080 })).toEqual({ file: 'rec.mp4', preview: 8080 });
    expect(liveOutputsFrom({ output: 'rtmp://live.example/app/key' })).toEqual({ url: 'rtmp://live.example/app/key' });
    expect(liveOutputsFrom({ virtualCamera: '/dev/video10' })).toEqual({ virtualCamera: '/dev/video10' });
    expect(liveOutputsFrom({ virtualCamera: '/dev/video10', preview: true })).toEqual({ virtualCamera: '/dev/video10', preview: true });
    expect(() => liveOutputsFrom({ virtualCamera: 'video10' })).toThrow(/v4l2loopback/);
  });
});

describe('live smoothing flags', () => {
  it('--every-frame reaches the session\'s effect as predict: false; by default its steady frames may go on the prediction', async () => {
    // The real streamEffect, watched: which temporal options the session's effect got.
    const spy = vi.spyOn(Backdrop.prototype, 'streamEffect');
    try {
      const session = async (name: string, ...flags: string[]) => {
        spy.mockClear();
        const run = await cli('lavfi:testsrc2=size=160x120:rate=25', '--to', '10', '-o', join(dir, name), '-q', '--json', ...flags);
        expect(run.code, run.stderr).toBe(0);
        expect(spy).toHaveBeenCalledTimes(1);
        return (spy.mock.results[0].value as BackgroundEffect).temporal?.options;
      };
      expect(await session('every-frame.mp4', '--every-frame')).toMatchObject({ strength: 0.5, predict: false });
      expect(await session('every-frame-strong.mp4', '--every-frame', '--smoothing', '0.8')).toMatchObject({ strength: 0.8, predict: false });
      expect(await session('default.mp4')).toMatchObject({ strength: 0.5, predict: true });
      // No smoothing, nothing to predict with: every frame is looked at, --every-frame or not.
      expect(await session('no-smoothing.mp4', '--every-frame', '--smoothing', '0')).toBeUndefined();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('runLiveCommand', () => {
  it('records until Ctrl-C, finishes the file, prints a JSON summary and exits 130', async () => {
    const out = join(dir, 'cli-live.mp4');
    // "Ctrl-C" 1.5 s after the camera is up (however long loading the model took).
    const ctrl = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const io = fakeIO(ctrl.signal, (err) => {
      if (!timer && err.includes('preview:')) timer = setTimeout(() => ctrl.abort(), 1500);
    });
    const code = await runLiveCommand('lavfi:testsrc2=size=160x120:rate=25', { output: out, preview: true, json: true, keys: false }, { effect: { type: 'color', color: [0, 255, 0, 255] } }, io);
    expect(code, io.err).toBe(130);
    const summary = JSON.parse(io.out) as { frames: number; stoppedBy: string; outputs: { output: string }[] };
    expect(summary.stoppedBy).toBe('signal');
    expect(summary.frames).toBeGreaterThan(0);
    expect(summary.outputs[0].output).toBe(out);
    expect(io.err).toMatch(/preview: http:\/\/127\.0\.0\.1:\d+\//);
    expect(io.err).toMatch(/a\/d/);
    const [v] = await probeStreams(out);
    expect(v.frames).toBeGreaterThan(0);
  });

  /**
   * Run a live session recording `out` with a processor after the effect that notes the session
   * time of every frame the effect ran on. Should the session not stop by itself, the processor
   * stops it 2 s of video past the bound (so an unbounded session fails the checks, not the clock).
   */
  async function boundedSession(out: string, bounds: { from?: { seconds: number }; to: { seconds: number }; trim?: boolean }) {
    const ctrl = new AbortController();
    const seen: number[] = [];
    const noting = {
      process: (f: Frame) => {
        seen.push(f.timestamp!);
        if (f.timestamp! > bounds.to.seconds * 1000 + 2000) ctrl.abort();
        return f;
      },
    };
    const io = fakeIO(ctrl.signal);
    const code = await runLiveCommand('lavfi:testsrc2=size=160x120:rate=25', { output: out, json: true, keys: false, ...bounds }, { effect: { type: 'color', color: [0, 0, 0, 255] } }, io, {
      processors: [noting],
    });
    const [v] = await probeStreams(out);
    const frames = await decodeFrames(out, 3);
    const size = 160 * 120 * 3;
    // Painted black by the effect (a test pattern has no person): a dark mean; testsrc2 is bright.
    const black = (n: number) => frames.subarray(n * size, (n + 1) * size).reduce((a, b) => a + b, 0) / size < 30;
    return { code, io, seen, duration: v.duration!, count: frames.length / size, black };
  }

  it('--to bounds a live session: it stops by itself there, exit 0, and the recording lasts that long', async () => {
    const r = await boundedSession(join(dir, 'to-3s.mp4'), { to: { seconds: 3 } });
    expect(r.code, r.io.err).toBe(0);
    expect(JSON.parse(r.io.out).stoppedBy).toBe('end');
    expect(Math.max(...r.seen)).toBeLessThan(3000);
    expect(r.duration).toBeGreaterThan(2.5);
    expect(r.duration).toBeLessThan(3.25);
    expect(r.black(0) && r.black(r.count - 1)).toBe(true);
  });

  it('--from starts the effect there (--trim: the recording), in session time', async () => {
    const passed = await boundedSession(join(dir, 'from-1s.mp4'), { from: { seconds: 1 }, to: { seconds: 2 } });
    expect(passed.code, passed.io.err).toBe(0);
    expect(Math.min(...passed.seen)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...passed.seen)).toBeLessThan(2000);
    expect(passed.duration).toBeGreaterThan(1.5);
    expect(passed.duration).toBeLessThan(2.25);
    // The first second passes through untouched; then the effect paints it black.
    expect([passed.black(0), passed.black(passed.count - 1)]).toEqual([false, true]);

    const trimmed = await boundedSession(join(dir, 'from-1s-trim.mp4'), { from: { seconds: 1 }, to: { seconds: 2 }, trim: true });
    expect(trimmed.code, trimmed.io.err).toBe(0);
    expect(Math.min(...trimmed.seen)).toBeGreaterThanOrEqual(1000);
    expect(trimmed.duration).toBeGreaterThan(0.5);
    expect(trimmed.duration).toBeLessThan(1.25);
    expect([trimmed.black(0), trimmed.black(trimmed.count - 1)]).toEqual([true, true]);
  });

  it('exits 1 with the stall message when the camera stops delivering', async () => {
    const io = fakeIO();
    const code = await runLiveCommand('lavfi:testsrc2=size=160x120:rate=25,select=lt(t\\,0.5)', { stallTimeout: 1, keys: false }, { effect: { type: 'color', color: [0, 0, 0, 255] } }, io);
    expect(code).toBe(1);
    expect(io.err).toMatch(/error: lavfi:testsrc2.*: no frame for 1 s after frame \d+; the camera or stream stopped delivering/);
  });

  it('plays a video file as a camera in real time, over and over with loop, and never records over it', async () => {
    const clip = join(dir, 'one-second.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', clip], ffmpegBin);
    const effect: BackdropOptions = { effect: { type: 'color', color: [0, 0, 255, 255] } };
    const refused = fakeIO();
    expect(await runLiveCommand(clip, { output: clip, loop: true, force: true, keys: false }, effect, refused)).toBe(1);
    expect(refused.err).toMatch(/refusing to overwrite the input/);

    const out = join(dir, 'looped.mp4');
    const ctrl = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const io = fakeIO(ctrl.signal, (err) => {
      if (!timer && err.includes('recording to')) timer = setTimeout(() => ctrl.abort(), 2500);
    });
    const code = await runLiveCommand(clip, { output: out, loop: true, json: true, keys: false }, effect, io);
    expect(code, io.err).toBe(130);
    const summary = JSON.parse(io.out) as { frames: number; dropped: number };
    // 2.5 s of a 25-frame clip played in real time: it started over.
    expect(summary.frames + summary.dropped).toBeGreaterThan(25);
    const [v] = await probeStreams(out);
    expect(v.duration!).toBeGreaterThan(1.5);
  });
});
