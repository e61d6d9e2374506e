/**
 * NewestFrameSource keeps up with a real-time camera while each frame takes long to process: the
 * camera is drained in a worker thread, so frames that arrive meanwhile are dropped (counted), and
 * the frame handed out is the newest one, not one that waited in ffmpeg's pipe.
 *
 * No wall-clock limits: the camera's position is counted in frames (`-re` lavfi delivers frame n
 * at n / 30 s), and its lag is compared with the length of the same run.
 */
import { describe, expect, it } from 'vitest';
import { NewestFrameSource } from '../../src/node/live/newestFrameSource.js';
import { VideoSourceError } from '../../src/node/video/source.js';

const RATE = 30;

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Hold the main thread, as the effect's JavaScript stages do.
  }
}

describe('NewestFrameSource', () => {
  it('drops the frames a slow consumer cannot take and hands out the newest one', async () => {
    const camera = await NewestFrameSource.open({ args: ['-re', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=${RATE}`] }, { channels: 3 });
    expect(camera.info).toMatchObject({ width: 320, height: 240, frameRate: { num: RATE, den: 1 } });
    let taken = 0;
    let firstAt = 0;
    let last = { elapsedMs: 0, position: 0, timestamp: 0 };
    try {
      for await (const frame of camera.frames()) {
        const now = performance.now();
        if (taken === 0) firstAt = now;
        expect(frame.data.length).toBe(320 * 240 * 3);
        // The camera's frame index: every frame read is either taken or dropped.
        last = { elapsedMs: now - firstAt, position: taken + camera.dropped, timestamp: frame.timestamp ?? 0 };
        taken++;
        if (last.elapsedMs >= 4000) break;
        busyWait(60);
      }
    } finally {
      await camera.close();
    }
    const lagMs = last.elapsedMs - (last.position * 1000) / RATE;
    expect(camera.dropped).toBeGreaterThan(0);
    expect(taken).toBeGreaterThan(10);
    // Read on the main thread, the camera fell behind by about half the run (one frame per 60 ms
    // taken out of 30 a second, none dropped); drained in a worker, it stays a frame or two behind.
    expect(Math.abs(lagMs)).toBeLessThan(last.elapsedMs / 4);
    // The frame's arrival time agrees: it was read just now, not long ago.
    expect(last.elapsedMs - last.timestamp).toBeLessThan(last.elapsedMs / 4);
  });

  it('passes the camera failure on with its class, code and message', async () => {
    // A frame or two, then ffmpeg keeps running but sends nothing, as a hung camera does.
    const camera = await NewestFrameSource.open(
      { args: ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=30,select=lt(n\\,2)'], name: 'hung camera' },
      { channels: 3, stallTimeoutMs: 500 },
    );
    const frames: number[] = [];
    const err = await (async () => {
      for await (const frame of camera.frames()) frames.push(frame.timestamp ?? 0);
    })().catch((e: unknown) => e);
    await camera.close();
    expect(frames.length).toBeGreaterThan(0);
    // Every frame read before the stall was taken or dropped.
    expect(frames.length + camera.dropped).toBe((err as VideoSourceError).frame);
    expect(err).toBeInstanceOf(VideoSourceError);
    expect(err).toBe(camera.error);
    expect((err as VideoSourceError).code).toBe('stalled');
    expect((err as VideoSourceError).ffmpegLog.length).toBeGreaterThan(0);
    expect((err as VideoSourceError).message).toMatch(/^hung camera: no frame for 0\.5 s after frame \d+; the camera or stream stopped delivering/);
  });

  it('fails to open with the source error', async () => {
    const err = await NewestFrameSource.open({ args: ['-f', 'lavfi', '-i', 'nosuchfilter'] }, { channels: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VideoSourceError);
    expect((err as VideoSourceError).code).toBe('start');
  });
});
