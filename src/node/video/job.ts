/**
 * A video job, built once at its entry: ffmpeg and ffprobe found (once per process, tools.ts), the
 * input probed once, the output checked and its sink planned once, the renderer chosen by the
 * caller. Everything after (renderer.ts runVideoJob, the renderers, the source and sink) reads
 * these facts from the job and never looks them up again.
 */
import type { FrameRange } from '../../core/engine.js';
import type { FfmpegOptions, VideoTools } from './ffmpegPath.js';
import { probeVideo, type VideoInfo } from './probe.js';
import type { Renderer } from './renderer.js';
import { checkVideoOutput } from './sink.js';
import { planVideoSink, type SinkPlan, type VideoSinkOptions } from './sinkPlan.js';
import { videoTools } from './tools.js';

/** What every video file job takes, whichever renderer draws it. */
export interface VideoJobOptions extends FfmpegOptions, Pick<VideoSinkOptions, 'codec' | 'transparent' | 'crf' | 'preset' | 'force' | 'format' | 'outputArgs'> {
  input: string;
  output: string;
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
  /**
   * Frames at the start of the range that are processed but not written (default 0): a segment's
   * lead-in (segmentPlan.ts), which warms up the temporal smoothing and ROI tracking so that the
   * segment's first written frame is masked as in a run that read everything before it.
   */
  leadIn?: number;
  /** After each frame is written. `total` is undefined when the input does not tell its length. */
  onProgress?: (done: number, total: number | undefined, fps: number) => void;
  /** Abort: both ffmpeg processes are stopped and the temporary output removed; rejects with the abort reason. */
  signal?: AbortSignal;
  /** Facts already probed for `input` (saves probing it again). */
  info?: VideoInfo;
}

export interface VideoJob {
  readonly input: string;
  readonly output: string;
  readonly tools: VideoTools;
  readonly info: VideoInfo;
  /** The time range read, seconds. */
  readonly from?: number;
  readonly to?: number;
  /** The frames the processors run on (Node compositing only). */
  readonly range?: FrameRange;
  /** Frames read and processed first but not written (a segment's lead-in). */
  readonly leadIn: number;
  /** The output for frames of the input's size, and its plan. */
  readonly sink: VideoSinkOptions;
  readonly plan: SinkPlan;
  readonly renderer: Renderer;
  readonly signal?: AbortSignal;
  readonly onProgress?: VideoJobOptions['onProgress'];
  /** performance.now() when the job started. */
  readonly startedAt: number;
}

/**
 * Build a job: fails before any decoding on a missing ffmpeg (FfmpegNotFoundError), a bad input
 * (VideoInputError), a bad output path (OutputError) or bad encoder options (VideoSinkError).
 */
export async function createVideoJob(opts: VideoJobOptions, renderer: Renderer): Promise<VideoJob> {
  const startedAt = performance.now();
  const tools = videoTools(opts); // no ffmpeg: fail before probing, with the message saying how to get one
  const info = opts.info ?? (await probeVideo(opts.input, { tools }));
  // Fail fast on the output before decoding anything (the sink checks again when it opens).
  await checkVideoOutput(opts.output, { force: opts.force, inputs: [opts.input] });
  const transparent = renderer.transparent ?? opts.transparent;
  const sink = sinkOptions({ ...opts, transparent }, tools, info, info.width, info.height, transparent ? 4 : 3);
  const plan = planVideoSink(sink);
  const { input, output, from, to, range, signal, onProgress } = opts;
  return { input, output, tools, info, from, to, range, leadIn: sink.skipFrames ?? 0, sink, plan, renderer, signal, onProgress, startedAt };
}

/** The sink options for a job whose frames are width × height × channels: encoder settings, and the input's sound kept in step. */
function sinkOptions(opts: VideoJobOptions, tools: VideoTools, info: VideoInfo, width: number, height: number, channels: 3 | 4): VideoSinkOptions {
  const keepAudio = (opts.audio ?? true) && info.audio.length > 0;
  return {
    tools,
    output: opts.output,
    width,
    height,
    fps: info.frameRate,
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
    videoDelay: keepAudio ? videoDelayFor(info, opts.from) : undefined,
    skipFrames: opts.leadIn || undefined,
  };
}

/**
 * Seconds to delay the video against the sound when the input's video started after its audio
 * (rare; reading from a later `from` starts both together). Undefined when there is nothing to do.
 */
export function videoDelayFor(info: Pick<VideoInfo, 'startTime' | 'formatStartTime' | 'frameRate'>, from?: number): number | undefined {
  const lead = info.startTime - info.formatStartTime;
  const frameSec = info.frameRate.den / info.frameRate.num;
  return !from && lead > frameSec / 2 ? lead : undefined;
}
