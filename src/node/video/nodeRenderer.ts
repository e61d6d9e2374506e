/**
 * Node compositing: video file → processors → video file. ffmpeg decodes full frames into Node,
 * the processors (the effect, a mirror, the FPS meter, a user's own) run on each on the core
 * Engine, and an encoding ffmpeg takes the result, audio kept. Decoding, processing and encoding
 * overlap (the Engine's three loops). The general path: any effect, any refinement, frame ranges.
 */
import type { FrameRange, FrameSink } from '../../core/engine.js';
import type { FrameProcessor } from '../../core/processor.js';
import type { VideoJobOptions } from './job.js';
import { renderVideo, type Renderer, type VideoSummary } from './renderer.js';
import { openVideoSink } from './sink.js';
import { openVideoSource } from './source.js';
import { VideoFrameSink } from './videoFrameSink.js';
import { VideoFrameSource } from './videoFrameSource.js';

/** What Node compositing takes beyond the job's options. */
export interface NodeRenderOptions {
  /** Run on every frame, in order (each gets the previous one's output). */
  processors?: FrameProcessor[];
  /** Channels decoded from the input (default 3; 4 keeps the input's alpha). Processors may change it; the output takes what they give. */
  inputChannels?: 3 | 4;
  /** Frames read ahead of the one being written (default 2). */
  queueDepth?: number;
  /** `fail` (default) or `conceal` damaged input data. */
  onDecodeError?: 'fail' | 'conceal';
  /**
   * Reuse decoded frame buffers once a frame is written. Always done when there are no processors;
   * with processors only when this is true — set it when no processor keeps a reference to the
   * frames it is given (most don't: they return new frames and keep at most masks).
   */
  reuseFrameBuffers?: boolean;
  /** Call processors' init()/close() (default true). */
  manageProcessors?: boolean;
}

export interface ProcessVideoOptions extends VideoJobOptions, NodeRenderOptions {}

/**
 * Process a video file. Rejects with VideoInputError (bad input), OutputError (bad output path),
 * VideoSourceError (input damaged partway: names the frame), VideoSinkError (encoder failure),
 * FfmpegNotFoundError, a processor's own error, or the abort reason.
 */
export function processVideo(opts: ProcessVideoOptions): Promise<VideoSummary> {
  return renderVideo(opts, nodeRenderer(opts));
}

/** Has a history of earlier frames to forget (BackgroundEffect's temporal smoothing, its background's clock). */
interface Resettable {
  resetTemporal(): void;
}
const isResettable = (p: FrameProcessor): p is FrameProcessor & Resettable => typeof (p as Partial<Resettable>).resetTemporal === 'function';

export function nodeRenderer(opts: NodeRenderOptions): Renderer {
  const processors = opts.processors ?? [];
  return {
    async open(job) {
      // A processor used for an earlier file (a batch) must not carry that file's history into this one.
      for (const p of processors) if (isResettable(p)) p.resetTemporal();
      const source = await openVideoSource(job.input, {
        tools: job.tools,
        info: job.info,
        channels: opts.inputChannels ?? 3,
        from: job.from,
        to: job.to,
        onDecodeError: opts.onDecodeError,
        signal: job.signal,
      });
      const decoded = new VideoFrameSource(source, processors.length === 0 || opts.reuseFrameBuffers === true);
      const planned = job.sink;
      const encoder = new VideoFrameSink(
        // The output was planned for frames of the input's size; a processor that changes the size or channels gets its own plan.
        (width, height, channels) =>
          width === planned.width && height === planned.height && channels === planned.channels
            ? openVideoSink(planned, job.plan)
            : openVideoSink({ ...planned, width, height, channels }),
        job.sink.transparent ? 4 : undefined,
      );
      // A range that no frame falls in (it starts past the end) would write an untouched copy: an
      // error instead, before the output is committed (the job's failure path removes it).
      const range = job.range;
      let inRange = 0;
      let framesIn = 0;
      const sink: FrameSink = range
        ? {
            write: (f) => encoder.write(f),
            finish: async () => {
              if (inRange === 0) throw emptyRange(job.input, range, framesIn);
              await encoder.finish();
            },
            abort: () => encoder.abort(),
          }
        : encoder;
      return {
        source: decoded,
        // Unmanaged processors are hidden behind a plain process() so the Engine neither inits nor closes them.
        processors: opts.manageProcessors === false ? processors.map((p) => ({ process: (f) => p.process(f) }) satisfies FrameProcessor) : processors,
        sink,
        expectedFrames: source.expectedFrames,
        maxInFlight: (opts.queueDepth ?? 2) + 1,
        onFrame: (s) => {
          if (s.processed) inRange++;
          framesIn = s.framesIn;
          decoded.release(s.index);
        },
        finish: async () => encoder.result,
        waits: () => ({ decodeWaitMs: decoded.waitMs, encodeWaitMs: encoder.waitMs }),
        abort: async () => {
          await Promise.allSettled([decoded.close(), encoder.abort()]);
        },
      };
    },
  };
}

/** A frame range that none of the video's frames fall in. */
function emptyRange(input: string, range: FrameRange, frames: number): Error {
  const at = (n: number) => (range.unit === 'frame' ? `frame ${n}` : `${n / 1000} s`);
  const span = `${range.from !== undefined ? `from ${at(range.from)}` : 'from the start'}${range.to !== undefined ? ` to ${at(range.to)}` : ''}`;
  return new Error(`${input}: the effect range (${span}) holds none of the video's ${frames} frames: it starts past the end`);
}
