/// <reference lib="dom" />
/**
 * What a compositor does, whichever way it draws (WebGL2 or canvas 2D): takes one video frame and
 * the model's low-resolution mask, refines the mask against the frame, and draws the chosen
 * background behind the person onto its canvas. Options can change on any frame.
 */
import type { RGBA } from '../core/color.js';
import type { Frame, Mask, Rect } from '../core/frame.js';
import type { Fit } from '../core/resize.js';

/** What goes behind the person. */
export type BrowserEffect =
  /** The frame as it is (no segmentation needed). */
  | { type: 'none' }
  /** The background blurred, 0..100 (sigma = strength/100 × 4% of the frame's longest side, as in core). */
  | { type: 'blur'; strength: number }
  /** A picture (an <img>, ImageBitmap, canvas, ImageData…) fitted behind the person; `cover` by default. */
  | { type: 'image'; image: TexImageSource; fit?: Fit }
  /** A flat colour; alpha < 255 tints the original background. */
  | { type: 'color'; color: RGBA }
  /**
   * The person alone: alpha = mask. With `checkerboard` (default true) the cut-out is drawn over a
   * grey checkerboard so it can be seen in a video track, which has no alpha.
   */
  | { type: 'transparent'; checkerboard?: boolean }
  /** The mask itself as grey. */
  | { type: 'mask' };

/**
 * How the model's low-resolution mask becomes the frame-size mask:
 * - 'bilateral' (default): joint bilateral upsampling guided by the frame, then the soft threshold;
 * - 'bilinear': plain bilinear upsampling, then the soft threshold (cheaper);
 * - 'none': the raw upsampled probability (no threshold), as core's `refine: 'none'`.
 */
export type RefineMode = 'bilateral' | 'bilinear' | 'none';

export interface CompositorOptions {
  effect: BrowserEffect;
  /** Centre of the soft edge. Default 0.5. */
  threshold: number;
  /** Width of the soft edge around the threshold, 0 = hard cut. Default 0.2. */
  softness: number;
  refine: RefineMode;
  /** Spatial sigma of the joint bilateral filter, in mask pixels, 0.25..2. Default 1. */
  sigmaSpace: number;
  /** Range sigma of the joint bilateral filter on RGB in 0..1. Default 0.1. */
  sigmaColor: number;
  /**
   * Temporal smoothing 0..1: how much of the previous mask a pixel keeps where the new mask is
   * unsure (MediaPipe's uncertainty-weighted smoothing; confident pixels follow the new mask at
   * once). 0 turns it off. Default 0.7.
   */
  smoothing: number;
  /** How much of a replacement background's light bleeds onto the person's edge, 0..1. Default 0.3. */
  lightWrap: number;
  /** Swap person and background. */
  invert: boolean;
}

export const DEFAULT_COMPOSITOR_OPTIONS: Readonly<CompositorOptions> = Object.freeze<CompositorOptions>({
  effect: { type: 'blur', strength: 50 },
  threshold: 0.5,
  softness: 0.2,
  refine: 'bilateral',
  sigmaSpace: 1,
  sigmaColor: 0.1,
  smoothing: 0.7,
  lightWrap: 0.3,
  invert: false,
});

/** A frame as the compositors take it: anything WebGL/canvas can draw, or a core Frame (RGB/RGBA bytes). */
export type FrameSource = TexImageSource | Frame;

export function isCoreFrame(source: FrameSource): source is Frame {
  return (source as Frame).channels !== undefined && (source as Frame).data !== undefined && !(typeof ImageData !== 'undefined' && source instanceof ImageData);
}

/** Display size of anything a compositor draws. */
export function sourceSize(source: FrameSource): { width: number; height: number } {
  if (isCoreFrame(source)) return { width: source.width, height: source.height };
  const s = source as Partial<VideoFrame & HTMLVideoElement & HTMLImageElement & ImageBitmap>;
  const width = s.displayWidth ?? s.videoWidth ?? s.naturalWidth ?? s.width ?? 0;
  const height = s.displayHeight ?? s.videoHeight ?? s.naturalHeight ?? s.height ?? 0;
  return { width, height };
}

/**
 * Which of a compositor's two frame slots: the processor keeps one frame waiting for its own mask
 * in one slot while it takes the next frame into the other.
 */
export type FrameSlot = 0 | 1;

/** Milliseconds spent in each stage of the last frame (only measured when `profile` is on, except `total`). */
export type StageTimes = Record<string, number>;

export interface Compositor {
  readonly kind: 'webgl2' | 'canvas2d';
  readonly canvas: HTMLCanvasElement | OffscreenCanvas;
  readonly options: Readonly<CompositorOptions>;
  /** Changes any options; takes effect on the next render. */
  setOptions(options: Partial<CompositorOptions>): void;
  /** Takes a frame into `slot` (default 0), replacing the one there: the one upload per frame. */
  setFrame(source: FrameSource, slot?: FrameSlot): void;
  /**
   * The frame in `slot` (default: the one setFrame filled last) stretched to width × height (the
   * model's input), as RGBA bytes: all of it, or only `crop` (frame pixels) for ROI zoom. The
   * sampling is the same either way: bilinear, half-pixel centres, clamped at the frame's edges
   * (core's frameToTensor). The buffer is reused.
   */
  readModelInput(width: number, height: number, crop?: Rect, slot?: FrameSlot): Frame;
  /** A new low-resolution mask from the model (applies temporal smoothing). */
  setMask(mask: Mask): void;
  /** Draws the frame in `slot` (default 0) with the current mask and options onto the canvas, which takes that frame's size. */
  render(slot?: FrameSlot): void;
  /** RGBA bytes of what the last render drew, top row first (for tests and snapshots). */
  readPixels(): Uint8Array;
  /** Per-stage times of the last frame, in ms. */
  readonly times: Readonly<StageTimes>;
  /** When true, each stage waits for the GPU so its time is real (slower; for benchmarks). */
  profile: boolean;
  dispose(): void;
}

function inRange(name: string, v: number, lo: number, hi: number): void {
  if (!(typeof v === 'number' && v >= lo && v <= hi)) throw new RangeError(`${name} must be between ${lo} and ${hi}, got ${String(v)}`);
}

const EFFECTS = ['none', 'blur', 'image', 'color', 'transparent', 'mask'];
const REFINES: RefineMode[] = ['bilateral', 'bilinear', 'none'];
const FITS: Fit[] = ['cover', 'contain', 'stretch'];

/** Merges and checks options; the error names the bad option and what is allowed. */
export function mergeOptions(current: Readonly<CompositorOptions>, update: Partial<CompositorOptions>): CompositorOptions {
  const next: CompositorOptions = { ...current };
  for (const [key, value] of Object.entries(update) as [keyof CompositorOptions, unknown][]) {
    if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
  }
  inRange('threshold', next.threshold, 0, 1);
  inRange('softness', next.softness, 0, 1);
  inRange('sigmaSpace', next.sigmaSpace, 0.25, 2);
  inRange('sigmaColor', next.sigmaColor, 0.001, 1);
  inRange('smoothing', next.smoothing, 0, 0.99);
  inRange('lightWrap', next.lightWrap, 0, 1);
  if (!REFINES.includes(next.refine)) throw new RangeError(`refine must be one of ${REFINES.join(', ')}, got ${JSON.stringify(next.refine)}`);
  const effect = next.effect;
  if (!effect || !EFFECTS.includes(effect.type)) {
    throw new RangeError(`effect.type must be one of ${EFFECTS.join(', ')}, got ${JSON.stringify(effect?.type)}`);
  }
  if (effect.type === 'blur') inRange('effect.strength', effect.strength, 0, 100);
  if (effect.type === 'image') {
    if (!effect.image) throw new RangeError('effect.image is required for an image background');
    if (effect.fit !== undefined && !FITS.includes(effect.fit)) throw new RangeError(`effect.fit must be one of ${FITS.join(', ')}, got ${JSON.stringify(effect.fit)}`);
  }
  if (effect.type === 'color') {
    const c = effect.color;
    if (!Array.isArray(c) || c.length !== 4 || c.some((v) => !(Number.isInteger(v) && v >= 0 && v <= 255))) {
      throw new RangeError(`effect.color must be [r, g, b, a] with integers 0..255 (use parseColor for CSS colours), got ${JSON.stringify(c)}`);
    }
  }
  return next;
}

/** Blur sigma in full-resolution pixels for a strength 0..100, as core's blurBackground. */
export function blurSigma(strength: number, width: number, height: number): number {
  return (strength / 100) * 0.04 * Math.max(width, height);
}

/** Light-wrap sigma in full-resolution pixels: about 1% of the longest side, as core's composite. */
export function lightWrapSigma(width: number, height: number): number {
  return 0.01 * Math.max(width, height);
}
