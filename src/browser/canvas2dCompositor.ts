/// <reference lib="dom" />
/**
 * The compositor for browsers without WebGL2: the same interface as the WebGL one, drawn with a
 * 2D canvas and the core's CPU maths (joint bilateral upsampling, soft threshold, the weighted
 * background blur, light wrapping, the cut-out), so it gives the same picture as Node, only slower.
 */
import type { RGBA } from '../core/color.js';
import { composite, compositeLowRes, maskToGray, type Background } from '../core/composite.js';
import type { Frame, Mask, Rect } from '../core/frame.js';
import { cutout } from '../core/matte.js';
import { upsampleMask } from '../core/postprocess.js';
import { invertMask, jointBilateralUpsample, smoothstepMask } from '../core/refine.js';
import {
  DEFAULT_COMPOSITOR_OPTIONS,
  isCoreFrame,
  mergeOptions,
  sourceSize,
  type Compositor,
  type CompositorOptions,
  type FrameSlot,
  type FrameSource,
  type StageTimes,
} from './compositor.js';

type AnyCanvas = HTMLCanvasElement | OffscreenCanvas;
type Ctx2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

function newCanvas(width = 1, height = 1): AnyCanvas {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(width, height);
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  return c;
}

function context2d(canvas: AnyCanvas, willReadFrequently: boolean): Ctx2D {
  const ctx = canvas.getContext('2d', { willReadFrequently }) as Ctx2D | null;
  if (!ctx) throw new Error('canvas 2D is not available');
  return ctx;
}

/** 16-px grey checkerboard, the transparent preview. */
function checkerboard(width: number, height: number): Frame {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += 3) {
      const v = ((x >> 4) + (y >> 4)) % 2 === 0 ? 204 : 153;
      data[o] = data[o + 1] = data[o + 2] = v;
    }
  }
  return { width, height, channels: 3, data };
}

/** Same uncertainty-weighted temporal blend as the WebGL TemporalStage, on the CPU. */
function smoothInto(prev: Float32Array, cur: Float32Array, ratio: number): void {
  const ln2 = Math.log(2);
  for (let i = 0; i < cur.length; i++) {
    const c = cur[i] < 0 ? 0 : cur[i] > 1 ? 1 : cur[i];
    let certainty = 1 + (c * Math.log(c + 1e-6) + (1 - c) * Math.log(1 - c + 1e-6)) / ln2;
    certainty = certainty < 0 ? 0 : certainty > 1 ? 1 : certainty;
    certainty *= 2 - certainty;
    const mixed = prev[i] + (c - prev[i]) * certainty;
    prev[i] = c + (mixed - c) * ratio;
  }
}

export class Canvas2DCompositor implements Compositor {
  readonly kind = 'canvas2d' as const;
  readonly canvas: AnyCanvas;
  readonly times: StageTimes = {};
  profile = false;
  private opts: CompositorOptions;
  private readonly ctx: Ctx2D;
  /**
   * Two frame slots (one frame can wait for its mask while the next is taken in): each slot's frame
   * on a canvas (the model's input is drawn from it) and as a copy of its pixels.
   */
  private readonly work: [Ctx2D, Ctx2D];
  private readonly frames: [Frame | undefined, Frame | undefined] = [undefined, undefined];
  /** The slot setFrame filled last. */
  private lastSlot: FrameSlot = 0;
  private readonly small: AnyCanvas;
  private readonly smallCtx: Ctx2D;
  private rgba: Uint8ClampedArray<ArrayBuffer> = new Uint8ClampedArray(0);
  private smoothed: Mask | undefined;
  private output: ImageData | undefined;
  private bgImage: { source: TexImageSource; frame: Frame } | undefined;
  private checker: Frame | undefined;

  constructor(options: { canvas?: AnyCanvas; options?: Partial<CompositorOptions> } = {}) {
    this.canvas = options.canvas ?? newCanvas();
    this.ctx = context2d(this.canvas, true);
    this.work = [context2d(newCanvas(), true), context2d(newCanvas(), true)];
    this.small = newCanvas();
    this.smallCtx = context2d(this.small, true);
    this.opts = mergeOptions(DEFAULT_COMPOSITOR_OPTIONS, options.options ?? {});
  }

  get options(): Readonly<CompositorOptions> {
    return this.opts;
  }

  setOptions(update: Partial<CompositorOptions>): void {
    this.opts = mergeOptions(this.opts, update);
    if (update.smoothing === 0) this.smoothed = undefined;
  }

  setFrame(source: FrameSource, slot: FrameSlot = 0): void {
    const t0 = performance.now();
    const { width, height } = sourceSize(source);
    if (!(width > 0 && height > 0)) throw new RangeError(`frame has no size (${width}×${height})`);
    const work = this.work[slot];
    if (work.canvas.width !== width || work.canvas.height !== height) {
      work.canvas.width = width;
      work.canvas.height = height;
    }
    if (isCoreFrame(source)) {
      const n = width * height;
      if (this.rgba.length !== n * 4) this.rgba = new Uint8ClampedArray(n * 4);
      const d = source.data;
      if (source.channels === 4) this.rgba.set(d);
      else for (let i = 0, p = 0, q = 0; i < n; i++, p += 3, q += 4) {
        this.rgba[q] = d[p]; this.rgba[q + 1] = d[p + 1]; this.rgba[q + 2] = d[p + 2]; this.rgba[q + 3] = 255;
      }
      work.putImageData(new ImageData(this.rgba, width, height), 0, 0);
    } else {
      work.drawImage(source as CanvasImageSource, 0, 0, width, height);
    }
    const image = work.getImageData(0, 0, width, height);
    this.frames[slot] = { width, height, channels: 4, data: image.data };
    this.lastSlot = slot;
    this.times.upload = performance.now() - t0;
  }

  readModelInput(width: number, height: number, crop?: Rect, slot: FrameSlot = this.lastSlot): Frame {
    const t0 = performance.now();
    if (this.small.width !== width || this.small.height !== height) {
      this.small.width = width;
      this.small.height = height;
    }
    const source = this.work[slot].canvas;
    const { x, y, width: cw, height: ch } = crop ?? { x: 0, y: 0, width: source.width, height: source.height };
    this.smallCtx.imageSmoothingEnabled = true;
    this.smallCtx.imageSmoothingQuality = 'low';
    this.smallCtx.drawImage(source, x, y, cw, ch, 0, 0, width, height);
    const data = this.smallCtx.getImageData(0, 0, width, height).data;
    this.times.modelInput = performance.now() - t0;
    return { width, height, channels: 4, data };
  }

  setMask(mask: Mask): void {
    const t0 = performance.now();
    const ratio = this.opts.smoothing;
    const prev = this.smoothed;
    if (prev && ratio > 0 && prev.width === mask.width && prev.height === mask.height) {
      smoothInto(prev.data as Float32Array, mask.data, ratio);
    } else {
      this.smoothed = { width: mask.width, height: mask.height, data: Float32Array.from(mask.data) };
    }
    this.times.temporal = performance.now() - t0;
  }

  resetHistory(): void {
    this.smoothed = undefined;
  }

  private refined(frame: Frame, low: Mask): Mask {
    const o = this.opts;
    let mask: Mask;
    if (o.refine === 'none') mask = upsampleMask(low, frame.width, frame.height);
    else {
      const up = o.refine === 'bilateral'
        ? jointBilateralUpsample(low, frame, { sigmaSpace: o.sigmaSpace, sigmaColor: o.sigmaColor })
        : upsampleMask(low, frame.width, frame.height);
      mask = smoothstepMask(up, o.threshold, o.softness);
    }
    return o.invert ? invertMask(mask) : mask;
  }

  private backgroundFrame(source: TexImageSource): Frame {
    if (this.bgImage?.source === source) return this.bgImage.frame;
    const { width, height } = sourceSize(source);
    if (!(width > 0 && height > 0)) throw new RangeError('the background image has no size (not loaded yet?)');
    const c = newCanvas(width, height);
    const ctx = context2d(c, true);
    if (typeof ImageData !== 'undefined' && source instanceof ImageData) ctx.putImageData(source, 0, 0);
    else ctx.drawImage(source as CanvasImageSource, 0, 0, width, height);
    const frame: Frame = { width, height, channels: 4, data: ctx.getImageData(0, 0, width, height).data };
    this.bgImage = { source, frame };
    return frame;
  }

  /** What goes behind the person, or null when the effect draws the mask or a plain cut-out. */
  private background(frame: Frame): Background | null {
    const { effect } = this.opts;
    switch (effect.type) {
      case 'blur':
        return { kind: 'blur', strength: effect.strength };
      case 'color':
        return { kind: 'color', color: effect.color as RGBA };
      case 'image':
        return { kind: 'image', image: this.backgroundFrame(effect.image), fit: effect.fit ?? 'cover' };
      case 'transparent':
        if (effect.checkerboard === false) return null;
        if (this.checker?.width !== frame.width || this.checker.height !== frame.height) this.checker = checkerboard(frame.width, frame.height);
        return { kind: 'image', image: this.checker, fit: 'stretch' };
      default:
        return null;
    }
  }

  /** Light wrap for a new colour or image (a blur has none); none over the checkerboard that shows transparency. */
  private wrapFor(type: CompositorOptions['effect']['type']): number {
    return type === 'transparent' ? 0 : this.opts.lightWrap;
  }

  render(slot: FrameSlot = 0): void {
    const frame = this.frames[slot];
    if (!frame) throw new Error('render() before setFrame()');
    if (this.canvas.width !== frame.width || this.canvas.height !== frame.height) {
      this.canvas.width = frame.width;
      this.canvas.height = frame.height;
    }
    const start = performance.now();
    const { effect } = this.opts;
    let out: Frame = frame;
    if (effect.type !== 'none' && this.smoothed) {
      const background = this.background(frame);
      const o = this.opts;
      if (background && o.refine === 'bilinear') {
        // Plain edges over a new background: straight from the small mask (no frame-sized mask).
        this.times.refine = 0;
        const edge = { threshold: o.threshold, softness: o.softness, invert: o.invert };
        out = compositeLowRes(frame, this.smoothed, edge, background, { lightWrap: this.wrapFor(effect.type) });
        this.times.composite = performance.now() - start;
      } else {
        const mask = this.refined(frame, this.smoothed);
        const t1 = performance.now();
        this.times.refine = t1 - start;
        if (background) out = composite(frame, mask, background, { lightWrap: this.wrapFor(effect.type) });
        else if (effect.type === 'transparent') out = cutout(frame, mask);
        else {
          const grey = maskToGray(mask);
          const data = new Uint8Array(grey.length * 4);
          for (let i = 0, q = 0; i < grey.length; i++, q += 4) {
            data[q] = data[q + 1] = data[q + 2] = grey[i];
            data[q + 3] = 255;
          }
          out = { width: frame.width, height: frame.height, channels: 4, data };
        }
        this.times.composite = performance.now() - t1;
      }
    }
    if (!this.output || this.output.width !== frame.width || this.output.height !== frame.height) {
      this.output = new ImageData(frame.width, frame.height);
    }
    this.output.data.set(out.data);
    this.ctx.putImageData(this.output, 0, 0);
    this.times.render = performance.now() - start;
  }

  readPixels(): Uint8Array {
    const { width, height } = this.canvas;
    const data = this.ctx.getImageData(0, 0, width, height).data;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  dispose(): void {
    this.frames.fill(undefined);
    this.smoothed = undefined;
    this.bgImage = undefined;
    this.canvas.width = 1;
    this.canvas.height = 1;
  }
}

export function createCanvas2DCompositor(options: { canvas?: AnyCanvas; options?: Partial<CompositorOptions> } = {}): Canvas2DCompositor {
  return new Canvas2DCompositor(options);
}
