/**
 * A camera as the Engine's FrameSource, for a stream that must never fall behind: frames are read
 * from ffmpeg as fast as they arrive, and the Engine is always handed the newest one. A frame that
 * is replaced before the Engine asks for it is dropped (counted, its buffer reused).
 *
 * `end()` ends the stream gracefully: the Engine's pending read returns "done" at once (a hung
 * camera would otherwise keep it waiting until the stall timeout), so the outputs are finished.
 * A failure of the camera (stalled, died) is thrown to the Engine once the waiting frame is taken,
 * and kept in `error` so the outputs can tell it from a processing failure.
 */
import type { FrameSource } from '../../core/engine.js';
import type { Frame } from '../../core/frame.js';
import type { VideoSource } from '../video/source.js';

export class NewestFrameSource implements FrameSource {
  /** Frames replaced by a newer one before they were processed. */
  dropped = 0;
  /** The camera's failure, if it failed. */
  error: unknown = null;
  private slot: Frame | null = null;
  private ended = false;
  private sourceDone = false;
  private wake: (() => void) | null = null;
  private pump: Promise<void> | null = null;

  constructor(private readonly source: VideoSource) {}

  frames(): AsyncIterable<Frame> {
    this.pump ??= this.read();
    return { [Symbol.asyncIterator]: () => ({ next: () => this.next() }) };
  }

  /** Stop handing out frames; the Engine then finishes as at the end of the input. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  async close(): Promise<void> {
    this.end();
    await this.source.close();
    await this.pump;
  }

  private async read(): Promise<void> {
    try {
      for await (const frame of this.source.frames()) {
        if (this.slot) {
          this.dropped++;
          this.source.recycle(this.slot);
        }
        this.slot = frame;
        this.notify();
      }
    } catch (err) {
      // Closing the camera ourselves is not its failure.
      if (!this.ended) this.error = err;
    } finally {
      this.sourceDone = true;
      this.notify();
    }
  }

  private async next(): Promise<IteratorResult<Frame>> {
    for (;;) {
      if (this.ended) return { done: true, value: undefined };
      if (this.slot) {
        const frame = this.slot;
        this.slot = null;
        return { done: false, value: frame };
      }
      if (this.error) throw this.error;
      if (this.sourceDone) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
