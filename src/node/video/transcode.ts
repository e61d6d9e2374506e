/**
 * Video file → processors → video file: probe the input, check the output, decode with ffmpeg,
 * run the processors on the core Engine, encode with ffmpeg (audio kept), move the result into
 * place. Decoding, processing and encoding overlap (the Engine's three loops). Any failure or an
 * abort stops both ffmpeg processes and removes the temporary output, so a half-written file never
 * appears.
 */
import { runEngine, type FrameRange, type FrameSink } from '../../core/engine.js';
import type { FrameProcessor } from '../../core/processor.js';
import { findFfmpeg, type FfmpegOptions } from './ffmpegPath.js';
import { probeVideo, type Rational, type VideoInfo } from './probe.js';
import { checkVideoOutput, openVideoSink, planVideoSink, type VideoSinkOptions, type VideoSinkResult } from './sink.js';
import { openVideoSource, type VideoSource } from './source.js';
import { VideoFrameSink } from './videoFrameSink.js';
import { VideoFrameSource } from './videoFrameSource.js';

export interface ProcessVideoOptions
  extends FfmpegOptions,
    Pick<VideoSinkOptions, 'codec' | 'transparent' | 'crf' | 'preset' | 'force' | 'format' | 'outputArgs'> {
  input: string;
  output: string;
  /** Run on every frame, in order (each gets the previous one's output). */
  processors?: FrameProcessor[];
  /** Channels decoded from the input (default 3; 4 keeps the input's alpha). Processors may change it; the output takes what they give. */
  inputChannels?: 3 | 4;
  /** Only this time range of the input is read and written, seconds. */
  from?: number;
  to?: number;
  /**
   * Run the processors only on these frames (counted from the first frame read, or by timestamp
   * in ms); the others are written untouched, in the output's channel layout (opaque RGBA for a
   * transparent output), as the seed's start/end frame.
   */
  range?: FrameRange;
  /** Keep the input's audio (default true). */
  audio?: boolean;
  /** Frames read ahead of the one being written (default 2). */
  queueDepth?: number;
  /** `fail` (default) or `conceal` damaged input data. */
  onDecodeError?: 'fail' | 'conceal';
  /** After each frame is written. `total` is undefined when the input does not tell its length. */
  onProgress?: (done: number, total: number | undefined, fps: number) => void;
  /** Abort: both ffmpeg processes are stopped and the temporary output removed; rejects with the abort reason. */
  signal?: AbortSignal;
  /**
   * Reuse decoded frame buffers once a frame is written. Always done when there are no processors;
   * with processors only when this is true — set it when no processor keeps a reference to the
   * frames it is given (most don't: they return new frames and keep at most masks).
   */
  reuseFrameBuffers?: boolean;
  /** Facts already probed for `input` (saves probing it again). */
  info?: VideoInfo;
  /** Call processors' init()/close() (default true). */
  manageProcessors?: boolean;
}

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

/** Has a history of earlier frames to forget (BackgroundEffect's temporal smoothing, its background's clock). */
interface Resettable {
  resetTemporal(): void;
}
const isResettable = (p: FrameProcessor): p is FrameProcessor & Resettable => typeof (p as Partial<Resettable>).resetTemporal === 'function';

/**
 * Process a video file. Rejects with VideoInputError (bad input), OutputError (bad output path),
 * VideoSourceError (input damaged partway: names the frame), VideoSinkError (encoder failure),
 * FfmpegNotFoundError, a processor's own error, or the abort reason.
 */
export async function processVideo(opts: ProcessVideoOptions): Promise<VideoSummary> {
  const t0 = performance.now();
  const { input, output } = opts;
  const processors = opts.processors ?? [];
  const ff: FfmpegOptions = { ffmpegPath: opts.ffmpegPath, ffprobePath: opts.ffprobePath };

  findFfmpeg(ff); // no ffmpeg: fail before probing, with the message saying how to get one
  const info = opts.info ?? (await probeVideo(input, ff));
  // Fail fast on the output before decoding anything (the sink checks again when it opens).
  await checkVideoOutput(output, { force: opts.force, inputs: [input] });
  planVideoSink({ ...sinkOptions(opts, info, info.width, info.height, opts.transparent ? 4 : 3) }, []);
  // A processor used for an earlier file (a batch) must not carry that file's history into this one.
  for (const p of processors) if (isResettable(p)) p.resetTemporal();

  let source: VideoSource | null = null;
  let frames: VideoFrameSource | null = null;
  let encoder: VideoFrameSink | null = null;
  try {
    source = await openVideoSource(input, {
      ...ff,
      info,
      channels: opts.inputChannels ?? 3,
      from: opts.from,
      to: opts.to,
      onDecodeError: opts.onDecodeError,
      signal: opts.signal,
    });
    const src = source;
    const total = src.expectedFrames;
    frames = new VideoFrameSource(src, processors.length === 0 || opts.reuseFrameBuffers === true);
    const decoded = frames;
    encoder = new VideoFrameSink(
      (width, height, channels) => openVideoSink(sinkOptions(opts, info, width, height, channels, src.info.frameRate)),
      opts.transparent ? 4 : undefined,
    );
    const setupMs = performance.now() - t0;
    // A range that no frame falls in (it starts past the end) would write an untouched copy: an
    // error instead, before the output is committed (the catch below removes it).
    const enc = encoder;
    let inRange = 0;
    let framesIn = 0;
    const sink: FrameSink = opts.range
      ? {
          write: (f) => enc.write(f),
          finish: async () => {
            if (inRange === 0) throw emptyRange(input, opts.range!, framesIn);
            await enc.finish();
          },
          abort: () => enc.abort(),
        }
      : enc;

    const summary = await runEngine({
      source: decoded,
      // Unmanaged processors are hidden behind a plain process() so the Engine neither inits nor closes them.
      processors: opts.manageProcessors === false ? processors.map((p) => ({ process: (f) => p.process(f) }) satisfies FrameProcessor) : processors,
      sink,
      range: opts.range,
      signal: opts.signal,
      maxInFlight: (opts.queueDepth ?? 2) + 1,
      onFrame: (s) => {
        if (s.processed) inRange++;
        framesIn = s.framesIn;
        decoded.release(s.index);
        opts.onProgress?.(s.framesOut, total, s.fps);
      },
    });
    const tFinish = performance.now();
    const sinkResult = encoder.result;
    if (!sinkResult) throw noFramesDecoded(opts);
    return videoSummary(opts, info, src.info.frameRate, summary.framesOut, total, sinkResult, t0, {
      decodeWaitMs: decoded.waitMs,
      processMs: summary.processorMs.reduce((a, b) => a + b, 0),
      encodeWaitMs: encoder.waitMs,
      totalMs: summary.elapsedMs,
      setupMs,
      finishMs: performance.now() - tFinish,
    });
  } catch (err) {
    // The Engine has already closed both ends when it ran; this covers failures around it.
    await Promise.allSettled([frames?.close() ?? source?.close(), encoder?.abort()]);
    throw err;
  }
}

/** A frame range that none of the video's frames fall in. */
function emptyRange(input: string, range: FrameRange, frames: number): Error {
  const at = (n: number) => (range.unit === 'frame' ? `frame ${n}` : `${n / 1000} s`);
  const span = `${range.from !== undefined ? `from ${at(range.from)}` : 'from the start'}${range.to !== undefined ? ` to ${at(range.to)}` : ''}`;
  return new Error(`${input}: the effect range (${span}) holds none of the video's ${frames} frames: it starts past the end`);
}

/** A job whose source gave no frame at all (an empty range, say). */
export function noFramesDecoded(opts: Pick<VideoJobOptions, 'input' | 'from' | 'to'>): Error {
  return new Error(`${opts.input}: no frames were decoded${opts.from !== undefined ? ` in the range ${opts.from}–${opts.to ?? 'end'} s` : ''}`);
}

/** A finished job's summary; `t0` is when the job started (performance.now()). */
export function videoSummary(
  opts: Pick<VideoJobOptions, 'input' | 'output'>,
  info: VideoInfo,
  frameRate: Rational,
  frames: number,
  expectedFrames: number | undefined,
  sink: VideoSinkResult,
  t0: number,
  timings: VideoSummary['timings'],
): VideoSummary {
  const seconds = (performance.now() - t0) / 1000;
  const { input, output } = opts;
  return { input, output, frames, expectedFrames, width: sink.width, height: sink.height, frameRate, fps: frames / seconds, seconds, timings, sink, inputInfo: info };
}

/** What a video file's output needs from the job: encoder settings, and the input's sound kept in step. */
export type VideoJobOptions = Pick<
  ProcessVideoOptions,
  'input' | 'output' | 'audio' | 'from' | 'to' | 'codec' | 'transparent' | 'crf' | 'preset' | 'force' | 'format' | 'outputArgs' | 'ffmpegPath' | 'ffprobePath'
>;

/** The sink options for a video file job whose frames are width × height × channels. */
export function sinkOptions(opts: VideoJobOptions, info: VideoInfo, width: number, height: number, channels: 3 | 4, fps?: Rational): VideoSinkOptions {
  const keepAudio = (opts.audio ?? true) && info.audio.length > 0;
  // If the video started after the audio (rare), delay it by as much so they stay aligned.
  const lead = info.startTime - info.formatStartTime;
  const frameSec = info.frameRate.den / info.frameRate.num;
  return {
    ffmpegPath: opts.ffmpegPath,
    ffprobePath: opts.ffprobePath,
    output: opts.output,
    width,
    height,
    fps: fps ?? info.frameRate,
    channels,
    codec: opts.codec,
    transparent: opts.transparent,
    crf: opts.crf,
    preset: opts.preset,
    force: opts.force,
    format: opts.format,
    outputArgs: opts.outputArgs,
    inputs: [opts.input],
    audioFrom: keepAudio ? { path: opts.input, from: opts.from, to: opts.to, streams: info.audio } : undefined,
    videoDelay: !opts.from && lead > frameSec / 2 ? lead : undefined,
  };
}
