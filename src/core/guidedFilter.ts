/**
 * Guided-filter refinement (He, Sun, Tang, "Guided Image Filtering", 2010/2013; the fast variant
 * from He & Sun, "Fast Guided Filter", 2015): the model's low-resolution probability mask p is
 * fitted, window by window, as a linear function of the picture I (q = a·I + b), so where the
 * picture has an edge the mask's soft ramp snaps onto it, and where the picture is flat the mask
 * is just smoothed.
 *
 * The coefficients a, b are worked out at a reduced working size with O(1)-per-pixel box means
 * (blur.ts boxMean), upsampled bilinearly and applied to the full-resolution picture, so the cost
 * at full resolution is one bilinear sample and one multiply-add per pixel. Radius and working size
 * are relative to the frame, so the result looks the same on a thumbnail and a 12 MP photo.
 */
import { boxMean } from './blur.js';
import type { Frame, Mask } from './frame.js';
import { axisTaps, blendRows, type AxisTaps } from './postprocess.js';
import { applySoftEdge, softEdge, type SoftEdge } from './refine.js';
import { boxDownsample, resample, resampleTaps, scratchF32 } from './resize.js';

export interface GuidedFilterOptions {
  /** Window radius as a fraction of the frame's longer side. Default {@link GUIDED_DEFAULTS}.radius. */
  radius?: number;
  /** Regularisation ε on the guide's variance (guide values in 0..1): larger = smoother, less edge-following. */
  eps?: number;
  /**
   * Longer side of the working size, px, where a and b are computed (the fast guided filter's
   * subsampling s = the frame's longer side / workSide; never upsampled, so small frames run at
   * full resolution).
   */
  workSide?: number;
  /** 'grey': luma guide (1 channel); 'colour': RGB guide with a 3 × 3 covariance per window. */
  guide?: 'grey' | 'colour';
  /** Apply the soft edge (see smoothstepMask) to the filtered mask, in the same pass. */
  edge?: { threshold: number; softness: number };
  /**
   * Without `edge`: values within this distance of 0 or 1 come out as exactly 0 or 1, so spans far
   * from any edge are filled without reading the picture (as the soft edge allows). Default 0.
   */
  saturate?: number;
  /** Swap person and background (after the soft edge). */
  invert?: boolean;
  /** Where to write the result (frame-sized). */
  out?: Mask;
}

/**
 * Defaults, measured on the DEV human masks (`npm run eval`): a window of 2.5 % of the frame's
 * longer side, ε on the plateau where smaller values stop helping (about 1.4 grey levels of
 * standard deviation), a working size whose longer side is 256–511 px (as good as finer ones
 * and faster), and the colour guide (the grey guide lost 2.5–3 IoU points for about 40 % less time).
 */
export const GUIDED_DEFAULTS = { radius: 0.025, eps: 3e-5, workSide: 256, guide: 'colour' } as const satisfies GuidedFilterOptions;

/**
 * `refine: 'guided'`: width of the soft step taken on the model's probability around the user's
 * threshold before filtering (a crisper input lets the filter place the edge on the picture's).
 */
export const GUIDED_PRE_SOFTNESS = 0.3;
/** `refine: 'guided'`: the user's softness is scaled by this for the filtered mask's soft edge. */
export const GUIDED_SOFTNESS_SCALE = 0.5;

/** Rec. 601 luma weights, guide scaled to 0..1. */
const LR = 0.299 / 255, LG = 0.587 / 255, LB = 0.114 / 255;

function checkOptions(radius: number, eps: number, workSide: number, guide: string): void {
  if (!(radius > 0 && Number.isFinite(radius))) throw new RangeError(`guided radius must be a number > 0, got ${radius}`);
  if (!(eps > 0 && Number.isFinite(eps))) throw new RangeError(`guided eps must be a number > 0, got ${eps}`);
  if (!(workSide >= 1 && Number.isFinite(workSide))) throw new RangeError(`guided workSide must be a number ≥ 1, got ${workSide}`);
  if (guide !== 'grey' && guide !== 'colour') throw new RangeError(`guided guide must be 'grey' or 'colour', got ${JSON.stringify(guide)}`);
}

/**
 * The guided filter of the low-resolution mask `low` (any size) by `frame` (RGB or RGBA, any
 * size): a frame-sized mask in [0, 1], optionally soft-edged and inverted in the same pass.
 */
export function guidedUpsample(low: Mask, frame: Frame, options: GuidedFilterOptions = {}): Mask {
  const radius = options.radius ?? GUIDED_DEFAULTS.radius;
  const eps = options.eps ?? GUIDED_DEFAULTS.eps;
  const workSide = options.workSide ?? GUIDED_DEFAULTS.workSide;
  const guide = options.guide ?? GUIDED_DEFAULTS.guide;
  checkOptions(radius, eps, workSide, guide);
  const W = frame.width, H = frame.height, C = frame.channels;
  const edge = options.edge ? softEdge(options.edge.threshold, options.edge.softness) : null;
  const out = options.out ?? { width: W, height: H, data: new Float32Array(W * H) };
  if (out.width !== W || out.height !== H || out.data.length !== W * H) {
    throw new RangeError(`out mask is ${out.width}×${out.height} but must be ${W}×${H}`);
  }

  // Working size: k × k block means of the frame, k chosen so the longer side is workSide…2·workSide
  // (never upsampled; the last W mod k columns and H mod k rows are left out of the guide, but
  // every full-resolution pixel still gets coefficients, clamped at the edge).
  const k = Math.max(1, Math.min(Math.floor(Math.max(W, H) / workSide), W, H));
  const small = k === 1 ? frame : boxDownsample(frame, k);
  const ww = small.width, wh = small.height;
  const r = Math.max(1, Math.round(radius * Math.max(ww, wh)));
  const n = ww * wh;
  // The mask on the same grid: working pixel i is centred on full-resolution k·(i + ½).
  const p = scratchF32('guided.p', n);
  const xt = resampleTaps(low.width, 0, (low.width * k * ww) / W, ww);
  const yt = resampleTaps(low.height, 0, (low.height * k * wh) / H, wh);
  resample(low.data, low.width, 1, xt, yt, p);

  const coeffs = guide === 'grey' ? greyCoefficients(small.data, C, p, ww, wh, r, eps) : colourCoefficients(small.data, C, p, ww, wh, r, eps);
  const K = guide === 'grey' ? 2 : 4;

  const saturate = edge ? 0 : (options.saturate ?? 0);
  if (!(saturate >= 0 && saturate < 0.5)) throw new RangeError(`guided saturate must be in [0, 0.5), got ${saturate}`);
  applyCoefficients(frame, coeffs, K, ww, wh, k, edge, saturate, options.invert ?? false, out.data);
  return out;
}

/**
 * The `refine: 'guided'` recipe. The model's probability is first soft-stepped around `threshold`
 * (width {@link GUIDED_PRE_SOFTNESS}), so the threshold decides where the edge sits as in the other
 * modes; the guided filter then moves that edge onto the picture's own; last comes a soft edge of
 * width softness × {@link GUIDED_SOFTNESS_SCALE} around 0.5 of the filtered mask (the filter's
 * output already follows the picture's soft transitions, so a narrower step is enough; softness
 * 0 is a hard cut). Returns a frame-sized mask in [0, 1].
 */
export function guidedRefine(low: Mask, frame: Frame, threshold: number, softness: number, invert = false, out?: Mask): Mask {
  softEdge(threshold, softness); // checks both, so an error names the user's own values
  const crisp: Mask = { width: low.width, height: low.height, data: new Float32Array(low.data.length) };
  applySoftEdge(low.data, crisp.data, 0, low.data.length, softEdge(threshold, GUIDED_PRE_SOFTNESS));
  return guidedUpsample(crisp, frame, { edge: { threshold: 0.5, softness: softness * GUIDED_SOFTNESS_SCALE }, invert, out });
}

/**
 * Per working pixel: 0 when q = a·I + b is at or below the soft edge's lower end for every guide
 * value I in [0, 1] (so the output is exactly 0 there), 1 when at or above its upper end
 * (exactly 1), −1 otherwise. Bilinear blends of a and b blend q, so four neighbours of one class
 * fix every output pixel between them.
 */
function classify(coeffs: Float32Array, K: number, n: number, edge: SoftEdge | null, saturate: number): Int8Array {
  const cls = new Int8Array(n);
  const lowEnd = edge ? (edge.hard ? edge.threshold : edge.e0) : saturate;
  const highEnd = edge ? (edge.hard ? edge.threshold : edge.e1) : 1 - saturate;
  const strictHigh = edge?.hard ?? false;
  for (let i = 0, q = 0; i < n; i++, q += K) {
    let lo = coeffs[q + K - 1], hi = lo;
    for (let c = 0; c < K - 1; c++) {
      const a = coeffs[q + c];
      if (a < 0) lo += a;
      else hi += a;
    }
    cls[i] = hi <= lowEnd ? 0 : (strictHigh ? lo > highEnd : lo >= highEnd) ? 1 : -1;
  }
  return cls;
}

/**
 * q = ā·I + b̄ at full resolution, ā and b̄ bilinear (half-pixel centres) from the working grid
 * (working pixel i centred on full-resolution k·(i + ½)), clamped to [0, 1], soft-edged and
 * inverted as asked. Spans between working pixels of one class are filled without touching the
 * picture: most of a frame is far from any edge.
 */
function applyCoefficients(
  frame: Frame, coeffs: Float32Array, K: number, ww: number, wh: number, k: number,
  edge: SoftEdge | null, saturate: number, invert: boolean, od: Float32Array,
): void {
  const W = frame.width, H = frame.height, C = frame.channels, src = frame.data;
  // Coefficient values are in guide units of 0..1 for grey and 0..1 per channel for colour; the
  // bounds in classify assume I in [0, 1] per channel, which both guides satisfy.
  const cls = classify(coeffs, K, ww * wh, edge, saturate);
  const xs = axisTaps(ww, W, 0, W / k);
  const ys = axisTaps(wh, H, 0, H / k);
  // Output columns between working columns i and i + 1 form run i (xs.i0 never decreases).
  const runStart = new Int32Array(ww + 1);
  for (let x = 0, i = 0; x < W; x++) while (i < xs.i0[x]) runStart[++i] = x;
  for (let i = xs.i0[W - 1] + 1; i <= ww; i++) runStart[i] = W;
  const rowCls = new Int8Array(ww);
  const vrow = scratchF32('guided.vrow', ww * K);
  const rowLen = ww * K;
  const one = invert ? 0 : 1;
  for (let y = 0; y < H; y++) {
    const j0 = ys.i0[y], j1 = ys.i1[y], wy = ys.w1[y];
    for (let i = 0; i < ww; i++) {
      const a = cls[j0 * ww + i];
      rowCls[i] = a === cls[j1 * ww + i] ? a : -1;
    }
    let blended = false;
    const o = y * W;
    // Consecutive runs of one kind (all computed, or all the same constant) go in one call.
    for (let i = 0; i < ww;) {
      const kind = runKind(rowCls, i, ww);
      let e = i + 1;
      while (e < ww && runKind(rowCls, e, ww) === kind) e++;
      const x0 = runStart[i], x1 = runStart[e];
      i = e;
      if (x0 === x1) continue;
      if (kind >= 0) {
        od.fill(kind === 1 ? one : 1 - one, o + x0, o + x1);
        continue;
      }
      if (!blended) {
        blendRows(coeffs, j0 * rowLen, j1 * rowLen, wy, vrow, 0, rowLen);
        blended = true;
      }
      if (K === 2) greySpan(src, C, vrow, xs, o, x0, x1, od);
      else colourSpan(src, C, vrow, xs, o, x0, x1, od);
      if (edge) applySoftEdge(od, od, o + x0, o + x1, edge, invert);
      else if (saturate > 0) snap(od, o + x0, o + x1, saturate, invert);
      else if (invert) for (let q = o + x0; q < o + x1; q++) od[q] = 1 - od[q];
    }
  }
}

/** od[from..to) within `s` of 0 or 1 set to exactly that (then 1 − value when `invert`), as classify's bounds. */
function snap(od: Float32Array, from: number, to: number, s: number, invert: boolean): void {
  const hi = 1 - s;
  for (let q = from; q < to; q++) {
    const v = od[q];
    const w = v <= s ? 0 : v >= hi ? 1 : v;
    od[q] = invert ? 1 - w : w;
  }
}

/** Run i's output: 0 or 1 when both working columns around it are of that class, else −1 (compute). */
function runKind(rowCls: Int8Array, i: number, ww: number): number {
  const c = rowCls[i];
  return c >= 0 && c === rowCls[i + 1 < ww ? i + 1 : i] ? c : -1;
}

function greySpan(src: Uint8Array | Uint8ClampedArray, C: number, v: Float32Array, xs: AxisTaps, o: number, x0: number, x1: number, od: Float32Array): void {
  const { i0, i1, w1 } = xs;
  for (let x = x0, p = (o + x0) * C; x < x1; x++, p += C) {
    const s = i0[x] * 2, t = i1[x] * 2, f = w1[x];
    const a = v[s] + (v[t] - v[s]) * f;
    const b = v[s + 1] + (v[t + 1] - v[s + 1]) * f;
    const q = a * (LR * src[p] + LG * src[p + 1] + LB * src[p + 2]) + b;
    od[o + x] = q > 0 ? (q < 1 ? q : 1) : 0;
  }
}

function colourSpan(src: Uint8Array | Uint8ClampedArray, C: number, v: Float32Array, xs: AxisTaps, o: number, x0: number, x1: number, od: Float32Array): void {
  const { i0, i1, w1 } = xs;
  const k255 = 1 / 255;
  for (let x = x0, p = (o + x0) * C; x < x1; x++, p += C) {
    const s = i0[x] * 4, t = i1[x] * 4, f = w1[x];
    const ar = v[s] + (v[t] - v[s]) * f;
    const ag = v[s + 1] + (v[t + 1] - v[s + 1]) * f;
    const ab = v[s + 2] + (v[t + 2] - v[s + 2]) * f;
    const b = v[s + 3] + (v[t + 3] - v[s + 3]) * f;
    const q = (ar * src[p] + ag * src[p + 1] + ab * src[p + 2]) * k255 + b;
    od[o + x] = q > 0 ? (q < 1 ? q : 1) : 0;
  }
}

/**
 * Grey guide: per window a = cov(I, p) / (var(I) + ε), b = mean(p) − a·mean(I); then the means
 * of a and b over the windows covering each pixel. Returns [ā, b̄] interleaved (scratch).
 */
function greyCoefficients(small: Uint8Array | Uint8ClampedArray, C: number, p: Float32Array, ww: number, wh: number, r: number, eps: number): Float32Array {
  const n = ww * wh;
  const stats = scratchF32('guided.stats', n * 4);
  for (let i = 0, g = 0, q = 0; i < n; i++, g += C, q += 4) {
    const I = LR * small[g] + LG * small[g + 1] + LB * small[g + 2];
    const v = p[i];
    stats[q] = I; stats[q + 1] = v; stats[q + 2] = I * I; stats[q + 3] = I * v;
  }
  boxMean(stats, ww, wh, 4, r, 'clamp');
  const ab = scratchF32('guided.ab', n * 2);
  for (let i = 0, q = 0, k = 0; i < n; i++, q += 4, k += 2) {
    const mI = stats[q], mp = stats[q + 1];
    const a = (stats[q + 3] - mI * mp) / (stats[q + 2] - mI * mI + eps);
    ab[k] = a;
    ab[k + 1] = mp - a * mI;
  }
  return boxMean(ab, ww, wh, 2, r, 'clamp');
}

/**
 * Colour guide: per window a = (Σ + εU)⁻¹ cov(I, p) with Σ the RGB covariance (3 × 3),
 * b = mean(p) − a·mean(I). Returns [ā_r, ā_g, ā_b, b̄] interleaved (scratch).
 */
function colourCoefficients(small: Uint8Array | Uint8ClampedArray, C: number, p: Float32Array, ww: number, wh: number, r: number, eps: number): Float32Array {
  const n = ww * wh;
  const S = 13;
  const stats = scratchF32('guided.stats', n * S);
  const k255 = 1 / 255;
  for (let i = 0, g = 0, q = 0; i < n; i++, g += C, q += S) {
    const R = small[g] * k255, G = small[g + 1] * k255, B = small[g + 2] * k255;
    const v = p[i];
    stats[q] = R; stats[q + 1] = G; stats[q + 2] = B; stats[q + 3] = v;
    stats[q + 4] = R * R; stats[q + 5] = R * G; stats[q + 6] = R * B;
    stats[q + 7] = G * G; stats[q + 8] = G * B; stats[q + 9] = B * B;
    stats[q + 10] = R * v; stats[q + 11] = G * v; stats[q + 12] = B * v;
  }
  boxMean(stats, ww, wh, S, r, 'clamp');
  const ab = scratchF32('guided.ab', n * 4);
  for (let i = 0, q = 0, k = 0; i < n; i++, q += S, k += 4) {
    const mR = stats[q], mG = stats[q + 1], mB = stats[q + 2], mp = stats[q + 3];
    // Covariance matrix Σ + εU (symmetric) and cov(I, p).
    const rr = stats[q + 4] - mR * mR + eps, rg = stats[q + 5] - mR * mG, rb = stats[q + 6] - mR * mB;
    const gg = stats[q + 7] - mG * mG + eps, gb = stats[q + 8] - mG * mB, bb = stats[q + 9] - mB * mB + eps;
    const cr = stats[q + 10] - mR * mp, cg = stats[q + 11] - mG * mp, cb = stats[q + 12] - mB * mp;
    // Inverse by cofactors (Σ + εU is positive definite, so det > 0).
    const i00 = gg * bb - gb * gb, i01 = rb * gb - rg * bb, i02 = rg * gb - rb * gg;
    const i11 = rr * bb - rb * rb, i12 = rb * rg - rr * gb, i22 = rr * gg - rg * rg;
    const inv = 1 / (rr * i00 + rg * i01 + rb * i02);
    const ar = (i00 * cr + i01 * cg + i02 * cb) * inv;
    const ag = (i01 * cr + i11 * cg + i12 * cb) * inv;
    const ablue = (i02 * cr + i12 * cg + i22 * cb) * inv;
    ab[k] = ar; ab[k + 1] = ag; ab[k + 2] = ablue;
    ab[k + 3] = mp - ar * mR - ag * mG - ablue * mB;
  }
  return boxMean(ab, ww, wh, 4, r, 'clamp');
}
