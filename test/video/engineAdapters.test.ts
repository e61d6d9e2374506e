/**
 * The Engine's ends for video files, on stand-ins for ffmpeg: VideoFrameSource gives decoded
 * buffers back once their frame is written; VideoFrameSink opens the encoder on the first frame,
 * in that frame's shape (or fixed channels), and converts frames of another layout to it.
 */
import { describe, expect, it } from 'vitest';
import { runEngine } from '../../src/core/engine.js';
import type { Frame } from '../../src/core/frame.js';
import type { VideoSink, VideoSinkResult } from '../../src/node/video/sink.js';
import type { VideoSource } from '../../src/node/video/source.js';
import { VideoFrameSink, withChannels } from '../../src/node/video/videoFrameSink.js';
import { VideoFrameSource } from '../../src/node/video/videoFrameSource.js';

function rgb(value: number, timestamp: number): Frame {
  return { width: 2, height: 1, channels: 3, data: new Uint8Array(6).fill(value), timestamp };
}

function fakeSource(count: number) {
  const recycled: number[] = [];
  let closed = false;
  const source = {
    recycle: (f: Frame) => recycled.push(f.timestamp!),
    close: async () => void (closed = true),
    frames: async function* () {
      for (let i = 0; i < count; i++) yield rgb(i, i);
    },
  } as unknown as VideoSource;
  return { source, recycled, closed: () => closed };
}

function fakeEncoder() {
  const written: Frame[] = [];
  const opened: [number, number, 3 | 4][] = [];
  let state = 'none';
  const open = async (width: number, height: number, channels: 3 | 4): Promise<VideoSink> => {
    opened.push([width, height, channels]);
    state = 'open';
    return {
      write: async (f: Frame) => void written.push(f),
      finish: async () => {
        state = 'finished';
        return { width, height } as VideoSinkResult;
      },
      abort: async () => void (state = 'aborted'),
    } as unknown as VideoSink;
  };
  return { open, written, opened, state: () => state };
}

describe('VideoFrameSource', () => {
  it('recycles each decoded frame once the Engine has written it, and closes the source', async () => {
    const { source, recycled, closed } = fakeSource(5);
    const frames = new VideoFrameSource(source, true);
    const recycledWhenWritten: number[][] = [];
    await runEngine({
      source: frames,
      sink: { write: async () => undefined, finish: async () => undefined },
      onFrame: (s) => {
        frames.release(s.index);
        recycledWhenWritten.push([...recycled]);
      },
    });
    expect(recycledWhenWritten).toEqual([[0], [0, 1], [0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3, 4]]);
    expect(closed()).toBe(true);
    expect(frames.waitMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps buffers when processors may hold on to frames', async () => {
    const { source, recycled } = fakeSource(3);
    const frames = new VideoFrameSource(source, false);
    await runEngine({ source: frames, sink: { write: async () => undefined, finish: async () => undefined }, onFrame: (s) => frames.release(s.index) });
    expect(recycled).toEqual([]);
  });
});

describe('VideoFrameSink', () => {
  it('opens the encoder once, on the first frame, in its shape', async () => {
    const enc = fakeEncoder();
    const sink = new VideoFrameSink(enc.open);
    expect(enc.opened).toEqual([]);
    await sink.write(rgb(1, 0));
    await sink.write(rgb(2, 1));
    await sink.finish();
    expect(enc.opened).toEqual([[2, 1, 3]]);
    expect(enc.written.map((f) => f.data[0])).toEqual([1, 2]);
    expect(sink.result).toEqual({ width: 2, height: 1 });
  });

  it('with fixed channels, makes RGB frames (passed through untouched) opaque RGBA', async () => {
    const enc = fakeEncoder();
    const sink = new VideoFrameSink(enc.open, 4);
    await sink.write(rgb(9, 0));
    expect(enc.opened).toEqual([[2, 1, 4]]);
    expect([...enc.written[0].data]).toEqual([9, 9, 9, 255, 9, 9, 9, 255]);
    expect(enc.written[0].timestamp).toBe(0);
  });

  it('nothing written: nothing opened, no result; abort discards an opened encoder', async () => {
    const empty = new VideoFrameSink(fakeEncoder().open);
    await empty.finish();
    expect(empty.result).toBeUndefined();
    const enc = fakeEncoder();
    const sink = new VideoFrameSink(enc.open);
    await sink.write(rgb(1, 0));
    await sink.abort();
    expect(enc.state()).toBe('aborted');
  });

  it('withChannels adds opaque alpha or drops it', () => {
    const rgba: Frame = { width: 1, height: 2, channels: 4, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
    expect([...withChannels(rgba, 3).data]).toEqual([1, 2, 3, 5, 6, 7]);
    expect(withChannels(rgba, 4)).toBe(rgba);
    expect([...withChannels(withChannels(rgba, 3), 4).data]).toEqual([1, 2, 3, 255, 5, 6, 7, 255]);
  });
});
