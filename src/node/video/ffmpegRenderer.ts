/**
 * Video files, fast: Node segments, ffmpeg composites.
 *
 * Full-resolution pixels never enter Node. One ffmpeg decodes the input at the stream's working
 * size (streamMask.ts: longer side 512, a few hundred KB a frame instead of megabytes); Node runs
 * the model on crops of that, the temporal smoothing and the guided edges, and sends back one
 * RGBA frame of the mask's size (longer side 256) per input frame: the person mask in alpha and,
 * for blur, the background blurred with the person weighted out (no halo) in RGB. The encoding
 * ffmpeg does the rest in C, in the input's YUV: upsamples the mask (bilinear), applies the soft edge
 * (a lookup table), upsamples the blurred background and blends the person over the new
 * background (maskedmerge), then encodes, with the sound kept as in processVideo. What ffmpeg does
 * is ffmpegGraph.ts; what Node sends it per frame, framePacking.ts.
 *
 * The input is decoded once: the decoding ffmpeg writes each frame twice, small to Node and full
 * size straight to the encoding ffmpeg (a pipe between the two, never through Node: ffmpegGraph.ts
 * `main: 'pipe'`). Frames are matched by position, both outputs being one constant-rate sequence
 * (`fps=R`, the job's range). Neither side can wait on the other for long: at most the Engine's
 * frames in flight and the source's queue (3 + 2) separate a small frame from its mask, fewer than
 * the full frames the encoder's input queue holds (8, plus the pipe), and each pipe input is read
 * one frame ahead when it opens (PROBE_ONE_FRAME). Where the frames cannot be piped (a mask
 * output reads none; Windows), the encoding ffmpeg decodes the input again, into the same sequence
 * (`fps=R` on the same input, same range, restarted at timestamp 0).
 *
 * Edges are the stream's guided or bilinear ones (no light wrap); `bilateral` and `none` edges and
 * frame processors go through processVideo. `compositeUnsupported` says which effects this can
 * render: blur, a colour, one image, a background video (which the encoding ffmpeg decodes and
 * loops itself), the cut-out and the mask.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageNow } from '../../core/clock.js';
import { DEFAULT_REFINE, type BackgroundEffect } from '../../core/effect.js';
import type { Frame } from '../../core/frame.js';
import { fitBackground } from '../../core/resize.js';
import { streamMaskSize, streamWorkSize } from '../../core/streamMask.js';
import { BackgroundVideo } from './backgroundVideo.js';
import { canPipeFrames, compositeGraph, framePipeOutput, type CompositeGraphSpec } from './ffmpegGraph.js';
import { backgroundBlur, packBlurred, repackMask } from './framePacking.js';
import type { VideoJobOptions } from './job.js';
import { formatRational, type Rational } from './probe.js';
import { renderVideo, type Renderer, type VideoSummary } from './renderer.js';
import { openVideoSink, type VideoSink } from './sink.js';
import { openVideoSource, type VideoSource } from './source.js';

/** Why this effect cannot be composited in ffmpeg, or null when it can. */
export function compositeUnsupported(effect: BackgroundEffect): string | null {
  if (!effect.streamEdges) {
    const { refine = DEFAULT_REFINE, temporal } = effect.settings;
    return temporal === undefined ? "a photo's effect has no stream masks (use Backdrop.streamEffect())" : `--refine ${refine} edges are computed in Node`;
  }
  const fx = effect.effect;
  if (fx.type === 'color' && fx.color[3] !== 255) return 'a see-through colour is blended in Node';
  if (fx.type === 'image' && fx.images.length !== 1) return 'cycling several background images happens in Node';
  if (fx.type === 'video' && !(fx.source instanceof BackgroundVideo)) return 'a background from a provider of your own is composited in Node';
  return null;
}

export interface CompositeVideoOptions extends Pick<VideoJobOptions, 'input' | 'output' | 'from' | 'to' | 'audio' | 'onProgress' | 'signal' | 'info' | 'codec' | 'crf' | 'preset' | 'force' | 'outputArgs' | 'ffmpegPath' | 'ffprobePath'> {
  /** Gives the model, the smoothing, the mask options and the effect (see compositeUnsupported). */
  effect: BackgroundEffect;
  /** Mirror the picture left to right first. */
  flip?: boolean;
}

/** Process a video file with the effect composited by ffmpeg. Same outcome and errors as processVideo. */
export function compositeVideo(opts: CompositeVideoOptions): Promise<VideoSummary> {
  const unsupported = compositeUnsupported(opts.effect);
  if (unsupported) return Promise.reject(new RangeError(`cannot composite this effect in ffmpeg: ${unsupported}`));
  return renderVideo(opts, ffmpegRenderer(opts.effect, { flip: opts.flip }));
}

/**
 * The decoding ffmpeg's filter: the input as the constant-rate sequence the compositing ffmpeg
 * reads, at the stream's working size (streamWorkSize), mirrored when `flip`. Scaled in YUV and
 * converted to RGB at the small size: a third of the cost of both in one step.
 */
export function workFrameFilter(frameRate: Rational, width: number, height: number, flip = false): string {
  const { width: w, height: h } = streamWorkSize(width, height);
  return `fps=${formatRational(frameRate)},scale=${w}:${h}:flags=bilinear,format=yuv420p${flip ? ',hflip' : ''}`;
}

/**
 * The frames, with a failure the encoder caused reported as the encoder's: when the encoding
 * ffmpeg quits, the decoder writing it full frames fails too (a broken pipe), maybe first.
 */
async function* encoderFirst(frames: AsyncIterableIterator<Frame>, sink: VideoSink): AsyncGenerator<Frame> {
  try {
    yield* frames;
  } catch (err) {
    throw (await sink.quitError(1000)) ?? err;
  }
}

/**
 * The renderer for an effect compositeUnsupported accepts (the caller has checked). `flip` mirrors
 * the picture first, as FlipProcessor does ahead of the effect on Node's path: the model sees the
 * mirrored picture and the mirrored picture is composited.
 */
export function ffmpegRenderer(effect: BackgroundEffect, { flip = false }: { flip?: boolean } = {}): Renderer {
  const fx = effect.effect;
  return {
    transparent: fx.type === 'transparent',
    async open(job) {
      const { info, input } = job;
      const { width: W, height: H, frameRate } = info;
      // Node works on the frames at the stream's working size and sends its mask back at the mask size.
      const { width: mw, height: mh } = streamMaskSize(W, H);
      let raw: string | null = null;
      const cleanup = async (): Promise<void> => {
        if (raw) await rm(raw, { force: true });
      };
      let source: VideoSource | null = null;
      let sink: VideoSink | null = null;
      try {
        let render: CompositeGraphSpec['render'];
        if (fx.type === 'image') {
          // Decoded by sharp (EXIF orientation honoured) and fitted like photos, handed over raw.
          const still = fitBackground(fx.images[0], W, H, fx.fit ?? 'cover');
          raw = join(tmpdir(), `backdrop-background-${process.pid}-${randomBytes(6).toString('hex')}.raw`);
          await writeFile(raw, still.data);
          render = { kind: 'image', raw, channels: still.channels };
        } else if (fx.type === 'video' && fx.source instanceof BackgroundVideo) {
          // Decoded, looped and fitted by the encoding ffmpeg itself; a file it cannot decode at all
          // fails here, as on Node's path, rather than leave the encoder waiting for a picture.
          await fx.source.checkReadable();
          render = { kind: 'video', path: fx.source.path, fit: fx.source.fit, colorSpace: fx.source.info.colorSpace };
        } else if (fx.type === 'color') {
          render = { kind: 'color', rgb: [fx.color[0], fx.color[1], fx.color[2]] };
        } else if (fx.type === 'blur' || fx.type === 'transparent' || fx.type === 'mask') {
          render = { kind: fx.type };
        } else {
          throw new RangeError(`cannot composite a ${fx.type} background in ffmpeg`);
        }
        const graph = compositeGraph({
          width: W,
          height: H,
          maskWidth: mw,
          maskHeight: mh,
          frameRate,
          input,
          from: job.from,
          to: job.to,
          // Decoded once: the decoder sends the full frames straight to the encoder (not on Windows,
          // whose pipes this hand-over is not written for).
          main: process.platform !== 'win32' && canPipeFrames(render.kind, info.pixelFormat) ? 'pipe' : 'file',
          colorSpace: info.colorSpace,
          flip,
          render,
          ...effect.streamEdge,
        });
        const sourceOptions = {
          tools: job.tools,
          info,
          channels: 3 as const,
          from: job.from,
          to: job.to,
          signal: job.signal,
          outputArgs: ['-vf', workFrameFilter(frameRate, W, H, flip)],
          // One thread decodes up to 1080p far faster than the encoder needs and spends ~15 % less CPU
          // than frame threads, CPU the encoder on the other side can use.
          decoderThreads: W * H <= 1920 * 1080 ? 1 : undefined,
        };
        if (graph.framePipe) {
          // The encoder first: the decoder is given its frame pipe (and then starts, its start-up
          // overlapping the encoder's).
          sink = await openVideoSink({ ...job.sink, graph }, job.plan);
          const encoder = sink;
          source = await openVideoSource(input, { ...sourceOptions, alsoTo: { to: encoder.framePipe!, outputArgs: framePipeOutput(frameRate) } }).catch(async (err: unknown) => {
            throw (await encoder.quitError(1000)) ?? err;
          });
        } else {
          // Both ffmpegs start together: the encoder's start-up (libraries, inputs, x264) overlaps the
          // decoder's instead of following it.
          const opened = await Promise.allSettled([openVideoSource(input, sourceOptions), openVideoSink({ ...job.sink, graph }, job.plan)]);
          if (opened[0].status === 'fulfilled') source = opened[0].value;
          if (opened[1].status === 'fulfilled') sink = opened[1].value;
          if (opened[0].status === 'rejected') throw opened[0].reason;
          if (opened[1].status === 'rejected') throw opened[1].reason;
        }
      } catch (err) {
        await Promise.allSettled([source?.close(), sink?.abort()]);
        await cleanup();
        throw err;
      }
      const src = source!;
      const out = sink!;
      const blurStrength = fx.type === 'blur' ? fx.strength : null;
      let lastBlurred: Uint8Array | null = null;
      let waitMs = 0;
      // Packed frames' buffers, back here once ffmpeg's pipe has taken them: a few for the whole video instead of one a frame.
      const spare: Uint8Array[] = [];
      return {
        source: { frames: () => encoderFirst(src.frames(), out), close: () => src.close() },
        processors: [
          {
            process: async (small: Frame) => {
              const mask = await effect.streamMask(small);
              const t = stageNow();
              // The blur starts from the working frame already halved to the mask's size (the guided
              // edges' guide). A frame that went without the model is a steady one: it keeps the last
              // blurred background, as packed (the person and the picture moved less than the blur's
              // reach), with its own mask.
              let packed: Frame;
              if (blurStrength === null) packed = packBlurred(mask, null, spare.pop(), small.timestamp);
              else if (lastBlurred && effect.predicted) packed = repackMask(mask, lastBlurred, spare.pop(), small.timestamp);
              else {
                packed = packBlurred(mask, backgroundBlur(effect.streamGuide(), mask, blurStrength, W, H), spare.pop(), small.timestamp);
                lastBlurred = lastBlurred?.length === packed.data.length ? lastBlurred : new Uint8Array(packed.data.length);
                lastBlurred.set(packed.data);
              }
              // Node's share of the compositing (the blurred background, the mask's bytes).
              effect.timings.composite += stageNow() - t;
              src.recycle(small);
              effect.frames++;
              return packed;
            },
          },
        ],
        sink: {
          write: async (frame) => {
            const t = performance.now();
            await out.writeRaw(frame.data as Uint8Array);
            waitMs += performance.now() - t;
            spare.push(frame.data as Uint8Array);
          },
          finish: async () => undefined,
          abort: async () => undefined,
        },
        expectedFrames: src.expectedFrames,
        // The output is finished only when some frame was written (else the job reports no frames).
        finish: async (summary) => (summary.framesOut === 0 ? undefined : out.finish()),
        waits: () => ({ decodeWaitMs: 0, encodeWaitMs: waitMs }),
        abort: async () => {
          await Promise.allSettled([src.close(), out.abort()]);
        },
        cleanup,
      };
    },
  };
}
