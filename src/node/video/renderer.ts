/**
 * A video job's one straight line, written once for both renderers: the renderer opens its source
 * and sink, the core Engine runs the frames through, the renderer finishes the output, and the
 * summary is built here. Any failure or an abort closes the source and aborts the sink (which
 * removes the temporary output), so a half-written file never appears.
 *
 * The renderers: nodeRenderer.ts (frames through Node's processors, the general path) and
 * ffmpegRenderer.ts (Node makes a small mask, ffmpeg composites). Neither imports the other.
 */
import { runEngine, type EngineSummary, type FrameSink, type FrameSource, type FrameStats } from '../../core/engine.js';
import type { FrameProcessor } from '../../core/processor.js';
import { createVideoJob, type VideoJob, type VideoJobOptions } from './job.js';
import type { Rational, VideoInfo } from './probe.js';
import type { VideoSinkResult } from './sink.js';

/** Where a run's time went, ms. Reading and writing overlap with processing, so these add up to more than `totalMs`. */
export interface VideoTimings {
  /** Waiting for ffmpeg to deliver decoded frames. */
  decodeWaitMs: number;
  /** Inside processors. */
  processMs: number;
  /** Waiting for the encoder to take frames (starting it included). */
  encodeWaitMs: number;
  /** The whole frame loop. */
  totalMs: number;
  /** Before the loop: probing, starting the decoder. */
  setupMs: number;
  /** After it: the encoder's flush and moving the file into place. */
  finishMs: number;
}

export interface VideoSummary {
  input: string;
  output: string;
  frames: number;
  /** Frames the input was expected to give (undefined when unknown). */
  expectedFrames: number | undefined;
  width: number;
  height: number;
  frameRate: Rational;
  /** Processing speed over the whole run (frames per wall-clock second). */
  fps: number;
  seconds: number;
  timings: VideoTimings;
  sink: VideoSinkResult;
  inputInfo: VideoInfo;
}

/** A renderer's source, processors and sink for one job, open and ready for the Engine. */
export interface OpenRender {
  source: FrameSource;
  processors: FrameProcessor[];
  sink: FrameSink;
  /** Frames the source will deliver, when it can be told. */
  expectedFrames: number | undefined;
  /** The Engine's bound on frames between source and sink (default: the Engine's). */
  maxInFlight?: number;
  /** After each frame is written (before the job's onProgress). */
  onFrame?: (stats: FrameStats) => void;
  /** After the Engine's run: the output finished, or undefined when no frame was written. */
  finish(summary: EngineSummary): Promise<VideoSinkResult | undefined>;
  /** Milliseconds spent waiting for the decoder and the encoder. */
  waits(): { decodeWaitMs: number; encodeWaitMs: number };
  /** On failure: stop the source and abort the sink. */
  abort(): Promise<void>;
  /** Always, at the end: remove anything the renderer made for the run. */
  cleanup?(): Promise<void>;
}

export interface Renderer {
  /** The output keeps alpha because of what this renderer draws (undefined: as the job's options say). */
  readonly transparent?: boolean;
  /** Open the source and sink for a job; on failure, closes whatever it opened before rejecting. */
  open(job: VideoJob): Promise<OpenRender>;
}

/** Build the job (job.ts) and run it with this renderer. */
export async function renderVideo(opts: VideoJobOptions, renderer: Renderer): Promise<VideoSummary> {
  return runVideoJob(await createVideoJob(opts, renderer));
}

/** Run a job: open, the Engine, finish, the summary; on failure close/abort both ends. */
export async function runVideoJob(job: VideoJob): Promise<VideoSummary> {
  let render: OpenRender | null = null;
  try {
    render = await job.renderer.open(job);
    const r = render;
    const setupMs = performance.now() - job.startedAt;
    const total = r.expectedFrames !== undefined ? Math.max(0, r.expectedFrames - job.leadIn) : undefined;
    const summary = await runEngine({
      source: r.source,
      processors: r.processors,
      sink: r.sink,
      range: job.range,
      signal: job.signal,
      maxInFlight: r.maxInFlight,
      onFrame:
        r.onFrame || job.onProgress
          ? (s) => {
              r.onFrame?.(s);
              // A lead-in is not part of the output: progress counts the frames that are.
              if (s.framesOut > job.leadIn) job.onProgress?.(s.framesOut - job.leadIn, total, s.fps);
            }
          : undefined,
    });
    const tFinish = performance.now();
    const sink = await r.finish(summary);
    if (!sink) throw noFramesDecoded(job);
    const frames = summary.framesOut - job.leadIn;
    const seconds = (performance.now() - job.startedAt) / 1000;
    const timings: VideoTimings = {
      ...r.waits(),
      processMs: summary.processorMs.reduce((a, b) => a + b, 0),
      totalMs: summary.elapsedMs,
      setupMs,
      finishMs: performance.now() - tFinish,
    };
    const { input, output, info } = job;
    return { input, output, frames, expectedFrames: total, width: sink.width, height: sink.height, frameRate: info.frameRate, fps: frames / seconds, seconds, timings, sink, inputInfo: info };
  } catch (err) {
    // The Engine has already closed both ends when it ran; this covers failures around it.
    await render?.abort();
    throw err;
  } finally {
    await render?.cleanup?.();
  }
}

/** A job whose source gave no frame at all (an empty range, say). */
function noFramesDecoded(job: Pick<VideoJob, 'input' | 'from' | 'to'>): Error {
  return new Error(`${job.input}: no frames were decoded${job.from !== undefined ? ` in the range ${job.from}–${job.to ?? 'end'} s` : ''}`);
}
