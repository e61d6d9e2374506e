/**
 * The Engine: source → processors → sink, the seed's `Engine` made platform-neutral.
 *
 * A source yields frames (a video decoder, a camera, an image list); each frame goes through the
 * processors in order (the seed's `custom_objects`: the background effect, a flip, an FPS meter, a
 * user's own); a sink takes the results (an encoder, a preview, a virtual camera). Reading,
 * processing and writing are three loops joined by small queues, so frame N + 1 is processed while
 * frame N is being written (an encoder in another process keeps working meanwhile); at most
 * `maxInFlight` frames are ever between the source and a completed `sink.write`, so a slow sink
 * slows the source instead of filling memory.
 *
 * A frame range (`from`/`to`, in frames or milliseconds of frame timestamp; `from` inclusive, `to`
 * exclusive) limits where processors run: frames outside pass through untouched, as the seed's
 * start/end frame do, or are dropped with `trim` (and reading stops after `to`).
 *
 * Errors and aborts: the first failure of any stage (or `signal` aborting) stops reading, closes the
 * source, calls `sink.abort(reason)` (not `finish`) and rejects with that error. Processors get
 * `init()` before the first frame and `close()` at the end, whatever happens.
 */
import { now as defaultNow } from './clock.js';
import type { Frame } from './frame.js';
import type { FrameProcessor } from './processor.js';

/** The part of the standard AbortSignal the engine uses (core is typed without DOM or Node). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface FrameSource {
  frames(): AsyncIterable<Frame>;
  /** Releases the source; also ends a pending read (called on every exit path). */
  close?(): Promise<void>;
}

export interface FrameSink {
  /** Takes one frame; resolving means the sink accepted it (backpressure). */
  write(frame: Frame): Promise<void>;
  /** All frames written: complete the output. */
  finish(): Promise<void>;
  /** Something failed or the run was aborted: discard the output. */
  abort?(reason?: unknown): Promise<void>;
}

export interface FrameRange {
  /** First frame processed (inclusive). Default: the start. */
  from?: number;
  /** End of the processed range (exclusive). Default: the end. */
  to?: number;
  /** Frame numbers from 0, or milliseconds of `frame.timestamp`. */
  unit: 'frame' | 'ms';
}

export interface FrameStats {
  /** Index of this frame in the source, from 0. */
  index: number;
  /** Whether the processors ran on it (false: outside the range, passed through). */
  processed: boolean;
  /** Milliseconds the processors took on this frame. */
  processMs: number;
  /** Frames written so far, this one included. */
  framesOut: number;
  /** Frames read from the source so far. */
  framesIn: number;
  /** Milliseconds since the run started. */
  elapsedMs: number;
  /** Frames written per second since the start. */
  fps: number;
}

export interface EngineOptions {
  source: FrameSource;
  processors?: readonly FrameProcessor[];
  sink: FrameSink;
  range?: FrameRange;
  /** Drop the frames outside `range` instead of passing them through. */
  trim?: boolean;
  signal?: AbortSignalLike;
  /** After each frame is written. */
  onFrame?(stats: FrameStats): void;
  /**
   * Most frames between the source and a completed `sink.write` at once (read ahead, being
   * processed, waiting, being written). Default 3: one written, one processed, one read ahead.
   * 1 makes the engine strictly sequential.
   */
  maxInFlight?: number;
  /** Clock in milliseconds (default: the monotonic clock). */
  clock?: () => number;
}

export interface EngineSummary {
  framesIn: number;
  framesOut: number;
  /** Frames the processors ran on. */
  processed: number;
  /** Frames outside the range written untouched. */
  passedThrough: number;
  /** Frames outside the range dropped (`trim`). */
  dropped: number;
  elapsedMs: number;
  /** Frames written per second of the whole run. */
  fps: number;
  /** Total milliseconds spent in each processor, in the order given. */
  processorMs: number[];
  /** Whether the run ended early through `stop()`. */
  stopped: boolean;
}

function abortError(signal: AbortSignalLike): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const err = new Error('the operation was aborted');
  err.name = 'AbortError';
  return err;
}

/** Tells the sink to discard its output; its own failure must not hide the original error. */
async function abortSink(sink: FrameSink, reason: unknown): Promise<void> {
  try {
    await sink.abort?.(reason);
  } catch {
    // the original error is what the caller needs
  }
}

/** Where a frame sits relative to the range. */
type Place = 'before' | 'inside' | 'after';

function checkRange(range: FrameRange | undefined): void {
  if (!range) return;
  if (range.unit !== 'frame' && range.unit !== 'ms') throw new RangeError(`range unit must be "frame" or "ms", got ${String(range.unit)}`);
  for (const k of ['from', 'to'] as const) {
    const v = range[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`range ${k} must be a number ≥ 0, got ${v}`);
  }
  if (range.from !== undefined && range.to !== undefined && !(range.to > range.from)) {
    throw new RangeError(`range to (${range.to}) must be after from (${range.from})`);
  }
}

export class Engine {
  private readonly opts: EngineOptions;
  private stopRequested = false;
  private started = false;
  private wake: (() => void) | null = null;

  constructor(options: EngineOptions) {
    checkRange(options.range);
    const depth = options.maxInFlight ?? 3;
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`maxInFlight must be an integer ≥ 1, got ${depth}`);
    this.opts = options;
  }

  /**
   * Ends the run gracefully (the `q` key): no more frames are read; those already read are
   * processed and written, then the sink is finished as usual.
   */
  stop(): void {
    this.stopRequested = true;
    this.wake?.();
  }

  /** Runs the engine once; resolves with the summary when the sink has finished. */
  async run(): Promise<EngineSummary> {
    if (this.started) throw new Error('an Engine runs once; create a new one');
    this.started = true;
    const { source, sink, range, trim = false, signal, onFrame } = this.opts;
    const processors = this.opts.processors ?? [];
    const clock = this.opts.clock ?? defaultNow;
    const maxInFlight = this.opts.maxInFlight ?? 3;
    const processorMs = processors.map(() => 0);
    const summary: EngineSummary = { framesIn: 0, framesOut: 0, processed: 0, passedThrough: 0, dropped: 0, elapsedMs: 0, fps: 0, processorMs, stopped: false };
    const start = clock();

    const place = (frame: Frame, index: number): Place => {
      if (!range) return 'inside';
      let at: number;
      if (range.unit === 'frame') at = index;
      else {
        if (frame.timestamp === undefined) throw new Error(`a range in milliseconds needs frame timestamps; frame ${index} has none`);
        at = frame.timestamp;
      }
      if (range.from !== undefined && at < range.from) return 'before';
      if (range.to !== undefined && at >= range.to) return 'after';
      return 'inside';
    };

    // Failure handling shared by the three loops.
    let failure: { error: unknown } | null = null;
    const waiters = new Set<() => void>();
    const notify = (): void => {
      for (const w of [...waiters]) w();
    };
    const wait = (): Promise<void> => new Promise<void>((resolve) => {
      const done = (): void => {
        waiters.delete(done);
        resolve();
      };
      waiters.add(done);
    });
    let iterator: AsyncIterator<Frame> | null = null;
    let sourceClosed = false;
    const closeSource = async (): Promise<void> => {
      if (sourceClosed) return;
      sourceClosed = true;
      const it = iterator;
      // Ending the iteration and closing the source both unblock a pending read.
      await Promise.allSettled([it?.return?.(), source.close?.()]);
    };
    let onFailure: () => void = () => undefined;
    const failed = new Promise<void>((resolve) => (onFailure = resolve));
    const fail = (error: unknown): void => {
      if (failure) return;
      failure = { error };
      notify();
      onFailure();
      void closeSource();
    };
    this.wake = notify;
    const onAbort = (): void => fail(abortError(signal!));
    if (signal?.aborted) {
      await closeSource();
      await abortSink(sink, abortError(signal));
      throw abortError(signal);
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    interface Item {
      index: number;
      frame: Frame;
      place: Place;
      processMs: number;
    }
    const toProcess: Item[] = [];
    const toWrite: Item[] = [];
    let inFlight = 0;
    let readingDone = false;
    let processingDone = false;

    const initialised: FrameProcessor[] = [];
    try {
      for (const p of processors) {
        await p.init?.();
        initialised.push(p);
      }
    } catch (err) {
      fail(err);
    }

    const reader = async (): Promise<void> => {
      if (failure) return;
      iterator = source.frames()[Symbol.asyncIterator]();
      let index = 0;
      try {
        for (;;) {
          while (inFlight >= maxInFlight && !failure && !this.stopRequested) await wait();
          if (failure || this.stopRequested) break;
          const r = await iterator.next();
          if (r.done || failure) break;
          const frame = r.value;
          summary.framesIn++;
          const where = place(frame, index);
          if (where === 'after' && trim) {
            summary.dropped++;
            break; // nothing after `to` is wanted
          }
          if (where !== 'inside' && trim) {
            summary.dropped++;
            index++;
            continue;
          }
          inFlight++;
          toProcess.push({ index, frame, place: where, processMs: 0 });
          index++;
          notify();
        }
      } catch (err) {
        fail(err);
      } finally {
        readingDone = true;
        notify();
      }
      if (!failure) await closeSource();
    };

    const worker = async (): Promise<void> => {
      try {
        for (;;) {
          while (toProcess.length === 0 && !readingDone && !failure) await wait();
          if (failure) return;
          const item = toProcess.shift();
          if (!item) break;
          if (item.place === 'inside') {
            let frame = item.frame;
            const t0 = clock();
            for (let k = 0; k < processors.length; k++) {
              const t = clock();
              frame = await processors[k].process(frame);
              processorMs[k] += clock() - t;
              if (failure) return;
            }
            item.processMs = clock() - t0;
            item.frame = frame;
            summary.processed++;
          } else {
            summary.passedThrough++;
          }
          toWrite.push(item);
          notify();
        }
      } catch (err) {
        fail(err);
      } finally {
        processingDone = true;
        notify();
      }
    };

    const writer = async (): Promise<void> => {
      try {
        for (;;) {
          while (toWrite.length === 0 && !processingDone && !failure) await wait();
          if (failure) return;
          const item = toWrite.shift();
          if (!item) break;
          await sink.write(item.frame);
          if (failure) return;
          inFlight--;
          summary.framesOut++;
          notify();
          if (onFrame) {
            const elapsedMs = clock() - start;
            onFrame({
              index: item.index,
              processed: item.place === 'inside',
              processMs: item.processMs,
              framesOut: summary.framesOut,
              framesIn: summary.framesIn,
              elapsedMs,
              fps: elapsedMs > 0 ? (summary.framesOut * 1000) / elapsedMs : 0,
            });
          }
        }
      } catch (err) {
        fail(err);
      }
    };

    try {
      if (!failure) {
        const reading = reader();
        const processing = worker();
        const writing = writer();
        // After a failure only the worker is waited for (it stops after the current processor, so
        // processors are never closed mid-frame); a read or write stuck in a broken source or sink
        // is left behind — the source was closed and the sink will be aborted.
        await Promise.race([Promise.all([reading, processing, writing]), failed.then(() => processing)]);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.wake = null;
      // Close processors in reverse order, all of them, even after a failure.
      for (const p of initialised.reverse()) {
        try {
          await p.close?.();
        } catch (err) {
          if (!failure) failure = { error: err };
        }
      }
    }
    const failedWith = failure as { error: unknown } | null;
    if (failedWith) {
      await closeSource();
      await abortSink(sink, failedWith.error);
      throw failedWith.error;
    }
    await closeSource();
    await sink.finish();
    summary.stopped = this.stopRequested;
    summary.elapsedMs = clock() - start;
    summary.fps = summary.elapsedMs > 0 ? (summary.framesOut * 1000) / summary.elapsedMs : 0;
    return summary;
  }
}

/** Runs a source through processors into a sink; see {@link Engine}. */
export function runEngine(options: EngineOptions): Promise<EngineSummary> {
  return new Engine(options).run();
}
