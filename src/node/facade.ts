/**
 * The library's face on Node (createBackdrop): photos, video files and live streams. Create once,
 * process many: files, Buffers and raw frames in and out; the model is converted and loaded once
 * per Backdrop. Video files and cameras get an effect of their own per stream (`streamEffect`),
 * which smooths the mask over time.
 */
import { readFile } from 'node:fs/promises';
import { now } from '../core/clock.js';
import { BackgroundEffect, type Effect, type EffectOptions, type StageTimings } from '../core/effect.js';
import type { Frame, Mask } from '../core/frame.js';
import { BUILTIN_MODELS, type BuiltinModel, type ModelSpec } from '../core/modelSpec.js';
import type { Fit } from '../core/resize.js';
import type { InferenceBackend } from '../core/runtime.js';
import { Segmenter } from '../core/segmenter.js';
import { streamChain, type StreamOptions } from '../core/streamChain.js';
import type { TemporalOptions } from '../core/temporal.js';
import { maskToGray } from '../core/composite.js';
import { loadBackgroundImages } from './imageFolder.js';
import { decodeImage, DEFAULT_MAX_PIXELS, encodeGray, encodeImage, type ImageFormat } from './imageIO.js';
import { loadBuiltinModel } from './models.js';
import { defaultNodeBackend } from './onnxBackend.js';
import { writeFileAtomic } from './safeWrite.js';
import { openBackgroundVideo } from './video/backgroundVideo.js';
import { compositeUnsupported, ffmpegRenderer } from './video/ffmpegRenderer.js';
import { processVideo, type ProcessVideoOptions } from './video/nodeRenderer.js';
import { renderVideo, type VideoSummary } from './video/renderer.js';

/** A user's own ONNX model and what it expects. */
export interface CustomModel {
  onnx: string | Uint8Array;
  spec: ModelSpec;
}

/**
 * An image background may be given as a file or folder path (loaded once; `intervalMs` cycles a
 * folder's images in videos and cameras), and a video background as a file path (looped).
 */
export type PhotoEffect = Effect | { type: 'image'; path: string; fit?: Fit; intervalMs?: number } | { type: 'video'; path: string; fit?: Fit };

/** A video file through the stream effect: processVideo's options, without the processors, plus the stream's. */
export type BackdropVideoOptions = Omit<ProcessVideoOptions, 'input' | 'output' | 'processors'> & StreamOptions;

export interface BackdropOptions extends Omit<EffectOptions, 'effect'> {
  /** Default: blur 50. */
  effect?: PhotoEffect;
  /** 'general' (default), 'landscape', or your own ONNX model. */
  model?: BuiltinModel | CustomModel;
  /** Default: onnxruntime-node on the CPU, or onnxruntime-web (WebAssembly) when onnxruntime-node is not installed (onWarning says so). */
  backend?: InferenceBackend;
  /** Largest image accepted, in pixels (default 100 MP). */
  maxPixels?: number;
  /** Called with a one-line warning, e.g. a skipped file in a background folder, or the runtime fallback. */
  onWarning?: (message: string) => void;
  /**
   * Temporal smoothing of the mask. `effect` (photos, processFrame) smooths only when this is
   * given; video files and cameras (streamEffect, processVideo, live) smooth unless it is false.
   */
  temporal?: EffectOptions['temporal'];
}

export interface EncodeOptions {
  format?: ImageFormat;
  quality?: number;
}

export interface FileResult {
  input: string;
  output: string;
  width: number;
  height: number;
  /** Milliseconds per stage for this file. */
  timings: StageTimings & { decode: number; encode: number; total: number };
}

export class Backdrop {
  private constructor(
    /** The frame processor; usable directly in a video Engine. */
    readonly effect: BackgroundEffect,
    private readonly segmenter: Segmenter,
    private readonly maxPixels: number,
    /** Streams' smoothing unless a stream says otherwise: the options' `temporal`, else on. */
    private readonly streamTemporal: TemporalOptions | boolean,
  ) {}

  static async create(options: BackdropOptions = {}): Promise<Backdrop> {
    const backend = options.backend ?? (await defaultNodeBackend(options.onWarning));
    const { onnx, spec } = await resolveModel(options.model ?? 'general');
    const segmenter = await Segmenter.create(backend, onnx, spec);
    const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
    const effect = await resolveEffect(options.effect ?? { type: 'blur', strength: 50 }, maxPixels, options.onWarning);
    return new Backdrop(new BackgroundEffect(segmenter, { ...options, effect }), segmenter, maxPixels, options.temporal ?? true);
  }

  get model(): ModelSpec {
    return this.segmenter.spec;
  }

  /** The effect applied to a raw frame (RGB or RGBA). */
  processFrame(frame: Frame): Promise<Frame> {
    return this.effect.process(frame);
  }

  /** The refined person mask for a raw frame. */
  mask(frame: Frame): Promise<Mask> {
    return this.effect.mask(frame);
  }

  /** Encoded image in → encoded image out (PNG for transparent and mask output unless told otherwise). */
  async processBuffer(input: Buffer | Uint8Array, options: EncodeOptions = {}): Promise<Buffer> {
    return (await this.run(Buffer.from(input.buffer, input.byteOffset, input.byteLength), options, 'buffer')).bytes;
  }

  /** Reads `input`, writes `output` atomically (never over an input, never over an existing file without `force`). */
  async processFile(input: string, output: string, options: EncodeOptions & { force?: boolean } = {}): Promise<FileResult> {
    const start = now();
    const { bytes, width, height, timings } = await this.run(input, options, input);
    const t0 = now();
    await writeFileAtomic(output, bytes, { force: options.force, inputs: [input] });
    timings.encode += now() - t0;
    return { input, output, width, height, timings: { ...timings, total: now() - start } };
  }

  /** Advances a background folder to its n-th image (used in turn across a batch). */
  setBackgroundIndex(index: number): void {
    this.effect.setBackgroundIndex(index);
  }

  /**
   * A BackgroundEffect for one video or camera stream: the same model, settings and background as
   * `effect`, and temporal smoothing on (TemporalSmoother's defaults) unless `temporal` here or in
   * createBackdrop's options says otherwise. Photos keep `effect`, which smooths only when asked.
   */
  streamEffect(temporal: TemporalOptions | boolean = this.streamTemporal): BackgroundEffect {
    // Streams make their masks at a working size (streamMask.ts): guided edges by default, as photos.
    const { settings } = this.effect;
    // A background video plays along each stream's own clock: every stream gets its own copy.
    const fx = settings.effect;
    const effect = fx?.type === 'video' && fx.source.fork ? { ...fx, source: fx.source.fork() } : fx;
    return new BackgroundEffect(this.segmenter, { ...settings, effect, temporal });
  }

  /**
   * Processes a video file with a fresh stream effect (smoothing and guided edges by default),
   * optionally mirrored first and with the FPS meter drawn (see StreamOptions); audio kept. The
   * renderer is chosen here, once: when the effect (on the mirrored picture or not) is all there
   * is to do and ffmpeg can draw it (compositeUnsupported), ffmpeg composites (ffmpegRenderer);
   * otherwise (the FPS meter, processors of your own, an effect range) frames go through Node
   * (nodeRenderer, processVideo).
   */
  processVideo(input: string, output: string, options: BackdropVideoOptions = {}): Promise<VideoSummary> {
    const { temporal, flip, fps, processors, ...video } = options;
    const effect = this.streamEffect(temporal);
    // Just the effect (on the mirrored picture with `flip`), on every frame: ffmpeg composites
    // (full-size pixels never enter Node).
    if (!fps && !processors?.length && !video.range && compositeUnsupported(effect) === null) {
      const { info, from, to, audio, leadIn, codec, crf, preset, force, outputArgs, signal, onProgress, ffmpegPath, ffprobePath } = video;
      return renderVideo({ input, output, info, from, to, audio, leadIn, codec, crf, preset, force, outputArgs, signal, onProgress, ffmpegPath, ffprobePath }, ffmpegRenderer(effect, { flip }));
    }
    const chain = streamChain(effect, { flip, fps, processors });
    return processVideo({ ...video, input, output, processors: chain.processors });
  }

  async close(): Promise<void> {
    await this.effect.close();
    await this.segmenter.close();
  }

  private async run(input: string | Buffer, options: EncodeOptions, name: string) {
    const kind = this.effect.effect.type;
    const t0 = now();
    // Keep the photo's own alpha only where the output can store it (JPEG cannot).
    const keepAlpha = kind !== 'mask' && options.format !== 'jpeg';
    const decoded = await decodeImage(input, { maxPixels: this.maxPixels, keepAlpha, name });
    const t1 = now();
    this.effect.resetTimings();
    const format = options.format ?? (kind === 'transparent' || kind === 'mask' ? 'png' : defaultFormat(decoded.format, decoded.hasAlpha));
    let bytes: Buffer;
    let encodeMs: number;
    if (kind === 'mask') {
      const mask = await this.effect.mask(decoded.frame);
      const t2 = now();
      bytes = await encodeGray(maskToGray(mask), mask.width, mask.height, format === 'avif' ? 'png' : format);
      encodeMs = now() - t2;
    } else {
      const frame = await this.effect.process(decoded.frame);
      const t2 = now();
      bytes = await encodeImage(frame, format, { quality: options.quality });
      encodeMs = now() - t2;
    }
    const timings = { ...this.effect.timings, decode: t1 - t0, encode: encodeMs, total: 0 };
    return { bytes, width: decoded.width, height: decoded.height, timings };
  }
}

/** Keep the input's format where we can write it; PNG otherwise (e.g. GIF or SVG input, or a JPEG-named file with alpha). */
function defaultFormat(inputFormat: string, hasAlpha: boolean): ImageFormat {
  const known: Record<string, ImageFormat> = { jpeg: 'jpeg', jpg: 'jpeg', png: 'png', webp: 'webp', avif: 'avif', heif: 'avif', tiff: 'tiff' };
  const format = known[inputFormat] ?? 'png';
  return format === 'jpeg' && hasAlpha ? 'png' : format;
}

export function createBackdrop(options?: BackdropOptions): Promise<Backdrop> {
  return Backdrop.create(options);
}

async function resolveModel(model: BuiltinModel | CustomModel): Promise<{ onnx: Uint8Array; spec: ModelSpec }> {
  if (typeof model === 'string') {
    if (!BUILTIN_MODELS.includes(model)) throw new RangeError(`unknown model "${model}": use ${BUILTIN_MODELS.join(', ')} or a .onnx file`);
    return loadBuiltinModel(model);
  }
  const onnx = typeof model.onnx === 'string' ? await readFile(model.onnx) : model.onnx;
  return { onnx, spec: model.spec };
}

async function resolveEffect(effect: PhotoEffect, maxPixels: number, onWarning?: (m: string) => void): Promise<Effect> {
  if (effect.type === 'image' && 'path' in effect) {
    const images = await loadBackgroundImages(effect.path, { maxPixels, onWarning: onWarning ?? (() => {}) });
    return { type: 'image', images, fit: effect.fit, intervalMs: effect.intervalMs };
  }
  if (effect.type === 'video' && 'path' in effect) {
    return { type: 'video', source: await openBackgroundVideo(effect.path, { fit: effect.fit }), fit: effect.fit };
  }
  return effect;
}
