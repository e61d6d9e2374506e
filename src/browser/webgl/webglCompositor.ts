/// <reference lib="dom" />
/**
 * The WebGL2 compositor: strings the stages together.
 *
 *   per frame:  frame ─upload─▶ FrameStage (one of two slots) ─▶ ModelInputStage (model size:
 *               the frame, or a crop of it for ROI zoom; read back for the segmenter; the
 *               whole frame's is also the bilateral filter's guide)
 *   per mask:   mask ─upload─▶ MaskStage (a) ─▶ TemporalStage (c), both at the model's size
 *   per frame:  BlurStage (d, low res; mask refined bilinearly there)
 *               ─▶ CompositeStage (f, the one full-size pass: RefineStage (b)'s joint bilateral
 *                  upsampling + soft edge per pixel, BackgroundStage (e)'s image / colour /
 *                  checkerboard, light wrap) ─▶ canvas
 *
 * One texture upload per frame (the frame itself); the mask (model-size floats) is uploaded when a
 * new one arrives. Only one pass runs at full size, which is what software GL (SwiftShader) pays
 * for most. No textures or buffers are allocated per frame (targets are reallocated only when a
 * size changes).
 */
import type { Frame, Mask, Rect } from '../../core/frame.js';
import {
  blurSigma,
  DEFAULT_COMPOSITOR_OPTIONS,
  lightWrapSigma,
  mergeOptions,
  type Compositor,
  type CompositorOptions,
  type FrameSlot,
  type FrameSource,
  type StageTimes,
} from '../compositor.js';
import { BackgroundStage } from './backgroundStage.js';
import { BlurStage } from './blurStage.js';
import { CompositeStage, type CompositeParams } from './compositeStage.js';
import { FrameStage } from './frameStage.js';
import { floatTargets, RenderTarget, type GL } from './gl.js';
import { MaskStage } from './maskStage.js';
import { ModelInputStage } from './modelInputStage.js';
import { RefineStage } from './refineStage.js';
import { TemporalStage } from './temporalStage.js';

export interface WebGLCompositorOptions {
  /** Draw into this canvas; default a new OffscreenCanvas (or <canvas> where there is none). */
  canvas?: HTMLCanvasElement | OffscreenCanvas;
  options?: Partial<CompositorOptions>;
  /**
   * Half-float intermediate targets (needs EXT_color_buffer_float) instead of 8-bit ones.
   * Default false: 8 bits are plenty for a mask and much faster on software GL (SwiftShader).
   */
  floatTargets?: boolean;
}

function newCanvas(): HTMLCanvasElement | OffscreenCanvas {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(1, 1);
  return document.createElement('canvas');
}

const CONTEXT_ATTRIBUTES: WebGLContextAttributes = {
  alpha: true,
  premultipliedAlpha: false,
  antialias: false,
  depth: false,
  stencil: false,
  preserveDrawingBuffer: false,
  powerPreference: 'high-performance',
  desynchronized: true,
};

let documentAllowsWebGL2: boolean | undefined;

/**
 * Whether a <canvas> in this document gets WebGL2. Chromium's switches that turn WebGL off
 * (--disable-webgl, --disable-3d-apis, blocklists via the same path) are not honoured by
 * OffscreenCanvas, so the page's own canvas is asked first and its answer stands for both.
 */
function webgl2AllowedInDocument(): boolean {
  if (documentAllowsWebGL2 === undefined) {
    if (typeof document === 'undefined') documentAllowsWebGL2 = true;
    else {
      const probe = document.createElement('canvas').getContext('webgl2');
      probe?.getExtension('WEBGL_lose_context')?.loseContext();
      documentAllowsWebGL2 = probe !== null;
    }
  }
  return documentAllowsWebGL2;
}

/** The WebGL2 context of a canvas, or undefined when WebGL2 is unavailable (disabled, blocklisted, lost). */
export function getWebGL2(canvas: HTMLCanvasElement | OffscreenCanvas): GL | undefined {
  if (typeof OffscreenCanvas !== 'undefined' && canvas instanceof OffscreenCanvas && !webgl2AllowedInDocument()) return undefined;
  try {
    const gl = canvas.getContext('webgl2', CONTEXT_ATTRIBUTES) as GL | null;
    return gl ?? undefined;
  } catch {
    return undefined;
  }
}

/** True when this browser can give a WebGL2 context. */
export function hasWebGL2(): boolean {
  const canvas = newCanvas();
  const gl = getWebGL2(canvas);
  gl?.getExtension('WEBGL_lose_context')?.loseContext();
  return gl !== undefined;
}

export class WebGLCompositor implements Compositor {
  readonly kind = 'webgl2' as const;
  readonly canvas: HTMLCanvasElement | OffscreenCanvas;
  readonly times: StageTimes = {};
  profile = false;
  private opts: CompositorOptions;
  private readonly gl: GL;
  /** Two frame slots: one frame can wait for its mask while the next is taken in. */
  private readonly frames: [FrameStage, FrameStage];
  /** The slot setFrame filled last (the model input's frame unless another slot is asked for). */
  private lastSlot: FrameSlot = 0;
  private readonly modelInput: ModelInputStage;
  private readonly maskUpload: MaskStage;
  private readonly temporal: TemporalStage;
  private readonly refine: RefineStage;
  private readonly blur: BlurStage;
  private readonly background: BackgroundStage;
  private readonly composite: CompositeStage;
  /** The smoothed low-res mask, or undefined before the first mask. */
  private mask: WebGLTexture | undefined;
  private maskWidth = 0;
  private maskHeight = 0;
  private pixels = new Uint8Array(0);
  /** The slot whose frame the model-input picture shows (undefined: none), and which crop of it (undefined: all). */
  private modelInputSlot: FrameSlot | undefined;
  private modelInputCrop: Rect | undefined;
  private lastMark = 0;
  private readonly syncPixel = new Uint8Array(4);
  private readonly syncTarget: RenderTarget;

  constructor(options: WebGLCompositorOptions = {}) {
    this.canvas = options.canvas ?? newCanvas();
    const gl = getWebGL2(this.canvas);
    if (!gl) throw new Error('WebGL2 is not available');
    this.gl = gl;
    this.opts = mergeOptions(DEFAULT_COMPOSITOR_OPTIONS, options.options ?? {});
    const float = options.floatTargets === true && floatTargets(gl);
    this.frames = [new FrameStage(gl), new FrameStage(gl)];
    this.modelInput = new ModelInputStage(gl);
    this.maskUpload = new MaskStage(gl);
    this.temporal = new TemporalStage(gl, float ? 'r16f' : 'r8');
    this.refine = new RefineStage(gl);
    this.blur = new BlurStage(gl, float ? 'rgba16f' : 'rgba8');
    this.background = new BackgroundStage(gl);
    this.composite = new CompositeStage(gl);
    this.syncTarget = new RenderTarget(gl, 'rgba8');
    gl.disable(gl.DEPTH_TEST);
    gl.disable(gl.BLEND);
    this.applyEffect();
  }

  get options(): Readonly<CompositorOptions> {
    return this.opts;
  }

  setOptions(update: Partial<CompositorOptions>): void {
    this.opts = mergeOptions(this.opts, update);
    this.applyEffect();
  }

  private applyEffect(): void {
    const { effect } = this.opts;
    if (effect.type === 'image') this.background.setImage(effect.image);
  }

  /** Start timing a frame's stages. */
  private markStart(): void {
    this.lastMark = performance.now();
  }

  /** Records the time since the last mark under `stage`, waiting for the GPU first when profiling. */
  private mark = (stage: string): void => {
    if (!this.profile) return;
    const { gl } = this;
    // Reading a pixel back waits until the GPU has finished everything issued before it
    // (gl.finish() does not wait in Chromium).
    const bound = gl.getParameter(gl.FRAMEBUFFER_BINDING) as WebGLFramebuffer | null;
    this.syncTarget.resize(1, 1);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.syncTarget.framebuffer);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, this.syncPixel);
    gl.bindFramebuffer(gl.FRAMEBUFFER, bound);
    const t = performance.now();
    this.times[stage] = t - this.lastMark;
    this.lastMark = t;
  };

  setFrame(source: FrameSource, slot: FrameSlot = 0): void {
    this.markStart();
    this.frames[slot].upload(source);
    this.lastSlot = slot;
    if (this.modelInputSlot === slot) this.modelInputSlot = undefined;
    this.gl.bindFramebuffer(this.gl.FRAMEBUFFER, null);
    this.mark('upload');
  }

  readModelInput(width: number, height: number, crop?: Rect, slot: FrameSlot = this.lastSlot): Frame {
    this.markStart();
    this.drawModelInput(width, height, slot, crop);
    const frame = this.modelInput.read();
    this.times.modelInput = performance.now() - this.lastMark;
    return frame;
  }

  /** Draws the model-input picture of `slot`'s frame, or of its `crop`, unless it shows that already. */
  private drawModelInput(width: number, height: number, slot: FrameSlot, crop?: Rect): void {
    const input = this.modelInput, last = this.modelInputCrop;
    const sameCrop = crop === undefined || last === undefined
      ? crop === last
      : crop.x === last.x && crop.y === last.y && crop.width === last.width && crop.height === last.height;
    if (this.modelInputSlot === slot && sameCrop && input.width === width && input.height === height) return;
    const frame = this.frames[slot];
    input.render(frame.texture, frame.width, frame.height, width, height, crop);
    this.modelInputSlot = slot;
    this.modelInputCrop = crop && { x: crop.x, y: crop.y, width: crop.width, height: crop.height };
  }

  setMask(mask: Mask): void {
    this.markStart();
    this.maskUpload.upload(mask);
    this.mark('maskUpload');
    this.mask = this.temporal.render(this.maskUpload.texture, mask.width, mask.height, this.opts.smoothing);
    this.maskWidth = mask.width;
    this.maskHeight = mask.height;
    this.mark('temporal');
  }

  /** Forgets the previous masks (temporal smoothing starts afresh). */
  resetHistory(): void {
    this.temporal.reset();
  }

  render(slot: FrameSlot = 0): void {
    const { gl, opts } = this;
    const frame = this.frames[slot];
    const { width, height } = frame;
    if (width === 0) throw new Error('render() before setFrame()');
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    const { effect } = opts;
    const start = performance.now();
    this.times.guide = this.times.blurDownsample = this.times.blurGaussian = 0;
    this.markStart();
    const refine = {
      mode: opts.refine,
      threshold: opts.threshold,
      softness: opts.softness,
      sigmaSpace: opts.sigmaSpace,
      sigmaColor: opts.sigmaColor,
      invert: opts.invert,
    };
    let mode: CompositeParams['mode'] = 'none';
    const mask: WebGLTexture = this.mask ?? this.maskUpload.texture;
    let guide: WebGLTexture = this.maskUpload.texture;
    let blur: WebGLTexture = this.maskUpload.texture;
    if (effect.type !== 'none' && this.mask) {
      mode = effect.type === 'blur' ? (effect.strength > 0 ? 'blur' : 'none')
        : effect.type === 'image' || effect.type === 'color' ? 'replace'
        : effect.type === 'transparent' ? (effect.checkerboard === false ? 'transparent' : 'replace')
        : 'mask';
      if (opts.refine === 'bilateral' && mode !== 'none') {
        // The guide: the frame at the mask's size. The model's input is that picture when sizes
        // agree (drawn again when the model last looked at a crop of it).
        const { maskWidth: mw, maskHeight: mh } = this;
        if (this.modelInput.width === mw && this.modelInput.height === mh) {
          this.drawModelInput(mw, mh, slot);
          guide = this.modelInput.texture;
        } else {
          guide = this.refine.renderGuide(frame.texture, mw, mh);
        }
        this.mark('guide');
      }
      if (mode === 'blur' && effect.type === 'blur') {
        blur = this.blur.render(frame.texture, this.refine, mask, guide, refine, width, height, blurSigma(effect.strength, width, height), 3, this.mark);
      } else if (mode === 'replace' && effect.type !== 'transparent' && opts.lightWrap > 0) {
        blur = this.blur.render(frame.texture, this.refine, mask, guide, refine, width, height, lightWrapSigma(width, height), 1.5, this.mark);
      }
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.composite.render(frame.texture, this.refine, mask, guide, blur, this.background, width, height, true, {
      mode,
      lightWrap: opts.lightWrap,
      background: effect.type === 'image' ? 'image' : effect.type === 'transparent' ? 'checkerboard' : 'color',
      color: effect.type === 'color' ? effect.color : [0, 0, 0, 255],
      fit: effect.type === 'image' ? effect.fit ?? 'cover' : 'cover',
      refine,
    });
    this.mark('composite');
    this.times.render = performance.now() - start;
  }

  readPixels(): Uint8Array {
    const { gl } = this;
    const { width, height } = this.canvas;
    const n = width * height * 4;
    if (this.pixels.length !== n) this.pixels = new Uint8Array(n);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, this.pixels);
    // The canvas's row 0 is the bottom: flip to top-first.
    const row = width * 4;
    const tmp = new Uint8Array(row);
    for (let top = 0, bottom = height - 1; top < bottom; top++, bottom--) {
      const a = top * row, b = bottom * row;
      tmp.set(this.pixels.subarray(a, a + row));
      this.pixels.copyWithin(a, b, b + row);
      this.pixels.set(tmp, b);
    }
    return this.pixels;
  }

  dispose(): void {
    this.frames.forEach((f) => f.dispose());
    this.modelInput.dispose();
    this.maskUpload.dispose();
    this.temporal.dispose();
    this.refine.dispose();
    this.blur.dispose();
    this.background.dispose();
    this.composite.dispose();
    this.syncTarget.dispose();
    this.gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}

export function createWebGLCompositor(options: WebGLCompositorOptions = {}): WebGLCompositor {
  return new WebGLCompositor(options);
}
