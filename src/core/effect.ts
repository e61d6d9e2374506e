/**
 * The background effect: segment a frame, refine the mask against the frame, and render the
 * chosen background. It is a FrameProcessor, so photos, videos and cameras share it.
 */
import { now } from './clock.js';
import type { RGBA } from './color.js';
import { composite, maskToGray, type Background } from './composite.js';
import type { Frame, Mask } from './frame.js';
import { cutout } from './matte.js';
import { upsampleMask } from './postprocess.js';
import type { FrameProcessor } from './processor.js';
import { invertMask, jointBilateralUpsample, smoothstepMask } from './refine.js';
import type { Fit } from './resize.js';
import type { Segmenter } from './segmenter.js';
import { TemporalSmoother, validateTemporalOptions, type TemporalOptions } from './temporal.js';

export type Effect =
  | { type: 'blur'; strength: number }
  /** One image, or several used in turn (`next()`/`previous()` cycle them, like the seed's a/d keys). */
  | { type: 'image'; images: Frame[]; fit?: Fit }
  | { type: 'color'; color: RGBA }
  /** RGBA cut-out: alpha from the mask, edge colours cleaned of the old background. */
  | { type: 'transparent' }
  /** The mask itself, as a grey frame. */
  | { type: 'mask' };

export type Refine = 'bilateral' | 'none';

export interface MaskOptions {
  /** Centre of the soft edge (the seed's threshold). Default 0.5. */
  threshold?: number;
  /** Width of the soft edge around the threshold, 0 = the seed's hard cut. Default 0.2. */
  softness?: number;
  /** 'bilateral' (default): edge-aware upsampling guided by the frame, then the soft edge. 'none': the raw upsampled model output. */
  refine?: Refine;
  /** Swap person and background. */
  invert?: boolean;
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
  private options: EffectOptions;
  private imageIndex = 0;
  private smoother: TemporalSmoother | null = null;

  constructor(
    private readonly segmenter: Segmenter,
    options: EffectOptions,
  ) {
    this.options = validateEffectOptions(options);
    this.smoother = makeSmoother(this.options.temporal);
  }

  setOptions(options: Partial<EffectOptions>): void {
    const before = this.options.temporal;
    this.options = validateEffectOptions({ ...this.options, ...options });
    this.imageIndex = 0;
    if ('temporal' in options && JSON.stringify(options.temporal) !== JSON.stringify(before)) this.smoother = makeSmoother(this.options.temporal);
  }

  /** The temporal smoother in use, or null when smoothing is off. */
  get temporal(): TemporalSmoother | null {
    return this.smoother;
  }

  /** Forgets the temporal history (after a seek, or before an unrelated clip); no-op when smoothing is off. */
  resetTemporal(): void {
    this.smoother?.reset();
  }

  get effect(): Effect {
    return this.options.effect;
  }

  /** Selects the background image by position (wraps around); no-op for other effects. */
  setBackgroundIndex(index: number): void {
    const { effect } = this.options;
    if (effect.type === 'image') this.imageIndex = ((index % effect.images.length) + effect.images.length) % effect.images.length;
  }

  next(): void {
    this.setBackgroundIndex(this.imageIndex + 1);
  }

  previous(): void {
    this.setBackgroundIndex(this.imageIndex - 1);
  }

  resetTimings(): void {
    this.timings = emptyTimings();
    this.frames = 0;
  }

  /** The refined person mask at the frame's size. */
  async mask(frame: Frame): Promise<Mask> {
    let low = await this.segmenter.segment(frame, this.timings);
    if (this.smoother) {
      const t = now();
      low = this.smoother.apply(low, frame);
      this.timings.temporal += now() - t;
    }
    const t0 = now();
    const mask = refineMask(low, frame, this.options);
    this.timings.refine += now() - t0;
    return mask;
  }

  async process(frame: Frame): Promise<Frame> {
    const mask = await this.mask(frame);
    const t0 = now();
    const out = this.render(frame, mask);
    this.timings.composite += now() - t0;
    this.frames++;
    return out;
  }

  /** Renders the effect for a frame whose mask is already known. */
  render(frame: Frame, mask: Mask): Frame {
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
        return { ...composite(frame, mask, this.background(effect), { lightWrap: this.options.lightWrap }), timestamp: frame.timestamp };
    }
  }

  private background(effect: Extract<Effect, { type: 'blur' | 'image' | 'color' }>): Background {
    if (effect.type === 'blur') return { kind: 'blur', strength: effect.strength };
    if (effect.type === 'color') return { kind: 'color', color: effect.color };
    return { kind: 'image', image: effect.images[this.imageIndex], fit: effect.fit ?? 'cover' };
  }
}

/** Low-resolution model output → mask at the frame's size, per the mask options. */
export function refineMask(low: Mask, frame: Frame, options: MaskOptions): Mask {
  let mask: Mask;
  if ((options.refine ?? 'bilateral') === 'none') {
    mask = upsampleMask(low, frame.width, frame.height);
  } else {
    mask = smoothstepMask(jointBilateralUpsample(low, frame), options.threshold ?? DEFAULT_THRESHOLD, options.softness ?? DEFAULT_SOFTNESS);
  }
  return options.invert ? invertMask(mask) : mask;
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
  if (options.refine !== undefined && options.refine !== 'bilateral' && options.refine !== 'none') {
    throw new RangeError(`refine must be "bilateral" or "none", got ${String(options.refine)}`);
  }
  const { effect } = options;
  if (effect.type === 'blur' && !(effect.strength >= 0 && effect.strength <= 100)) {
    throw new RangeError(`blur strength must be between 0 and 100, got ${effect.strength}`);
  }
  if (effect.type === 'image' && effect.images.length === 0) throw new RangeError('an image background needs at least one image');
  const { temporal } = options;
  if (temporal !== undefined && typeof temporal !== 'boolean') {
    if (temporal === null || typeof temporal !== 'object') throw new RangeError(`temporal must be true, false or an options object, got ${String(temporal)}`);
    validateTemporalOptions(temporal);
  }
  return { lightWrap: DEFAULT_LIGHT_WRAP, ...options };
}
