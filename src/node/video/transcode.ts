/**
 * Video file → processors → video file: probe the input, check the output, decode with ffmpeg,
 * run the processors, encode with ffmpeg (audio kept), move the result into place. Decoding,
 * processing and encoding overlap (framePipeline.ts). Any failure or an abort stops both ffmpeg
 * processes and removes the temporary output, so a half-written file never appears.
 */
import type { Frame } from '../../core/frame.js';
import type { FrameProcessor } from '../../core/processor.js';
import { findFfmpeg, type FfmpegOptions } from './ffmpegPath.js';
import { runFramePipeline, type PipelineTimings } from './framePipeline.js';
import { probeVideo, type Rational, type VideoInfo } from './probe.js';
import { checkVideoOutput, openVideoSink, planVideoSink, type VideoSink, type VideoSinkOptions, type VideoSinkResult } from './sink.js';
import { openVideoSource, type VideoSource } from './source.js';

export interface ProcessVideoOptions
  extends FfmpegOptions,
    Pick<VideoSinkOptions, 'codec' | 'transparent' | 'crf' | 'preset' | 'force' | 'format' | 'outputArgs'> {
  input: string;
  output: string;
  /** Run on every frame, in order (each gets the previous one's output). */
  processors?: FrameProcessor[];
  /** Channels decoded from the input (default 3; 4 keeps the input's alpha). Processors may change it; the output takes what they give. */
  inputChannels?: 3 | 4;
  /** Only this time range of the input, seconds. */
  from?: number;
  to?: number;
  /** Keep the input's audio (default true). */
  audio?: boolean;
  /** Frames allowed between stages (default 2). */
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
  /** Per-stage time, ms (see PipelineTimings), plus setup (probe, process start) and finish (encoder flush, rename). */
  timings: PipelineTimings & { setupMs: number; finishMs: number };
  sink: VideoSinkResult;
  inputInfo: VideoInfo;
}

/**
 * Process a video file. Rejects with VideoInputError (bad input), OutputError (bad output path),
 * VideoSourceError (input damaged partway: names the frame), VideoSinkError (encoder failure),
 * FfmpegNotFoundError, a processor's own error, or the abort reason.
 */
export async function processVideo(opts: ProcessVideoOptions): Promise<VideoSummary> {
  const t0 = performance.now();
  const { input, output } = opts;
  const processors = opts.processors ?? [];
  const manage = opts.manageProcessors ?? true;
  const ff: FfmpegOptions = { ffmpegPath: opts.ffmpegPath, ffprobePath: opts.ffprobePath };

  findFfmpeg(ff); // no ffmpeg: fail before probing, with the message saying how to get one
  const info = opts.info ?? (await probeVideo(input, ff));
  // Fail fast on the output before decoding anything (the sink checks again when it opens).
  await checkVideoOutput(output, { force: opts.force, inputs: [input] });
  planVideoSink({ ...sinkOptions(opts, info, info.width, info.height, opts.transparent ? 4 : 3) }, []);

  let source: VideoSource | null = null;
  let sink: VideoSink | null = null;
  let sinkOpening: Promise<VideoSink> | null = null;
  const initialised: FrameProcessor[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled([source?.close(), sinkOpening?.then((s) => s.abort())]);
  };

  try {
    if (manage) {
      for (const p of processors) {
        await p.init?.();
        initialised.push(p);
      }
    }
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
    const reuse = processors.length === 0 || opts.reuseFrameBuffers === true;
    const setupMs = performance.now() - t0;

    // The sink opens on the first processed frame: processors decide the output's size and channels.
    const write = async (frame: Frame): Promise<void> => {
      if (!sinkOpening) {
        sinkOpening = openVideoSink(sinkOptions(opts, info, frame.width, frame.height, frame.channels, src.info.frameRate));
      }
      sink ??= await sinkOpening;
      await sink.write(frame);
    };

    const result = await runFramePipeline({
      frames: src.frames(),
      processors,
      write,
      depth: opts.queueDepth,
      signal: opts.signal,
      onError: () => void stopAll(),
      onWritten: reuse ? (inputFrame) => src.recycle(inputFrame) : undefined,
      onFrame: opts.onProgress ? (done, fps) => opts.onProgress!(done, total, fps) : undefined,
    });
    const tFinish = performance.now();
    if (!sink) {
      throw new Error(`${input}: no frames were decoded${opts.from !== undefined ? ` in the range ${opts.from}–${opts.to ?? 'end'} s` : ''}`);
    }
    const sinkResult = await (sink as VideoSink).finish();
    const finishMs = performance.now() - tFinish;
    const seconds = (performance.now() - t0) / 1000;
    return {
      input,
      output,
      frames: result.frames,
      expectedFrames: total,
      width: sinkResult.width,
      height: sinkResult.height,
      frameRate: src.info.frameRate,
      fps: result.frames / seconds,
      seconds,
      timings: { ...result.timings, setupMs, finishMs },
      sink: sinkResult,
      inputInfo: info,
    };
  } catch (err) {
    await stopAll();
    throw err;
  } finally {
    if (manage) {
      for (const p of initialised.reverse()) {
        try {
          await p.close?.();
        } catch {
          // a processor failing to close must not hide the real outcome
        }
      }
    }
  }
}

function sinkOptions(opts: ProcessVideoOptions, info: VideoInfo, width: number, height: number, channels: 3 | 4, fps?: Rational): VideoSinkOptions {
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
