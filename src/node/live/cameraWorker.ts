/**
 * The worker thread behind NewestFrameSource (newestFrameSource.ts): it reads the camera with
 * openVideoSource on its own event loop, so ffmpeg's pipe is drained at the camera's rate however
 * long the main thread is busy with a frame. It keeps only the newest frame (a frame replaced
 * before the main thread asked for it is dropped, counted, its buffer reused) and hands it over on
 * request, transferring its buffer.
 *
 * Messages in: `take` (send the newest frame not yet sent, or the next one to arrive; or the end,
 * or the failure), `stop` (close the camera, then exit). Out: `ready` (the source info) or
 * `error` while opening; `frame`, `end`, `error` in answer to `take`; `closed` after `stop`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Frame } from '../../core/frame.js';
import type { VideoInfo } from '../video/probe.js';
import { openVideoSource, type VideoSource, type VideoSourceOptions } from '../video/source.js';

export interface CameraWorkerData {
  input: { args: string[]; name?: string };
  /** Serialisable options only (no signal: `stop` ends the reading). */
  options: Omit<VideoSourceOptions, 'signal' | 'info'>;
}

/** An Error as data: its class name, message, stack and own properties (code, frame, ffmpegLog…). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  props: Record<string, unknown>;
}

export type ToWorker = { type: 'take' } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready'; info: VideoInfo; channels: 3 | 4 }
  | { type: 'frame'; width: number; height: number; channels: 3 | 4; timestamp?: number; data: Uint8Array; dropped: number }
  | { type: 'end'; dropped: number }
  | { type: 'error'; error: SerializedError; dropped: number }
  | { type: 'closed' };

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), props: {} };
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) {
    try {
      props[k] = structuredClone(v);
    } catch {
      // Not cloneable: left out.
    }
  }
  return { name: err.name, message: err.message, stack: err.stack, props };
}

if (parentPort) {
  const port = parentPort;
  const { input, options } = workerData as CameraWorkerData;
  const stopper = new AbortController();
  let source: VideoSource | null = null;
  let slot: Frame | null = null;
  let dropped = 0;
  let wanted = false;
  let done = false;
  let failure: unknown = null;
  const post = (msg: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(msg, transfer);

  const deliver = (): void => {
    if (!wanted) return;
    if (slot) {
      const { width, height, channels, timestamp } = slot;
      let data = slot.data as Uint8Array;
      slot = null;
      wanted = false;
      // The source allocates one ArrayBuffer per frame; copy if that ever changes.
      if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice();
      post({ type: 'frame', width, height, channels, timestamp, data, dropped }, [data.buffer as ArrayBuffer]);
    } else if (failure) {
      wanted = false;
      post({ type: 'error', error: serializeError(failure), dropped });
    } else if (done) {
      wanted = false;
      post({ type: 'end', dropped });
    }
  };

  const read = async (): Promise<void> => {
    try {
      source = await openVideoSource(input, { ...options, signal: stopper.signal });
    } catch (err) {
      if (!stopper.signal.aborted) post({ type: 'error', error: serializeError(err), dropped });
      return;
    }
    post({ type: 'ready', info: source.info, channels: source.channels });
    try {
      for await (const frame of source.frames()) {
        if (slot) {
          dropped++;
          source.recycle(slot);
        }
        slot = frame;
        deliver();
      }
    } catch (err) {
      // Closing the camera ourselves is not its failure.
      if (!stopper.signal.aborted) failure = err;
    } finally {
      done = true;
      deliver();
    }
  };
  const reading = read();

  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'take') {
      wanted = true;
      deliver();
    } else if (msg.type === 'stop' && !stopper.signal.aborted) {
      stopper.abort();
      void (async () => {
        await reading;
        await source?.close();
        post({ type: 'closed' });
        port.close();
      })();
    }
  });
}
