/**
 * Mask refinement: thresholds, inversion and upsampling of the model's low-resolution mask to the
 * frame's size, either plainly (bilinear) or edge-aware (joint bilateral upsampling).
 */
import type { Frame, Mask } from './frame.js';
import { upsampleMask } from './postprocess.js';
import { resample, resampleTaps, type ResampleTaps } from './resize.js';

function checkFinite(name: string, value: number): void {
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite number, got ${value}`);
}

/** `out` if given (checked to be width × height), else a new mask. */
function target(width: number, height: number, out: Mask | undefined): Mask {
  if (!out) return { width, height, data: new Float32Array(width * height) };
  if (out.width !== width || out.height !== height || out.data.length !== width * height) {
    throw new RangeError(`out mask is ${out.width}×${out.height} but must be ${width}×${height}`);
  }
  return out;
}

/** @internal A validated soft edge: see {@link smoothstepMask}. */
export interface SoftEdge {
  threshold: number;
  /** Edges rounded to float32 like the mask values, so p = e0 gives exactly 0 and p = e1 exactly 1. */
  e0: number;
  e1: number;
  /** softness 0 (or edges that collapse after clamping): 1 where p > threshold, else 0. */
  hard: boolean;
}

/** @internal Checks threshold and softness and works out the edges. */
export function softEdge(threshold: number, softness: number): SoftEdge {
  checkFinite('threshold', threshold);
  checkFinite('softness', softness);
  if (softness < 0) throw new RangeError(`softness must be ≥ 0, got ${softness}`);
  const e0 = Math.fround(Math.max(0, threshold - softness / 2));
  const e1 = Math.fround(Math.min(1, threshold + softness / 2));
  return { threshold, e0, e1, hard: softness === 0 || !(e1 > e0) };
}

/** @internal The soft edge on src[from..to) into dst (may be src), then 1 − value when `invert`. */
export function applySoftEdge(src: Float32Array, dst: Float32Array, from: number, to: number, edge: SoftEdge, invert = false): void {
  const { threshold, e0, e1 } = edge;
  if (edge.hard) {
    for (let i = from; i < to; i++) dst[i] = src[i] > threshold ? 1 : 0;
  } else {
    const inv = 1 / (e1 - e0);
    for (let i = from; i < to; i++) {
      const p = src[i];
      if (p <= e0) dst[i] = 0;
      else if (p >= e1) dst[i] = 1;
      else {
        const t = (p - e0) * inv;
        dst[i] = t * t * (3 - 2 * t);
      }
    }
  }
  if (invert) for (let i = from; i < to; i++) dst[i] = 1 - dst[i];
}

/**
 * Soft threshold: out = smoothstep(e0, e1, p) with e0 = threshold − softness/2 and
 * e1 = threshold + softness/2, both clamped into [0, 1] (so with threshold 0.95 a fully confident
 * p = 1 still maps to 1). softness 0 (or edges that collapse after clamping) is the seed's hard
 * cut: 1 where p > threshold, else 0. Output is always within [0, 1]. Returns a new mask, or
 * writes into `out` (same size; may be `mask` itself) and returns it.
 */
export function smoothstepMask(mask: Mask, threshold = 0.5, softness = 0.2, out?: Mask): Mask {
  const edge = softEdge(threshold, softness);
  const result = target(mask.width, mask.height, out);
  applySoftEdge(mask.data, result.data, 0, mask.data.length, edge);
  return result;
}

/** The seed's hard cut: 1 where p > threshold, else 0. */
export function hardThreshold(mask: Mask, threshold = 0.5, out?: Mask): Mask {
  return smoothstepMask(mask, threshold, 0, out);
}

/** 1 − p for every pixel (person ↔ background). Returns a new mask, or `out` (may be `mask`). */
export function invertMask(mask: Mask, out?: Mask): Mask {
  const result = target(mask.width, mask.height, out);
  const src = mask.data, dst = result.data;
  for (let i = 0; i < src.length; i++) dst[i] = 1 - src[i];
  return result;
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`upsample size must be positive integers, got ${width}×${height}`);
  }
}

/**
 * Bilinear resize of a mask with half-pixel centres and edge clamping, matching OpenGL GL_LINEAR
 * with CLAMP_TO_EDGE: src = (dst + 0.5)·(srcSize/dstSize) − 0.5, clamped into [0, srcSize − 1].
 * (Pure bilinear at any scale.) The same function as `upsampleMask` in postprocess.ts, which it
 * delegates to, under the name the refinement code uses.
 */
export function upsampleBilinear(low: Mask, width: number, height: number): Mask {
  checkSize(width, height);
  return upsampleMask(low, width, height);
}

export interface JointBilateralOptions {
  /** Spatial Gaussian sigma in low-resolution (mask) pixels. Default 1. */
  sigmaSpace?: number;
  /** Range Gaussian sigma on the RGB distance, colours scaled to 0..1. Default 0.1. */
  sigmaColor?: number;
  /** A window whose taps differ by less than this is flat and gets plain bilinear. Default 0.02. */
  flatThreshold?: number;
  /** Taps per axis of the window: 4 (default) or 3 (faster, slightly softer); more if sigmaSpace needs them. */
  window?: number;
  /** Where to write the result (guide-sized); reusing one per video saves an allocation per frame. */
  out?: Mask;
}

const LUT_SIZE = 2048;
/** exp(−d²/(2σ²)) is cut to 0 beyond d² = LUT_CUT·σ² (weight < 1e-4). */
const LUT_CUT = 18.4;
let lutCache: { sigma: number; lut: Float32Array; scale: number } | undefined;

/** Range-weight table indexed by ⌊d2 · scale⌋, d2 = squared RGB distance in 8-bit units. */
function rangeLut(sigmaColor: number): { lut: Float32Array; scale: number } {
  if (lutCache && lutCache.sigma === sigmaColor) return lutCache;
  const s2 = sigmaColor * 255 * (sigmaColor * 255); // σ² in 8-bit units²
  const maxD2 = LUT_CUT * s2;
  const scale = LUT_SIZE / maxD2;
  const lut = new Float32Array(LUT_SIZE);
  for (let i = 0; i < LUT_SIZE; i++) lut[i] = Math.exp(-(i / scale) / (2 * s2));
  lutCache = { sigma: sigmaColor, lut, scale };
  return lutCache;
}

/** Area-averaged guide colour (RGB) of each low-res pixel with needed[i] = 1, into gl (stride 3). */
function areaGuide(
  gd: Uint8Array | Uint8ClampedArray, W: number, C: number, xt: ResampleTaps, yt: ResampleTaps,
  needed: Uint8Array, gl: Float32Array,
): void {
  const lw = xt.start.length, lh = yt.start.length;
  for (let j = 0; j < lh; j++) {
    const y0 = yt.start[j], ny = yt.count[j], wyo = j * yt.taps;
    for (let i = 0; i < lw; i++) {
      if (needed[j * lw + i] === 0) continue;
      const x0 = xt.start[i], nx = xt.count[i], wxo = i * xt.taps;
      let r = 0, g = 0, b = 0;
      for (let ky = 0; ky < ny; ky++) {
        const wy = yt.weights[wyo + ky];
        let p = ((y0 + ky) * W + x0) * C;
        for (let kx = 0; kx < nx; kx++, p += C) {
          const w = wy * xt.weights[wxo + kx];
          r += w * gd[p];
          g += w * gd[p + 1];
          b += w * gd[p + 2];
        }
      }
      const q = (j * lw + i) * 3;
      gl[q] = r; gl[q + 1] = g; gl[q + 2] = b;
    }
  }
}

/** One output row of the joint bilateral upsample: only runs whose window is not flat. */
function jbuRow(
  y: number, W: number, C: number, T: number, lw: number, fw: number,
  gd: Uint8Array | Uint8ClampedArray, gl: Float32Array, lm: Float32Array, od: Float32Array, flat: Uint8Array,
  ya: number, runStart: Int32Array, axIdx: Int32Array, axWgt: Float32Array, ayIdx: Int32Array, ayWgt: Float32Array,
  lut: Float32Array, lutScale: number,
): void {
  const flatRow = ya * fw;
  const yo = y * T;
  const rowOut = y * W;
  for (let a = 0; a <= lw; a++) {
    if (flat[flatRow + a] === 1) continue;
    const x1 = runStart[a + 1];
    for (let x = runStart[a]; x < x1; x++) {
      const p = (rowOut + x) * C;
      const gr = gd[p], gg = gd[p + 1], gb = gd[p + 2];
      const xo = x * T;
      let sum = 0, wsum = 0;
      for (let ky = 0; ky < T; ky++) {
        const wy = ayWgt[yo + ky];
        if (wy === 0) continue;
        const row = ayIdx[yo + ky] * lw;
        for (let kx = 0; kx < T; kx++) {
          const wx = axWgt[xo + kx];
          if (wx === 0) continue;
          const li = row + axIdx[xo + kx];
          const q = li * 3;
          const dr = gl[q] - gr, dg = gl[q + 1] - gg, db = gl[q + 2] - gb;
          const bin = (dr * dr + dg * dg + db * db) * lutScale;
          if (bin >= LUT_SIZE) continue;
          const w = wy * wx * lut[bin | 0];
          sum += w * lm[li];
          wsum += w;
        }
      }
      if (wsum > 1e-12) od[rowOut + x] = sum / wsum;
    }
  }
}

/**
 * Joint bilateral upsampling (Kopf et al. 2007): resizes the low-resolution mask to the guide
 * frame's size, letting the frame's colour edges decide where the mask edge goes.
 *
 * Low-res pixel i has its centre at (i + 0.5)·scale output pixels. Each output pixel averages the
 * low-res mask over a window of T × T taps around its position (T = max(window, ⌈3·sigmaSpace⌉):
 * 4 × 4 by default, centred on the bilinear pair; `window: 3` is ≈ 1.7× faster with slightly softer
 * edges; taps outside the mask are skipped), weighted by
 * - a spatial Gaussian of the distance in low-res pixels (sigmaSpace, default 1), and
 * - a range Gaussian of the RGB distance (0..1 scale, sigmaColor default 0.1, from a lookup table)
 *   between the output pixel's guide colour and the guide colour at the tap (the guide area-averaged
 *   down to the mask's size, computed only where some window is not flat).
 * Where the window is flat (max − min of its taps < flatThreshold, default 0.02) — most of the
 * frame — the output is plain bilinear (as {@link upsampleBilinear}, to float rounding), which is
 * also the fallback when every range weight vanishes. Works for any scale factors and sizes, down
 * to a 1 × 1 mask. Returns a new mask, or `opts.out`.
 */
export function jointBilateralUpsample(low: Mask, guide: Frame, opts: JointBilateralOptions = {}): Mask {
  const sigmaSpace = opts.sigmaSpace ?? 1;
  const sigmaColor = opts.sigmaColor ?? 0.1;
  const flatThreshold = opts.flatThreshold ?? 0.02;
  if (!(sigmaSpace > 0) || !Number.isFinite(sigmaSpace)) throw new RangeError(`sigmaSpace must be > 0, got ${sigmaSpace}`);
  if (!(sigmaColor > 0) || !Number.isFinite(sigmaColor)) throw new RangeError(`sigmaColor must be > 0, got ${sigmaColor}`);
  checkFinite('flatThreshold', flatThreshold);
  if (opts.window !== undefined && !(Number.isInteger(opts.window) && opts.window >= 2 && opts.window <= 16)) {
    throw new RangeError(`window must be an integer from 2 to 16, got ${opts.window}`);
  }
  const W = guide.width, H = guide.height, C = guide.channels;
  const lw = low.width, lh = low.height;
  const lm = low.data;
  const gd = guide.data;

  // Start from plain bilinear (half-pixel, edge clamp) everywhere.
  const out = target(W, H, opts.out);
  const od = out.data;
  resample(lm, lw, 1, resampleTaps(lw, 0, lw, W, 'bilinear'), resampleTaps(lh, 0, lh, H, 'bilinear'), od);

  // Window of T × T taps. Even T: the taps ⌊s⌋ − T/2 + 1 … ⌊s⌋ + T/2 (the bilinear pair in the
  // middle); odd T: round(s) − (T − 1)/2 … round(s) + (T − 1)/2. Window "anchor" = its first tap +
  // ⌊T/2⌋ ∈ [0, n], so windows can be looked up in a flat-map of (lw + 1) × (lh + 1).
  const T = Math.max(opts.window ?? 4, Math.ceil(3 * sigmaSpace));
  const off = T >> 1;
  const odd = (T & 1) === 1;

  // flat[ay·(lw + 1) + ax] = 1 when that window's taps are within flatThreshold of each other.
  const fw = lw + 1;
  const flat = new Uint8Array(fw * (lh + 1));
  {
    // Min/max over the window along x, then along y.
    const hmin = new Float32Array(fw * lh);
    const hmax = new Float32Array(fw * lh);
    for (let y = 0; y < lh; y++) {
      for (let a = 0; a < fw; a++) {
        let mn = Infinity, mx = -Infinity;
        const i0 = Math.max(0, a - off), i1 = Math.min(lw - 1, a - off + T - 1);
        for (let i = i0; i <= i1; i++) {
          const v = lm[y * lw + i];
          if (v < mn) mn = v;
          if (v > mx) mx = v;
        }
        hmin[y * fw + a] = mn;
        hmax[y * fw + a] = mx;
      }
    }
    for (let b = 0; b <= lh; b++) {
      const j0 = Math.max(0, b - off), j1 = Math.min(lh - 1, b - off + T - 1);
      for (let a = 0; a < fw; a++) {
        let mn = Infinity, mx = -Infinity;
        for (let j = j0; j <= j1; j++) {
          const vn = hmin[j * fw + a], vx = hmax[j * fw + a];
          if (vn < mn) mn = vn;
          if (vx > mx) mx = vx;
        }
        flat[b * fw + a] = mx - mn < flatThreshold ? 1 : 0;
      }
    }
  }

  // The guide at the mask's size, area-averaged (RGB, 0..255 floats) — computed only for the
  // low-res pixels that some non-flat window uses (typically a small band along the edge).
  const gl = new Float32Array(lw * lh * 3);
  {
    const needed = new Uint8Array(lw * lh);
    let any = false;
    for (let b = 0; b <= lh; b++) {
      for (let a = 0; a < fw; a++) {
        if (flat[b * fw + a] === 1) continue;
        any = true;
        const i0 = Math.max(0, a - off), i1 = Math.min(lw - 1, a - off + T - 1);
        const j0 = Math.max(0, b - off), j1 = Math.min(lh - 1, b - off + T - 1);
        for (let j = j0; j <= j1; j++) for (let i = i0; i <= i1; i++) needed[j * lw + i] = 1;
      }
    }
    if (any) areaGuide(gd, W, C, resampleTaps(W, 0, W, lw, 'area'), resampleTaps(H, 0, H, lh, 'area'), needed, gl);
  }

  // Per-column and per-row taps: index (clamped) and spatial weight (0 for taps outside).
  const inv2s2 = 1 / (2 * sigmaSpace * sigmaSpace);
  const axis = (n: number, ln: number) => {
    const anchor = new Int32Array(n);
    const idx = new Int32Array(n * T);
    const wgt = new Float32Array(n * T);
    const ratio = ln / n;
    for (let d = 0; d < n; d++) {
      const s = (d + 0.5) * ratio - 0.5;
      const first = (odd ? Math.round(s) : Math.floor(s) + 1) - off;
      const a = Math.min(ln, Math.max(0, first + off));
      anchor[d] = a;
      for (let k = 0; k < T; k++) {
        const i = a - off + k;
        const inside = i >= 0 && i < ln;
        idx[d * T + k] = inside ? i : 0;
        wgt[d * T + k] = inside ? Math.exp(-(i - s) * (i - s) * inv2s2) : 0;
      }
    }
    return { anchor, idx, wgt };
  };
  const ax = axis(W, lw);
  const ay = axis(H, lh);
  const { lut, scale: lutScale } = rangeLut(sigmaColor);

  // Output columns sharing a window anchor form runs (anchors never decrease along x).
  const runStart = new Int32Array(lw + 2);
  {
    let a = 0;
    runStart[0] = 0;
    for (let x = 0; x < W; x++) while (a < ax.anchor[x]) runStart[++a] = x;
    while (a < lw + 1) runStart[++a] = W;
  }
  for (let y = 0; y < H; y++) {
    jbuRow(y, W, C, T, lw, fw, gd, gl, lm, od, flat, ay.anchor[y], runStart, ax.idx, ax.wgt, ay.idx, ay.wgt, lut, lutScale);
  }
  return out;
}
