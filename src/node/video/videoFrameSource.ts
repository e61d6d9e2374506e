/**
 * A decoding VideoSource as the Engine's FrameSource: measures how long reading waits for ffmpeg,
 * and gives decoded buffers back to the source for reuse once the Engine has written their frame.
 */
import type { FrameSource } from '../../core/engine.js';
import type { Frame } from '../../core/frame.js';
import type { VideoSource } from './source.js';

export class VideoFrameSource implements FrameSource {
  /** Milliseconds spent waiting for ffmpeg to deliver a decoded frame. */
  waitMs = 0;
  /** Frames handed out and not yet released, by their index in the stream (the Engine's FrameStats.index). */
  private readonly pending = new Map<number, Frame>();

  /** @param recycle give buffers back on release() (only when no processor keeps the frames it is given). */
  constructor(
    private readonly source: VideoSource,
    private readonly recycle: boolean,
  ) {}

  async *frames(): AsyncIterable<Frame> {
    const it = this.source.frames();
    let index = 0;
    try {
      for (;;) {
        const t = performance.now();
        const r = await it.next();
        this.waitMs += performance.now() - t;
        if (r.done) return;
        if (this.recycle) this.pending.set(index, r.value);
        index++;
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }

  /** Frame `index` was written: it and any earlier frame (written or dropped) are done with. */
  release(index: number): void {
    for (const [i, frame] of this.pending) {
      if (i > index) break;
      this.source.recycle(frame);
      this.pending.delete(i);
    }
  }

  close(): Promise<void> {
    this.pending.clear();
    return this.source.close();
  }
}
