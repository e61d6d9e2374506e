/**
 * Guided-filter refinement (He, Sun, Tang, "Guided Image Filtering", 2010/2013; the fast variant
 * from He & Sun, "Fast Guided Filter", 2015): the model's low-resolution probability mask p is
 * fitted, window by window, as a linear function of the picture I (q = a·I + b), so where the
 * picture has an edge the mask's soft ramp snaps onto it, and where the picture is flat the mask
 * is just smoothed.
 *
 * The coefficients a, b are worked out at a reduced working size with O(1)-per-pixel box means
 * (running sums: blur.ts boxMean for the grey guide, fused ones for the colour guide), upsampled
 * bilinearly and applied to the full-resolution picture, so the cost
 * at full resolution is one bilinear sample and one multiply-add per pixel. Radius and working size
 * are relative to the frame, so the result looks the same on a thumbnail and a 12 MP photo.
 */
import { boxMean } from './blur.js';
import type { Frame, Mask } from './frame.js';
import { axisTaps, blendRows, type AxisTaps } from './postprocess.js';
import { applySoftEdge, softEdge, type SoftEdge } from './refine.js';
import { boxDownsample, resample, resampleTaps, scratchF32, type ResampleTaps } from './resize.js';

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
  /**
   * A stream's coefficients, kept from frame to frame: this call's are stored in it, or with
   * `reuse` the stored ones (of a frame the same size) are applied to this frame's picture instead
   * of being worked out from it and the mask (the mask is then not read).
   */
  coefficients?: KeptCoefficients;
}

/** See GuidedFilterOptions.coefficients. */
export interface KeptCoefficients {
  /** Apply the stored coefficients (when they fit) instead of working out new ones. */
  reuse: boolean;
  /** The stored a and b (K per working pixel). */
  data: Float32Array | null;
  /** The frame size, working block and filter settings they were worked out for. */
  key: string;
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
  const ww = Math.floor(W / k), wh = Math.floor(H / k);
  const K = guide === 'grey' ? 2 : 4;
  const kept = options.coefficients;
  const key = `${W}×${H}×${C}:${k}:${guide}:${radius}:${eps}`;
  let coeffs: Float32Array;
  if (kept?.reuse && kept.data && kept.key === key) coeffs = kept.data;
  else {
    const small = k === 1 ? frame : boxDownsample(frame, k, smallBuffer(ww * wh * C));
    const r = Math.max(1, Math.round(radius * Math.max(ww, wh)));
    // The mask on the same grid: working pixel i is centred on full-resolution k·(i + ½).
    const p = scratchF32('guided.p', ww * wh);
    const xt = cachedTaps(low.width, (low.width * k * ww) / W, ww);
    const yt = cachedTaps(low.height, (low.height * k * wh) / H, wh);
    resample(low.data, low.width, 1, xt, yt, p);
    coeffs = guide === 'grey' ? greyCoefficients(small.data, C, p, ww, wh, r, eps) : colourCoefficients(small.data, C, p, ww, wh, r, eps);
    if (kept) {
      if (kept.data?.length !== ww * wh * K) kept.data = new Float32Array(ww * wh * K);
      kept.data.set(coeffs.subarray(0, ww * wh * K));
      kept.key = key;
    }
  }

  const saturate = edge ? 0 : (options.saturate ?? 0);
  if (!(saturate >= 0 && saturate < 0.5)) throw new RangeError(`guided saturate must be in [0, 0.5), got ${saturate}`);
  applyCoefficients(frame, coeffs, K, ww, wh, k, edge, saturate, options.invert ?? false, out.data);
  return out;
}

/** The mask's resampling taps for the last few sizes: a stream asks for the same ones every frame. */
const tapsCache = new Map<string, ResampleTaps>();

function cachedTaps(size: number, span: number, out: number): ResampleTaps {
  const key = `${size}:${span}:${out}`;
  let taps = tapsCache.get(key);
  if (!taps) {
    if (tapsCache.size >= 8) tapsCache.clear();
    tapsCache.set(key, (taps = resampleTaps(size, 0, span, out)));
  }
  return taps;
}

let smallData = new Uint8Array(0);

/** The working-size guide's buffer, reused from call to call (a stream's every frame). */
function smallBuffer(size: number): Uint8Array {
  if (smallData.length !== size) smallData = new Uint8Array(size);
  return smallData;
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
function classify(coeffs: Float32Array, K: number, n: number, edge: SoftEdge | null, saturate: number, tables: ApplyTables): Int8Array {
  if (tables.cls.length < n) tables.cls = new Int8Array(n);
  const cls = tables.cls;
  const lowEnd = edge ? (edge.hard ? edge.threshold : edge.e0) : saturate;
  const highEnd = edge ? (edge.hard ? edge.threshold : edge.e1) : 1 - saturate;
  const strictHigh = edge?.hard ?? false;
  if (K === 4 && !strictHigh) {
    // The colour guide's three slopes written out, branch-free (adding 0 leaves a sum unchanged).
    for (let i = 0, q = 0; i < n; i++, q += 4) {
      const ar = coeffs[q], ag = coeffs[q + 1], ab = coeffs[q + 2], b = coeffs[q + 3];
      const hi = b + (ar < 0 ? 0 : ar) + (ag < 0 ? 0 : ag) + (ab < 0 ? 0 : ab);
      const lo = b + (ar < 0 ? ar : 0) + (ag < 0 ? ag : 0) + (ab < 0 ? ab : 0);
      cls[i] = hi <= lowEnd ? 0 : lo >= highEnd ? 1 : -1;
    }
    return cls;
  }
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

/** applyCoefficients' tables for one pair of sizes, kept from call to call (a stream's every frame). */
interface ApplyTables {
  key: string;
  xs: AxisTaps;
  ys: AxisTaps;
  /** Output columns between working columns i and i + 1 form run i (xs.i0 never decreases). */
  runStart: Int32Array;
  rowCls: Int8Array;
  /**
   * The runs of a pair of working rows, 3 entries each: first working column, one past the last,
   * kind (0 or 1: that constant; −1: computed). Output rows between the same two working rows
   * (about k of them) share them.
   */
  runs: Int32Array;
  /** Per working pixel's class (see classify), grown as needed. */
  cls: Int8Array;
}

let lastTables: ApplyTables | null = null;

function applyTables(ww: number, wh: number, W: number, H: number, k: number): ApplyTables {
  const key = `${ww}:${wh}:${W}:${H}:${k}`;
  if (lastTables?.key === key) return lastTables;
  const xs = axisTaps(ww, W, 0, W / k);
  const ys = axisTaps(wh, H, 0, H / k);
  const runStart = new Int32Array(ww + 1);
  for (let x = 0, i = 0; x < W; x++) while (i < xs.i0[x]) runStart[++i] = x;
  for (let i = xs.i0[W - 1] + 1; i <= ww; i++) runStart[i] = W;
  lastTables = { key, xs, ys, runStart, rowCls: new Int8Array(ww), runs: new Int32Array(3 * ww), cls: lastTables?.cls ?? new Int8Array(0) };
  return lastTables;
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
  const t = applyTables(ww, wh, W, H, k);
  const { xs, ys, runStart, rowCls, runs } = t;
  const cls = classify(coeffs, K, ww * wh, edge, saturate, t);
  const vrow = scratchF32('guided.vrow', ww * K);
  const rowLen = ww * K;
  const one = invert ? 0 : 1;
  let runCount = 0;
  for (let y = 0, pj0 = -1, pj1 = -1; y < H; y++) {
    const j0 = ys.i0[y], j1 = ys.i1[y], wy = ys.w1[y];
    if (j0 !== pj0 || j1 !== pj1) {
      pj0 = j0;
      pj1 = j1;
      for (let i = 0; i < ww; i++) {
        const a = cls[j0 * ww + i];
        rowCls[i] = a === cls[j1 * ww + i] ? a : -1;
      }
      // Consecutive runs of one kind (all computed, or all the same constant) go in one call.
      runCount = 0;
      for (let i = 0; i < ww;) {
        const kind = runKind(rowCls, i, ww);
        let e = i + 1;
        while (e < ww && runKind(rowCls, e, ww) === kind) e++;
        if (runStart[i] !== runStart[e]) {
          runs[runCount++] = i;
          runs[runCount++] = e;
          runs[runCount++] = kind;
        }
        i = e;
      }
    }
    const o = y * W;
    for (let r = 0; r < runCount; r += 3) {
      const i0 = runs[r], e = runs[r + 1], kind = runs[r + 2];
      const x0 = runStart[i0], x1 = runStart[e];
      if (kind >= 0) {
        od.fill(kind === 1 ? one : 1 - one, o + x0, o + x1);
        continue;
      }
      // Only the working columns this span reads (i0 … e, clamped): most of a row is constant.
      const c0 = i0 * K, c1 = (e < ww ? e + 1 : ww) * K;
      blendRows(coeffs, j0 * rowLen + c0, j1 * rowLen + c0, wy, vrow, c0, c1 - c0);
      if (K === 4 && !edge && saturate > 0 && !invert) {
        // A stream's mask: clamped and snapped in the same loop.
        colourSpan(src, C, vrow, xs, o, x0, x1, od, saturate);
        continue;
      }
      if (K === 2) greySpan(src, C, vrow, xs, o, x0, x1, od);
      else colourSpan(src, C, vrow, xs, o, x0, x1, od, 0);
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

/**
 * The colour guide's q over output pixels [x0, x1) of a row, clamped to [0, 1]; with `within` > 0
 * also snapped as {@link snap} does (0 < within < 0.5) in the same loop.
 */
function colourSpan(src: Uint8Array | Uint8ClampedArray, C: number, v: Float32Array, xs: AxisTaps, o: number, x0: number, x1: number, od: Float32Array, within: number): void {
  const { i0, i1, w1 } = xs;
  const k255 = 1 / 255;
  // Clamping to [0, 1], storing as float32 and then snapping is snapping the float32 q itself.
  const lo = within, hi = 1 - within;
  for (let x = x0, p = (o + x0) * C; x < x1; x++, p += C) {
    const s = i0[x] * 4, t = i1[x] * 4, f = w1[x];
    const ar = v[s] + (v[t] - v[s]) * f;
    const ag = v[s + 1] + (v[t + 1] - v[s + 1]) * f;
    const ab = v[s + 2] + (v[t + 2] - v[s + 2]) * f;
    const b = v[s + 3] + (v[t + 3] - v[s + 3]) * f;
    const q = Math.fround((ar * src[p] + ag * src[p + 1] + ab * src[p + 2]) * k255 + b);
    od[o + x] = q > lo ? (q < hi ? q : 1) : 0;
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
 *
 * The 13 window sums (R, G, B, p and their products) are never stored as images: each row's
 * horizontal sums are taken with running sums straight from the guide's bytes and p, kept in a ring
 * of the 2r + 2 rows the vertical running sums need, and every row's a and b are solved as soon as
 * its vertical sums are known. The box mean of a and b is a second pair of running sums. All sums
 * in float64 (what the reference computes), half the time of 13-channel box means of a stats image.
 */
function colourCoefficients(small: Uint8Array | Uint8ClampedArray, C: number, p: Float32Array, ww: number, wh: number, r: number, eps: number): Float32Array {
  const S = 13;
  const slots = 2 * r + 2;
  const rowLen = ww * S;
  const ring = scratchF64('guided.ring', slots * rowLen);
  const acc = scratchF64('guided.acc', rowLen);
  // Horizontal sums of a and b (4 per pixel), then their vertical box mean.
  const abSums = scratchF64('guided.abSums', ww * wh * 4);
  const abRow = scratchF64('guided.abRow', ww * 4);
  const lastRow = wh - 1;
  let computed = -1;
  const rowAt = (j: number): number => {
    // Rows are asked for in increasing order, each at most 2r + 1 rows behind the newest.
    while (computed < j) {
      computed++;
      colourRowSums(small, C, p, ww, computed, r, ring, (computed % slots) * rowLen);
    }
    return (j % slots) * rowLen;
  };
  acc.fill(0);
  for (let k = -r; k <= r; k++) addRow64(acc, ring, rowAt(k < 0 ? 0 : k > lastRow ? lastRow : k), rowLen);
  const inv = 1 / ((2 * r + 1) * (2 * r + 1));
  for (let y = 0; y < wh; y++) {
    // The window moves down a row: row y + r comes in, row y − r − 1 goes (edge rows repeated).
    const add = y === 0 ? -1 : y + r > lastRow ? lastRow : y + r;
    const sub = y - r - 1 < 0 ? 0 : y - r - 1;
    if (add >= 0 && add !== sub) solveColourRow(acc, ring, rowAt(add), (sub % slots) * rowLen, ww, inv, eps, abRow);
    else solveColourRow(acc, ring, -1, -1, ww, inv, eps, abRow);
    slideRow4(abRow, ww, r, abSums, y * ww * 4);
  }
  return verticalMean4(abSums, ww, wh, r, scratchF32('guided.ab', ww * wh * 4));
}

const scratch64 = new Map<string, Float64Array>();

/** A reusable Float64Array for `key` (see scratchF32). */
function scratchF64(key: string, size: number): Float64Array {
  let a = scratch64.get(key);
  if (!a || a.length < size) scratch64.set(key, (a = new Float64Array(size)));
  return a.length === size ? a : a.subarray(0, size);
}

/** acc[0..len) += src[o..o + len). */
function addRow64(acc: Float64Array, src: Float64Array, o: number, len: number): void {
  for (let i = 0; i < len; i++) acc[i] += src[o + i];
}

/**
 * Row y's window sums across (2r + 1 pixels, edge pixels repeated) of R, G, B, p, RR, RG, RB,
 * GG, GB, BB, Rp, Gp, Bp (guide in 0..1), 13 per pixel, into out at o: running sums, each step
 * adding the pixel that enters the window and taking away the one that leaves.
 */
function colourRowSums(g: Uint8Array | Uint8ClampedArray, C: number, p: Float32Array, ww: number, y: number, r: number, out: Float64Array, o: number): void {
  const k255 = 1 / 255;
  const last = ww - 1;
  const gRow = y * ww * C, pRow = y * ww;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0, s8 = 0, s9 = 0, s10 = 0, s11 = 0, s12 = 0;
  for (let k = -r; k <= r; k++) {
    const x = k < 0 ? 0 : k > last ? last : k;
    const q = gRow + x * C;
    const R = g[q] * k255, G = g[q + 1] * k255, B = g[q + 2] * k255, v = p[pRow + x];
    s0 += R; s1 += G; s2 += B; s3 += v;
    s4 += R * R; s5 += R * G; s6 += R * B; s7 += G * G; s8 += G * B; s9 += B * B;
    s10 += R * v; s11 += G * v; s12 += B * v;
  }
  for (let x = 0; x < ww; x++, o += 13) {
    out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3; out[o + 4] = s4; out[o + 5] = s5; out[o + 6] = s6;
    out[o + 7] = s7; out[o + 8] = s8; out[o + 9] = s9; out[o + 10] = s10; out[o + 11] = s11; out[o + 12] = s12;
    const xa = x + r + 1 > last ? last : x + r + 1, xd = x - r < 0 ? 0 : x - r;
    if (xa === xd) continue;
    const qa = gRow + xa * C, qd = gRow + xd * C;
    const Ra = g[qa] * k255, Ga = g[qa + 1] * k255, Ba = g[qa + 2] * k255, va = p[pRow + xa];
    const Rd = g[qd] * k255, Gd = g[qd + 1] * k255, Bd = g[qd + 2] * k255, vd = p[pRow + xd];
    s0 += Ra - Rd; s1 += Ga - Gd; s2 += Ba - Bd; s3 += va - vd;
    s4 += Ra * Ra - Rd * Rd; s5 += Ra * Ga - Rd * Gd; s6 += Ra * Ba - Rd * Bd;
    s7 += Ga * Ga - Gd * Gd; s8 += Ga * Ba - Gd * Bd; s9 += Ba * Ba - Bd * Bd;
    s10 += Ra * va - Rd * vd; s11 += Ga * va - Gd * vd; s12 += Ba * va - Bd * vd;
  }
}

/** A window whose mean mask is within this of 0 or 1 holds one value only (p is in [0, 1]): its a is 0. */
const FLAT = 1e-9;

/**
 * A row's a and b ([a_r, a_g, a_b, b] per pixel) from its 13 vertical window sums `acc` (times
 * inv: the means), after moving the window: ring row `add` added and `sub` taken away (add < 0:
 * it stays). One pass, so each sum is read and written once.
 */
function solveColourRow(acc: Float64Array, ring: Float64Array, add: number, sub: number, ww: number, inv: number, eps: number, out: Float64Array): void {
  if (add >= 0) {
    const n = ww * 13;
    for (let c = 0; c < n; c++) acc[c] += ring[add + c] - ring[sub + c];
  }
  for (let x = 0, q = 0, k = 0; x < ww; x++, q += 13, k += 4) {
    const mp = acc[q + 3] * inv;
    if (mp < FLAT || mp > 1 - FLAT) {
      // All background or all person in the window (bar the running sums' rounding): p does not
      // vary, so cov(I, p) = 0, a = 0 and b = mean(p).
      out[k] = out[k + 1] = out[k + 2] = 0;
      out[k + 3] = mp;
      continue;
    }
    const mR = acc[q] * inv, mG = acc[q + 1] * inv, mB = acc[q + 2] * inv;
    // Covariance matrix Σ + εU (symmetric) and cov(I, p).
    const rr = acc[q + 4] * inv - mR * mR + eps, rg = acc[q + 5] * inv - mR * mG, rb = acc[q + 6] * inv - mR * mB;
    const gg = acc[q + 7] * inv - mG * mG + eps, gb = acc[q + 8] * inv - mG * mB, bb = acc[q + 9] * inv - mB * mB + eps;
    const cr = acc[q + 10] * inv - mR * mp, cg = acc[q + 11] * inv - mG * mp, cb = acc[q + 12] * inv - mB * mp;
    // Inverse by cofactors (Σ + εU is positive definite, so det > 0).
    const i00 = gg * bb - gb * gb, i01 = rb * gb - rg * bb, i02 = rg * gb - rb * gg;
    const i11 = rr * bb - rb * rb, i12 = rb * rg - rr * gb, i22 = rr * gg - rg * rg;
    const det = 1 / (rr * i00 + rg * i01 + rb * i02);
    const ar = (i00 * cr + i01 * cg + i02 * cb) * det;
    const ag = (i01 * cr + i11 * cg + i12 * cb) * det;
    const ablue = (i02 * cr + i12 * cg + i22 * cb) * det;
    out[k] = ar; out[k + 1] = ag; out[k + 2] = ablue;
    out[k + 3] = mp - ar * mR - ag * mG - ablue * mB;
  }
}

/** A row of 4 values per pixel summed across windows of 2r + 1 pixels (edge pixels repeated), into out at o. */
function slideRow4(src: Float64Array, ww: number, r: number, out: Float64Array, o: number): void {
  const last = ww - 1;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let k = -r; k <= r; k++) {
    const q = (k < 0 ? 0 : k > last ? last : k) * 4;
    s0 += src[q]; s1 += src[q + 1]; s2 += src[q + 2]; s3 += src[q + 3];
  }
  for (let x = 0; x < ww; x++, o += 4) {
    out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
    const qa = (x + r + 1 > last ? last : x + r + 1) * 4, qd = (x - r < 0 ? 0 : x - r) * 4;
    s0 += src[qa] - src[qd]; s1 += src[qa + 1] - src[qd + 1]; s2 += src[qa + 2] - src[qd + 2]; s3 += src[qa + 3] - src[qd + 3];
  }
}

/** The vertical (2r + 1)-row mean (edge rows repeated) of horizontal sums of 4 values per pixel: the box mean, into out. */
function verticalMean4(sums: Float64Array, ww: number, wh: number, r: number, out: Float32Array): Float32Array {
  const rowLen = ww * 4;
  const acc = scratchF64('guided.acc4', rowLen);
  const lastRow = wh - 1;
  const inv = 1 / ((2 * r + 1) * (2 * r + 1));
  acc.fill(0);
  for (let k = -r; k <= r; k++) addRow64(acc, sums, (k < 0 ? 0 : k > lastRow ? lastRow : k) * rowLen, rowLen);
  for (let y = 0; y < wh; y++) {
    const o = y * rowLen;
    const add = (y + r + 1 > lastRow ? lastRow : y + r + 1) * rowLen;
    const sub = (y - r < 0 ? 0 : y - r) * rowLen;
    for (let i = 0; i < rowLen; i++) {
      const v = acc[i];
      out[o + i] = v * inv;
      acc[i] = v + sums[add + i] - sums[sub + i];
    }
  }
  return out;
}
