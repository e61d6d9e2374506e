/**
 * The background effect: segment a frame, refine the mask against the frame, and render the
 * chosen background. It is a FrameProcessor, so photos, videos and cameras share it.
 */
import type { BackgroundProvider } from './backgroundProvider.js';
import { stageNow } from './clock.js';
import type { RGBA } from './color.js';
import { composite, compositeLowRes, maskToGray, type Background } from './composite.js';
import { createMask, type Frame, type Mask } from './frame.js';
import { guidedRefine, type KeptCoefficients } from './guidedFilter.js';
import { cutout } from './matte.js';
import { upsampleMask } from './postprocess.js';
import type { FrameProcessor } from './processor.js';
import { invertMask, jointBilateralUpsample, smoothstepMask, upsampleBilinear } from './refine.js';
import { boxDownsample, resizeFrame, type Fit } from './resize.js';
import { ROI_MODES, RoiTracker, segmentZoomed, type RoiMode } from './roi.js';
import type { Segmenter } from './segmenter.js';
import { maskSizeOf, streamEdges, streamGuide, streamSoftEdge, streamWorkSize } from './streamMask.js';
import { ModelCadence } from './modelCadence.js';
import { TemporalSmoother, validateTemporalOptions, type TemporalOptions } from './temporal.js';

export type Effect =
  | { type: 'blur'; strength: number }
  /**
   * One image, or several used in turn (`next()`/`previous()` cycle them, like the seed's a/d keys);
   * with `intervalMs`, a video or camera also moves to the next image every so many milliseconds of
   * frame time (frames without timestamps, photos, stay on the selected image).
   */
  | { type: 'image'; images: Frame[]; fit?: Fit; intervalMs?: number }
  /** A moving background (e.g. a looping video): `source` gives the picture behind each frame. */
  | { type: 'video'; source: BackgroundProvider; fit?: Fit }
  | { type: 'color'; color: RGBA }
  /** RGBA cut-out: alpha from the mask, edge colours cleaned of the old background. */
  | { type: 'transparent' }
  /** The mask itself, as a grey frame. */
  | { type: 'mask' };

/**
 * guided: edges follow the picture (guided filter, guidedFilter.ts), the photo default; bilateral:
 * edges follow the picture (joint bilateral upsampling); bilinear: plain upsampling, several
 * times cheaper; none: raw model output, no soft threshold.
 */
export type Refine = 'guided' | 'bilateral' | 'bilinear' | 'none';
export const REFINE_MODES: readonly Refine[] = ['guided', 'bilateral', 'bilinear', 'none'];
/** The refinement when none is asked for (photos; streams choose 'bilinear' themselves). */
export const DEFAULT_REFINE: Refine = 'guided';

export interface MaskOptions {
  /** Centre of the soft edge (the seed's threshold). Default 0.5. */
  threshold?: number;
  /** Width of the soft edge around the threshold, 0 = the seed's hard cut. Default 0.2. */
  softness?: number;
  /**
   * 'guided' (default): the guided filter snaps the edge to the frame's, then a narrower soft edge
   * (see guidedRefine); 'bilateral': edge-aware upsampling guided by the frame, then the soft edge;
   * 'bilinear': plain upsampling, then the soft edge; 'none': the raw upsampled model output.
   */
  refine?: Refine;
  /** Swap person and background. */
  invert?: boolean;
  /**
   * 'auto' (default): people who are small in the frame get a second model pass on a crop around
   * them (roi.ts); 'off': the model sees the whole frame only (with refine 'none', exactly
   * MediaPipe's own output).
   */
  roi?: RoiMode;
}

export interface EffectOptions extends MaskOptions {
  effect: Effect;
  /** How much of a replacement background's light bleeds onto the person's edge, 0..1. Default 0.3. */
  lightWrap?: number;
  /**
   * Temporal smoothing of the mask between consecutive frames (see TemporalSmoother), applied to
   * the model's low-resolution mask before refinement. Off by default (photos); video files and
   * cameras turn it on with `true` (defaults) or options. The frames passed to `mask`/`process`
   * must then be consecutive frames of one stream; call `resetTemporal()` after a seek.
   */
  temporal?: TemporalOptions | boolean;
}

export interface StageTimings {
  preprocess: number;
  inference: number;
  postprocess: number;
  /** Temporal smoothing (0 when it is off). */
  temporal: number;
  refine: number;
  composite: number;
}

export const DEFAULT_THRESHOLD = 0.5;
export const DEFAULT_SOFTNESS = 0.2;
export const DEFAULT_LIGHT_WRAP = 0.3;

export function emptyTimings(): StageTimings {
  return { preprocess: 0, inference: 0, postprocess: 0, temporal: 0, refine: 0, composite: 0 };
}

export class BackgroundEffect implements FrameProcessor {
  /** Accumulated milliseconds per stage since creation (or the last `resetTimings`). */
  timings: StageTimings = emptyTimings();
  frames = 0;
  /**
   * Composite a new background straight into the incoming frame's buffer instead of a copy, for
   * callers whose frames are theirs and fresh each time (a live camera's): the person's pixels
   * are then not copied at all. Default false.
   */
  inPlace = false;
  private options: EffectOptions;
  private imageIndex = 0;
  /** The image last composited (the selected one plus the interval steps since). */
  private shownIndex = 0;
  /** Timestamp where the current interval cycle began; undefined = at the next frame. */
  private cycleStart: number | undefined = undefined;
  private smoother: TemporalSmoother | null = null;
  /** The last frame `streamMask` worked on (the compositor's blur starts from it). */
  private workFrame: Frame | null = null;
  /** The last working frame reduced to the mask size (see `streamGuide`), and whether it is that frame's. */
  private guide: Frame | null = null;
  private guideData: Uint8Array | null = null;
  private guideFresh = false;
  /** The stream's masks are written here (see `streamMask`). */
  private edgesOut: Mask | null = null;
  private readonly coefficients: KeptCoefficients = { reuse: false, data: null, key: '' };
  /** ROI zoom that follows people from frame to frame, for a stream (see `lowResMask`). */
  private readonly tracker = new RoiTracker();
  /** Which stream frames go without the model (see modelCadence.ts), and whether the last one did. */
  private readonly cadence = new ModelCadence();
  private lastPredicted = false;
  /** A stream's masks, reused from frame to frame: the tracked one and the smoothed one. */
  private trackedMask: Mask | null = null;
  private smoothedMask: Mask | null = null;

  constructor(
    readonly segmenter: Segmenter,
    options: EffectOptions,
  ) {
    this.options = validateEffectOptions(options);
    this.smoother = makeSmoother(this.options.temporal);
  }

  setOptions(options: Partial<EffectOptions>): void {
    const before = this.options.temporal;
    this.options = validateEffectOptions({ ...this.options, ...options });
    this.imageIndex = this.shownIndex = 0;
    this.cycleStart = undefined;
    if ('temporal' in options && JSON.stringify(options.temporal) !== JSON.stringify(before)) this.smoother = makeSmoother(this.options.temporal);
  }

  /** A stream's effect is made with `temporal` set (to false when smoothing is off): its frames follow one another. */
  private get isStream(): boolean {
    return this.options.temporal !== undefined;
  }

  /** The temporal smoother in use, or null when smoothing is off. */
  get temporal(): TemporalSmoother | null {
    return this.smoother;
  }

  /** A smoothed stream's frames so far, and how many of them went without the model (modelCadence.ts). */
  get modelSkips(): { skipped: number; frames: number } {
    return { skipped: this.cadence.skips, frames: this.cadence.frames };
  }

  /**
   * Forgets what earlier frames left behind — the mask's temporal history, where a background
   * cycle or a background video started — after a seek, or before an unrelated clip.
   */
  resetTemporal(): void {
    this.smoother?.reset();
    this.tracker.reset();
    this.cycleStart = undefined;
    const { effect } = this.options;
    if (effect.type === 'video') effect.source.reset?.();
  }

  /** Releases a background video's decoder (it starts again if more frames come). */
  async close(): Promise<void> {
    const { effect } = this.options;
    if (effect.type === 'video') await effect.source.close?.();
  }

  get effect(): Effect {
    return this.options.effect;
  }

  /** Selects the background image by position (wraps around); no-op for other effects. */
  setBackgroundIndex(index: number): void {
    const { effect } = this.options;
    if (effect.type !== 'image') return;
    this.imageIndex = this.shownIndex = ((index % effect.images.length) + effect.images.length) % effect.images.length;
    // A chosen image stays for a whole interval.
    this.cycleStart = undefined;
  }

  next(): void {
    this.setBackgroundIndex(this.shownIndex + 1);
  }

  previous(): void {
    this.setBackgroundIndex(this.shownIndex - 1);
  }

  resetTimings(): void {
    this.timings = emptyTimings();
    this.frames = 0;
  }

  /** The options in effect (validated, defaults filled in). */
  get settings(): Readonly<EffectOptions> {
    return this.options;
  }

  /**
   * The person probability over the whole frame at low resolution, temporally smoothed when
   * smoothing is on: what `mask` refines. For renderers that upsample and composite elsewhere
   * (ffmpeg, a GPU). With ROI zoom, a stream's mask keeps the model's output size (the crops are
   * tracked from frame to frame); a photo's may be finer, to keep the detail of a zoomed crop.
   *
   * A stream's mask (the effect made with `temporal`) is the effect's own buffer, overwritten by
   * the next call: use it, or copy it, before asking for the next frame's.
   */
  async lowResMask(frame: Frame): Promise<Mask> {
    const { roi = 'auto' } = this.options;
    let low: Mask;
    if (roi === 'auto' && this.isStream) {
      const { outputWidth, outputHeight } = this.segmenter.spec;
      this.trackedMask = sized(this.trackedMask, outputWidth, outputHeight);
      low = await this.tracker.segment(this.segmenter, frame, this.timings, { width: outputWidth, height: outputHeight }, this.trackedMask);
    } else {
      low = roi === 'off' ? await this.segmenter.segment(frame, this.timings) : await segmentZoomed(this.segmenter, frame, this.timings);
    }
    if (!this.smoother) return low;
    const t = stageNow();
    this.smoothedMask = sized(this.smoothedMask, low.width, low.height);
    const smoothed = this.smoother.apply(low, frame, this.smoothedMask);
    this.timings.temporal += stageNow() - t;
    return smoothed;
  }

  /**
   * Whether this effect makes its masks the stream way (see streamMask.ts): a stream's effect with
   * guided (the default) or bilinear edges. Other edges, and photos, refine at the frame's size.
   */
  get streamEdges(): 'guided' | 'bilinear' | null {
    const { refine = DEFAULT_REFINE } = this.options;
    return this.isStream && (refine === 'guided' || refine === 'bilinear') ? refine : null;
  }

  /**
   * A stream frame's mask (streamMask.ts), at streamMaskSize: worked out on the frame reduced to
   * the working size (the frame itself when it is that size already, as ffmpeg delivers it), ROI
   * crops pasted on a grid of the frame's aspect ratio, smoothed over time, then guided (or
   * bilinear) edges. Not yet soft-edged or inverted: a compositor upsamples it and applies
   * {@link streamEdge}. The mask is reused for the next frame.
   */
  async streamMask(frame: Frame): Promise<Mask> {
    const edges = this.streamEdges;
    if (!edges) throw new RangeError(`streamMask is for a stream's guided or bilinear edges (this effect: ${this.isStream ? `refine ${this.options.refine}` : 'a photo'})`);
    const { roi = 'auto', threshold = DEFAULT_THRESHOLD } = this.options;
    const t0 = stageNow();
    const size = streamWorkSize(frame.width, frame.height);
    const work = workingFrame(frame, size.width, size.height);
    this.workFrame = work;
    this.guideFresh = false;
    this.timings.preprocess += stageNow() - t0;
    const { outputWidth, outputHeight } = this.segmenter.spec;
    // The crops are pasted on a grid of the mask's size (see streamMask.ts); the whole frame's pass keeps the model's.
    const grid = roi === 'off' ? { width: outputWidth, height: outputHeight } : maskSizeOf(work);
    const smoother = this.smoother;
    let low: Mask;
    if (smoother) {
      const t = stageNow();
      // The picture the motion is found on: the guide when it has the grid's size (its 2×2 block
      // means are the luma thumbnail's taps, read once instead of four times).
      const guide = roi === 'off' ? work : this.streamGuide();
      smoother.observe(grid.width, grid.height, guide.width === grid.width && guide.height === grid.height ? guide : work);
      this.smoothedMask = sized(this.smoothedMask, grid.width, grid.height);
      const skip = this.cadence.skip(smoother, frame.index);
      this.lastPredicted = skip;
      if (skip) low = smoother.predict(this.smoothedMask);
      this.timings.temporal += stageNow() - t;
      if (skip) return this.streamEdgesOf(low!, work, edges, threshold);
    }
    this.lastPredicted = false;
    if (roi === 'off') low = await this.segmenter.segment(work, this.timings);
    else {
      this.trackedMask = sized(this.trackedMask, grid.width, grid.height);
      low = await this.tracker.segment(this.segmenter, work, this.timings, grid, this.trackedMask);
    }
    if (smoother) {
      const t = stageNow();
      low = smoother.correct(low, this.smoothedMask!);
      this.timings.temporal += stageNow() - t;
    }
    return this.streamEdgesOf(low, work, edges, threshold);
  }

  /**
   * Whether the last {@link streamMask} frame went without the model: a steady picture, its mask
   * predicted (modelCadence.ts).
   */
  get predicted(): boolean {
    return this.lastPredicted;
  }

  /** streamMask's last step: the grid mask's edges at the mask size, into the stream's buffer. */
  private streamEdgesOf(low: Mask, work: Frame, edges: 'guided' | 'bilinear', threshold: number): Mask {
    const t1 = stageNow();
    // One buffer per stream, reused (the compositors are done with a mask by the next frame).
    // A frame that went without the model also keeps the last guided coefficients (see streamMask).
    this.coefficients.reuse = this.lastPredicted;
    this.edgesOut = streamEdges(low, work, edges, threshold, this.edgesOut ?? undefined, edges === 'guided' ? this.streamGuide() : undefined, this.coefficients);
    this.timings.refine += stageNow() - t1;
    return this.edgesOut;
  }

  /**
   * The last {@link streamMask} frame's working frame reduced to the mask size (streamGuide): what
   * the guided edges followed, and where a compositor's background blur starts. The effect's own
   * buffer, overwritten by the next frame's.
   */
  streamGuide(): Frame {
    if (!this.workFrame) throw new Error('streamGuide comes after streamMask: there is no stream frame yet');
    if (!this.guideFresh) {
      this.guide = streamGuide(this.workFrame, this.guideData ?? undefined);
      // Only a buffer streamGuide made is the effect's to reuse (a work frame's may be a decoder's).
      if (this.guide !== this.workFrame) this.guideData = this.guide.data as Uint8Array;
      this.guideFresh = true;
    }
    return this.guide!;
  }

  /** The soft edge (and inversion) a compositor applies to an upsampled {@link streamMask}. */
  get streamEdge(): { threshold: number; softness: number; invert: boolean } {
    const { threshold = DEFAULT_THRESHOLD, softness = DEFAULT_SOFTNESS, invert = false } = this.options;
    return { ...streamSoftEdge(this.streamEdges ?? 'bilinear', threshold, softness), invert };
  }

  /** The refined person mask at the frame's size. */
  async mask(frame: Frame): Promise<Mask> {
    if (this.streamEdges) {
      const low = await this.streamMask(frame);
      const t = stageNow();
      // What a stream's compositor does with it: bilinear upsampling, then the stream's soft edge.
      const mask = refineMask(low, frame, { ...this.streamEdge, refine: 'bilinear' });
      this.timings.refine += stageNow() - t;
      return mask;
    }
    const low = await this.lowResMask(frame);
    const t0 = stageNow();
    const mask = refineMask(low, frame, this.options);
    this.timings.refine += stageNow() - t0;
    return mask;
  }

  async process(frame: Frame): Promise<Frame> {
    const { effect } = this.options;
    // A stream's mask behind a new background is composited straight from its working-size mask:
    // the frame-sized mask is never built (compositeLowRes upsamples and soft-edges row by row).
    const lowRes = this.streamEdges !== null && effect.type !== 'transparent' && effect.type !== 'mask';
    const low = lowRes ? await this.streamMask(frame) : null;
    const mask = low ? null : await this.mask(frame);
    const t0 = stageNow();
    const picture = effect.type === 'video' ? await effect.source.frameFor(frame) : undefined;
    const out = low ? this.renderLowRes(frame, low, picture) : this.render(frame, mask!, picture);
    this.timings.composite += stageNow() - t0;
    this.frames++;
    return out;
  }

  /** A new background behind the person, from a stream mask (compositeLowRes). */
  private renderLowRes(frame: Frame, low: Mask, picture?: Frame): Frame {
    const { effect, lightWrap } = this.options;
    if (effect.type === 'transparent' || effect.type === 'mask') throw new RangeError(`a ${effect.type} output needs the whole mask`);
    // The blur starts from the working frame streamMask made of this frame: the full frame is read once less.
    const small = this.workFrame !== frame ? (this.workFrame ?? undefined) : undefined;
    const out = compositeLowRes(frame, low, this.streamEdge, this.background(effect, frame, picture), { lightWrap, small, out: this.inPlace ? frame : undefined });
    return { ...out, timestamp: frame.timestamp };
  }

  /**
   * Renders the effect for a frame whose mask is already known. A video background needs its
   * `picture` for this frame (what `process` asks the provider for).
   */
  render(frame: Frame, mask: Mask, picture?: Frame): Frame {
    const { effect } = this.options;
    switch (effect.type) {
      case 'transparent':
        return cutout(frame, mask);
      case 'mask': {
        const grey = maskToGray(mask);
        const data = new Uint8Array(grey.length * 3);
        for (let i = 0, o = 0; i < grey.length; i++, o += 3) data[o] = data[o + 1] = data[o + 2] = grey[i];
        return { width: mask.width, height: mask.height, channels: 3, data, timestamp: frame.timestamp };
      }
      default:
        return {
          ...composite(frame, mask, this.background(effect, frame, picture), { lightWrap: this.options.lightWrap, out: this.inPlace ? frame : undefined }),
          timestamp: frame.timestamp,
        };
    }
  }

  private background(effect: Extract<Effect, { type: 'blur' | 'image' | 'color' | 'video' }>, frame: Frame, picture: Frame | undefined): Background {
    if (effect.type === 'blur') return { kind: 'blur', strength: effect.strength };
    if (effect.type === 'color') return { kind: 'color', color: effect.color };
    if (effect.type === 'video') {
      if (!picture) throw new Error('a video background needs the picture for this frame (use process(), or pass it to render())');
      return { kind: 'image', image: picture, fit: effect.fit ?? 'cover' };
    }
    return { kind: 'image', image: this.imageFor(effect, frame), fit: effect.fit ?? 'cover' };
  }

  /** The selected image, moved on by one for every `intervalMs` of frame time since the cycle began. */
  private imageFor(effect: Extract<Effect, { type: 'image' }>, frame: Frame): Frame {
    const n = effect.images.length;
    let index = this.imageIndex;
    if (effect.intervalMs && n > 1 && frame.timestamp !== undefined) {
      // A step back in time is a new stream: its cycle starts again.
      if (this.cycleStart === undefined || frame.timestamp < this.cycleStart) this.cycleStart = frame.timestamp;
      index += Math.floor((frame.timestamp - this.cycleStart) / effect.intervalMs);
    }
    this.shownIndex = index % n;
    return effect.images[this.shownIndex];
  }
}

/**
 * A full-size frame reduced for a stream's mask (Node compositing and cameras; ffmpeg delivers
 * frames at the working size already): whole-pixel block means, to between the working size and
 * twice it (720p and 1080p: 640 px across). A resample to the exact working size would cost 3–4×
 * the block means (≈ 5 against 1.3 core-ms at 720p); the mask is then worked out at that size.
 * Frames less than twice the working size are resampled to it.
 */
function workingFrame(frame: Frame, width: number, height: number): Frame {
  if (width === frame.width && height === frame.height) return frame;
  const k = Math.floor(Math.min(frame.width / width, frame.height / height));
  if (k >= 2) return { ...boxDownsample(frame, k), timestamp: frame.timestamp, index: frame.index };
  return { ...resizeFrame(frame, width, height), index: frame.index };
}

/** Low-resolution model output → mask at the frame's size, per the mask options. */
export function refineMask(low: Mask, frame: Frame, options: MaskOptions): Mask {
  const refine = options.refine ?? DEFAULT_REFINE;
  let mask: Mask;
  if (refine === 'none') {
    mask = upsampleMask(low, frame.width, frame.height);
  } else if (refine === 'guided') {
    return guidedRefine(low, frame, options.threshold ?? DEFAULT_THRESHOLD, options.softness ?? DEFAULT_SOFTNESS, options.invert);
  } else {
    const up = refine === 'bilinear' ? upsampleBilinear(low, frame.width, frame.height) : jointBilateralUpsample(low, frame);
    mask = smoothstepMask(up, options.threshold ?? DEFAULT_THRESHOLD, options.softness ?? DEFAULT_SOFTNESS, up);
  }
  return options.invert ? invertMask(mask) : mask;
}

/** `mask` when it is width × height, else a new mask of that size. */
function sized(mask: Mask | null, width: number, height: number): Mask {
  return mask && mask.width === width && mask.height === height ? mask : createMask(width, height);
}

function makeSmoother(temporal: TemporalOptions | boolean | undefined): TemporalSmoother | null {
  if (temporal === undefined || temporal === false) return null;
  return new TemporalSmoother(temporal === true ? {} : temporal);
}

function inUnitRange(name: string, v: number | undefined): void {
  if (v !== undefined && !(v >= 0 && v <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${v}`);
}

export function validateEffectOptions(options: EffectOptions): EffectOptions {
  inUnitRange('threshold', options.threshold);
  inUnitRange('softness', options.softness);
  inUnitRange('lightWrap', options.lightWrap);
  if (options.roi !== undefined && !ROI_MODES.includes(options.roi)) {
    throw new RangeError(`roi must be ${ROI_MODES.map((m) => `"${m}"`).join(' or ')}, got ${String(options.roi)}`);
  }
  if (options.refine !== undefined && !REFINE_MODES.includes(options.refine)) {
    throw new RangeError(`refine must be ${REFINE_MODES.map((m) => `"${m}"`).join(', ')}, got ${String(options.refine)}`);
  }
  const { effect } = options;
  if (effect.type === 'blur' && !(effect.strength >= 0 && effect.strength <= 100)) {
    throw new RangeError(`blur strength must be between 0 and 100, got ${effect.strength}`);
  }
  if (effect.type === 'image' && effect.images.length === 0) throw new RangeError('an image background needs at least one image');
  if (effect.type === 'image' && effect.intervalMs !== undefined && !(effect.intervalMs > 0 && Number.isFinite(effect.intervalMs))) {
    throw new RangeError(`image intervalMs must be a number of milliseconds > 0, got ${effect.intervalMs}`);
  }
  if (effect.type === 'video' && typeof effect.source?.frameFor !== 'function') throw new RangeError('a video background needs a source with frameFor(frame)');
  const { temporal } = options;
  if (temporal !== undefined && typeof temporal !== 'boolean') {
    if (temporal === null || typeof temporal !== 'object') throw new RangeError(`temporal must be true, false or an options object, got ${String(temporal)}`);
    validateTemporalOptions(temporal);
  }
  return { lightWrap: DEFAULT_LIGHT_WRAP, ...options };
}
