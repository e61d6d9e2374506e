/**
 * A camera as the Engine's FrameSource, for a stream that must never fall behind: the Engine is
 * always handed the newest frame. A frame that is replaced before the Engine asks for it is
 * dropped (counted in `dropped`).
 *
 * The camera is read in a worker thread (cameraWorker.ts). Read on the main thread, ffmpeg's pipe
 * would go unread while a frame is being processed (the effect's JavaScript stages hold the thread
 * for tens of ms), ffmpeg would block, and the delay would build up before the frames reach Node
 * (without bound for real-time inputs such as lavfi or a file played with -re; up to the driver's
 * buffers for a camera) instead of frames being dropped. The worker drains the pipe at the
 * camera's rate, keeps only the newest frame and transfers it when the Engine asks for one.
 *
 * `end()` ends the stream gracefully: the Engine's pending read returns "done" at once (a hung
 * camera would otherwise keep it waiting until the stall timeout), so the outputs are finished.
 * A failure of the camera (stalled, died) is thrown to the Engine once the waiting frame is taken,
 * and kept in `error` so the outputs can tell it from a processing failure; it has the class,
 * code and message it had in the worker (VideoSourceError…).
 */
import { Worker } from 'node:worker_threads';
import type { FrameSource } from '../../core/engine.js';
import type { Frame } from '../../core/frame.js';
import { FfmpegNotFoundError } from '../video/ffmpegPath.js';
import { VideoInputError, type VideoInfo } from '../video/probe.js';
import { VideoSourceError } from '../video/source.js';
import type { CameraWorkerData, FromWorker, SerializedError, ToWorker } from './cameraWorker.js';

const ERROR_CLASSES: Record<string, { prototype: Error }> = {
  VideoSourceError,
  VideoInputError,
  FfmpegNotFoundError,
  RangeError,
  TypeError,
  AbortError: Error,
};

/** The worker's error as the same class with the same message, stack and properties. */
function reviveError(s: SerializedError): Error {
  const err = Object.create((ERROR_CLASSES[s.name] ?? Error).prototype) as Error;
  Object.defineProperty(err, 'message', { value: s.message, writable: true, configurable: true });
  Object.defineProperty(err, 'stack', { value: s.stack, writable: true, configurable: true });
  Object.assign(err, s.props);
  if (err.name !== s.name) Object.defineProperty(err, 'name', { value: s.name, writable: true, configurable: true });
  return err;
}

function startWorker(data: CameraWorkerData): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./cameraWorker.js', here), { workerData: data });
  // Run from the TypeScript sources (tsx, vitest): Node 20 gives a Worker no module loader from
  // execArgv, so a small module registers tsx's loader in the worker, then loads the worker.
  const code = `(await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})).register();\nawait import(${JSON.stringify(new URL('./cameraWorker.ts', here).href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: data });
}

export class NewestFrameSource implements FrameSource {
  /** Frames replaced by a newer one before they were processed. */
  dropped = 0;
  /** The camera's failure, if it failed. */
  error: unknown = null;
  private ended = false;
  private sourceDone = false;
  private closing: Promise<void> | null = null;
  private workerGone = false;
  private reply: ((msg: FromWorker | null) => void) | null = null;
  private exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    /** Facts about the camera; width/height are the size of the frames delivered. */
    readonly info: VideoInfo,
    readonly channels: 3 | 4,
  ) {
    worker.on('message', (msg: FromWorker) => this.answer(msg));
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    void this.exited.then(() => {
      this.workerGone = true;
      this.answer(null);
    });
  }

  /** Open a live input (ffmpeg input args, as for openVideoSource) in a worker; resolves once ffmpeg has announced the frame size. */
  static async open(input: CameraWorkerData['input'], options: CameraWorkerData['options']): Promise<NewestFrameSource> {
    const worker = startWorker({ input, options });
    let onMessage!: (msg: FromWorker) => void;
    let onError!: (err: Error) => void;
    let onExit!: (code: number) => void;
    const first = await new Promise<FromWorker>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`the camera worker exited (code ${code}) before the camera opened`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    }).finally(() => {
      // Not removeAllListeners(): the Worker's own listeners start its message port.
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    });
    if (first.type !== 'ready') {
      await worker.terminate();
      throw first.type === 'error' ? reviveError(first.error) : new Error(`the camera worker sent ${first.type} before the camera opened`);
    }
    const source = new NewestFrameSource(worker, first.info, first.channels);
    worker.on('error', (err) => {
      source.error ??= err;
      source.answer(null);
    });
    return source;
  }

  frames(): AsyncIterable<Frame> {
    return { [Symbol.asyncIterator]: () => ({ next: () => this.next() }) };
  }

  /** Stop handing out frames; the Engine then finishes as at the end of the input. */
  end(): void {
    this.ended = true;
    this.answer(null);
  }

  /** End, stop ffmpeg and the worker. Safe to call more than once. */
  close(): Promise<void> {
    this.end();
    this.closing ??= (async () => {
      if (!this.workerGone) {
        this.send({ type: 'stop' });
        // The worker answers `closed` and exits once ffmpeg is stopped (≤ 300 ms grace, then SIGKILL).
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
        await Promise.race([this.exited, timeout]);
      }
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private send(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  private answer(msg: FromWorker | null): void {
    if (msg && 'dropped' in msg) this.dropped = msg.dropped;
    const reply = this.reply;
    this.reply = null;
    reply?.(msg);
  }

  private async next(): Promise<IteratorResult<Frame>> {
    for (;;) {
      if (this.ended) return { done: true, value: undefined };
      if (this.error) throw this.error;
      if (this.sourceDone) return { done: true, value: undefined };
      if (this.workerGone) {
        this.error = new Error('the camera worker exited unexpectedly');
        continue;
      }
      if (this.reply) throw new Error('NewestFrameSource: one frame at a time');
      const msg = await new Promise<FromWorker | null>((resolve) => {
        this.reply = resolve;
        this.send({ type: 'take' });
      });
      if (!msg || this.ended) continue;
      if (msg.type === 'frame') {
        const { width, height, channels, timestamp, data } = msg;
        return { done: false, value: { width, height, channels, timestamp, data } };
      }
      if (msg.type === 'error') this.error = reviveError(msg.error);
      else if (msg.type === 'end') this.sourceDone = true;
    }
  }
}
