/**
 * The frame loop: frames in → processors (in order) → an async writer, as three stages joined by
 * small bounded queues, so reading (ffmpeg decoding), processing and writing (ffmpeg encoding)
 * overlap while no stage runs more than `depth` frames ahead. Measures where the time goes.
 *
 * Platform-neutral (no Node imports): it could move to src/core when the Engine lands there.
 */
import type { Frame } from '../../core/frame.js';
import type { FrameProcessor } from '../../core/processor.js';

export interface PipelineTimings {
  /** Time the processing stage waited for a decoded frame. */
  decodeWaitMs: number;
  /** Time spent inside processors. */
  processMs: number;
  /** Time the writing stage waited for the encoder to take frames. */
  encodeWaitMs: number;
  /** Wall-clock time of the whole loop. */
  totalMs: number;
}

export interface PipelineResult {
  frames: number;
  fps: number;
  timings: PipelineTimings;
}

export interface PipelineOptions {
  frames: AsyncIterable<Frame>;
  processors: readonly FrameProcessor[];
  /** Receives processed frames in order; the promise resolving means the frame was taken. */
  write: (frame: Frame, index: number) => Promise<void>;
  /** Frames allowed to wait between two stages (default 2). */
  depth?: number;
  signal?: AbortSignal;
  /** After each frame is written: frames done, frames per second so far. */
  onFrame?: (done: number, fps: number) => void;
  /** After a frame was written: the decoded frame and what the processors made of it (e.g. to recycle buffers). */
  onWritten?: (input: Frame, output: Frame) => void;
  /** Called once, at the first failure of any stage (e.g. to stop the source so a pending read ends). */
  onError?: (err: unknown) => void;
  /** Clock in ms (default performance.now / Date.now). */
  now?: () => number;
}

/** A bounded FIFO between two async stages. */
class Channel<T> {
  private readonly items: T[] = [];
  private closed = false;
  private error: unknown = null;
  private takers: (() => void)[] = [];
  private putters: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  private wakeAll(list: 'takers' | 'putters'): void {
    const waiting = this[list];
    this[list] = [];
    for (const w of waiting) w();
  }

  async put(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closed && this.error === null) {
      await new Promise<void>((resolve) => this.putters.push(resolve));
    }
    if (this.error !== null) throw this.error;
    if (this.closed) throw new Error('channel closed');
    this.items.push(item);
    this.wakeAll('takers');
  }

  /** The next item, or undefined once closed and drained. */
  async take(): Promise<T | undefined> {
    for (;;) {
      if (this.error !== null) throw this.error;
      if (this.items.length > 0) {
        const item = this.items.shift();
        this.wakeAll('putters');
        return item;
      }
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => this.takers.push(resolve));
    }
  }

  close(): void {
    this.closed = true;
    this.wakeAll('takers');
    this.wakeAll('putters');
  }

  fail(err: unknown): void {
    if (this.error === null) this.error = err;
    this.items.length = 0;
    this.wakeAll('takers');
    this.wakeAll('putters');
  }
}

function abortReason(signal: AbortSignal): unknown {
  if (signal.reason instanceof Error) return signal.reason;
  const err = new Error('the operation was aborted');
  err.name = 'AbortError';
  return err;
}

const defaultNow = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Run frames through processors into `write`. Rejects with the first error of any stage (or the
 * abort reason); the caller closes its source/sink. Processors' init/close are the caller's job.
 */
export async function runFramePipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const now = opts.now ?? defaultNow;
  const depth = Math.max(1, opts.depth ?? 2);
  const decoded = new Channel<Frame>(depth);
  const processed = new Channel<{ input: Frame; output: Frame }>(depth);
  const timings: PipelineTimings = { decodeWaitMs: 0, processMs: 0, encodeWaitMs: 0, totalMs: 0 };
  const start = now();
  let done = 0;
  let failure: unknown = null;
  const fail = (err: unknown): void => {
    if (failure !== null) return;
    failure = err;
    decoded.fail(err);
    processed.fail(err);
    opts.onError?.(err);
  };
  const onAbort = (): void => fail(abortReason(opts.signal!));
  if (opts.signal?.aborted) throw abortReason(opts.signal);
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const reader = (async () => {
    const it = opts.frames[Symbol.asyncIterator]();
    try {
      for (;;) {
        if (failure !== null) break;
        const r = await it.next();
        if (r.done) break;
        await decoded.put(r.value);
      }
      decoded.close();
    } catch (err) {
      fail(err);
    } finally {
      // Stop the source if we are leaving early (error/abort): lets it kill its process.
      if (failure !== null) await it.return?.().catch(() => undefined);
    }
  })();

  const worker = (async () => {
    try {
      for (;;) {
        const t0 = now();
        const input = await decoded.take();
        timings.decodeWaitMs += now() - t0;
        if (input === undefined) break;
        const t1 = now();
        let output = input;
        for (const p of opts.processors) output = await p.process(output);
        timings.processMs += now() - t1;
        await processed.put({ input, output });
      }
      processed.close();
    } catch (err) {
      fail(err);
    }
  })();

  const writer = (async () => {
    try {
      for (;;) {
        const item = await processed.take();
        if (item === undefined) break;
        const t0 = now();
        await opts.write(item.output, done);
        timings.encodeWaitMs += now() - t0;
        opts.onWritten?.(item.input, item.output);
        done++;
        if (opts.onFrame) {
          const elapsed = (now() - start) / 1000;
          opts.onFrame(done, elapsed > 0 ? done / elapsed : 0);
        }
      }
    } catch (err) {
      fail(err);
    }
  })();

  await Promise.all([reader, worker, writer]);
  opts.signal?.removeEventListener('abort', onAbort);
  if (failure !== null) throw failure;
  timings.totalMs = now() - start;
  return { frames: done, fps: timings.totalMs > 0 ? (done * 1000) / timings.totalMs : 0, timings };
}
