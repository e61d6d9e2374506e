/**
 * A VideoSink as the Engine's FrameSink, opened on the first frame written: the processors decide
 * the output's size and channels, so the encoder cannot start before they have made a frame.
 * Frames in another channel layout (those a frame range passed through untouched) are converted
 * to the output's, e.g. made opaque RGBA for a transparent video. Measures the time writes wait
 * for the encoder.
 */
import type { FrameSink } from '../../core/engine.js';
import type { Frame } from '../../core/frame.js';
import type { VideoSink, VideoSinkResult } from './sink.js';

export class VideoFrameSink implements FrameSink {
  /** Milliseconds spent handing frames to ffmpeg (opening it included). */
  waitMs = 0;
  /** What finish() produced; undefined until then, or when no frame was written. */
  result: VideoSinkResult | undefined;
  private opening: Promise<VideoSink> | null = null;
  private sink: VideoSink | null = null;
  private channels: 3 | 4 = 3;

  /**
   * @param open starts the encoder for frames of this size and channel count
   * @param channels the output's channels when fixed in advance (4 for transparent output); default: the first frame's
   */
  constructor(
    private readonly open: (width: number, height: number, channels: 3 | 4) => Promise<VideoSink>,
    private readonly fixedChannels?: 3 | 4,
  ) {}

  async write(frame: Frame): Promise<void> {
    const t = performance.now();
    if (!this.opening) {
      this.channels = this.fixedChannels ?? frame.channels;
      this.opening = this.open(frame.width, frame.height, this.channels);
    }
    this.sink ??= await this.opening;
    await this.sink.write(withChannels(frame, this.channels));
    this.waitMs += performance.now() - t;
  }

  async finish(): Promise<void> {
    if (this.opening) this.result = await (this.sink ?? (await this.opening)).finish();
  }

  async abort(): Promise<void> {
    const sink = await this.opening?.catch(() => null);
    await sink?.abort();
  }
}

/** The frame as RGB or RGBA: alpha added opaque, or dropped. */
export function withChannels(frame: Frame, channels: 3 | 4): Frame {
  if (frame.channels === channels) return frame;
  const n = frame.width * frame.height;
  const src = frame.data;
  const data = new Uint8Array(n * channels);
  for (let i = 0, s = 0, d = 0; i < n; i++, s += frame.channels, d += channels) {
    data[d] = src[s];
    data[d + 1] = src[s + 1];
    data[d + 2] = src[s + 2];
    if (channels === 4) data[d + 3] = 255;
  }
  return { ...frame, channels, data };
}
