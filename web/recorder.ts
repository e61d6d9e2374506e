/// <reference lib="dom" />
/**
 * Records a stream with MediaRecorder into a WebM whose Duration is set (see webmDuration.ts), so
 * players show its length and can seek.
 */
import { fixWebmDuration } from './webmDuration.js';

const TYPES = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm'];

/** The first WebM type this browser records (VP8 first: the cheapest to encode on a CPU). */
export function recorderMimeType(hasAudio: boolean): string | undefined {
  if (typeof MediaRecorder === 'undefined') return undefined;
  return TYPES.filter((t) => hasAudio || !t.includes('opus')).find((t) => MediaRecorder.isTypeSupported(t));
}

export interface Recording {
  blob: Blob;
  durationMs: number;
  mimeType: string;
}

export class Recorder {
  private readonly chunks: Blob[] = [];
  private readonly recorder: MediaRecorder;
  private readonly started = performance.now();
  private readonly done: Promise<void>;

  constructor(stream: MediaStream) {
    const mimeType = recorderMimeType(stream.getAudioTracks().length > 0);
    if (!mimeType) throw new Error('this browser cannot record WebM (no MediaRecorder for video/webm)');
    this.recorder = new MediaRecorder(stream, { mimeType, videoBitsPerSecond: 4_000_000 });
    this.recorder.addEventListener('dataavailable', (e) => {
      if (e.data.size > 0) this.chunks.push(e.data);
    });
    this.done = new Promise((resolve, reject) => {
      this.recorder.addEventListener('stop', () => resolve(), { once: true });
      this.recorder.addEventListener('error', (e) => reject(new Error(`recording failed: ${(e as ErrorEvent).message ?? 'MediaRecorder error'}`)), { once: true });
    });
    this.recorder.start(1000);
  }

  get elapsedMs(): number {
    return performance.now() - this.started;
  }

  get mimeType(): string {
    return this.recorder.mimeType;
  }

  /** Stops and returns the WebM with its Duration written from its own timestamps. */
  async stop(): Promise<Recording> {
    const wall = this.elapsedMs;
    if (this.recorder.state !== 'inactive') this.recorder.stop();
    await this.done;
    const type = this.recorder.mimeType.split(';')[0] || 'video/webm';
    const raw = new Uint8Array(await new Blob(this.chunks, { type }).arrayBuffer());
    if (raw.length === 0) throw new Error('the recording is empty (no frames arrived)');
    let fixed: { bytes: Uint8Array; durationMs: number };
    try {
      fixed = fixWebmDuration(raw);
    } catch {
      // No blocks to measure by (should not happen): the wall-clock length is the next best thing.
      fixed = fixWebmDuration(raw, wall);
    }
    return { blob: new Blob([fixed.bytes as Uint8Array<ArrayBuffer>], { type }), durationMs: fixed.durationMs, mimeType: this.recorder.mimeType };
  }
}
