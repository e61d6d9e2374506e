/** The live CLI entry points: flags → outputs, and a whole run on a synthetic camera with a fake io. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLiveInput, liveOutputsFrom, runLiveCommand, type LiveCliIO } from '../../src/node/live/liveCli.js';
import type { BackdropOptions } from '../../src/node/photo.js';
import { ffmpeg, ffmpegBin, makeTempDir, probeStreams } from '../helpers/videos.js';

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
