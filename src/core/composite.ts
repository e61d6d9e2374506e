/**
 * Compositing: the person (mask = 1) over a new background — the blurred original, an image or a
 * colour — with optional light wrapping, plus the mask as an 8-bit grey image.
 */
import { blurBackground, blurBackgroundFor, boxBlur3 } from './blur.js';
import type { RGBA } from './color.js';
import type { Frame, Mask } from './frame.js';
import { axisTaps, stretchRows } from './postprocess.js';
import { applySoftEdge, softEdge, type SoftEdge } from './refine.js';
import { fitBackground, resampleTaps, resizeMask, scratchF32, type Fit, type ResampleTaps } from './resize.js';

/** What goes behind the person. */
export type Background =
  | { kind: 'blur'; strength: number }
  | { kind: 'image'; image: Frame; fit?: Fit }
  | { kind: 'color'; color: RGBA };

export interface CompositeOptions {
  /**
   * Light wrapping for `image` and `color` backgrounds (never for `blur`): how strongly the new
   * background's light bleeds onto the person's edge, 0..1. Default 0.3; 0 disables it.
   */
  lightWrap?: number;
  /**
   * Where to write the result (same size and channels as the frame; may be the frame itself, to
   * composite in place). Reusing one output frame per video saves allocating a frame each time.
   */
  out?: Frame;
}

/** {@link compositeLowRes}'s options. */
export interface LowResCompositeOptions extends CompositeOptions {
  /**
   * A smaller copy of the frame (e.g. a stream's working frame) for the blurred background to
   * start from, so the full-size frame is not read again for it.
   */
  small?: Frame;
}

/** Default light-wrap strength (see CompositeOptions). */
const DEFAULT_LIGHT_WRAP = 0.3;

// Fitted background images, by identity of the image Frame (treat image frames as immutable:
// pass a new Frame object when the picture changes). A few sizes/fits are kept per image.
const fitCache = new WeakMap<Frame, { width: number; height: number; fit: Fit; fitted: Frame }[]>();
const FIT_CACHE_ENTRIES = 4;

function fittedImage(image: Frame, width: number, height: number, fit: Fit): Frame {
  // Already the frame's size (e.g. a background video decoded at the output size): every fit is the image itself.
  if (image.width === width && image.height === height) return image;
  let entries = fitCache.get(image);
  if (!entries) {
    entries = [];
    fitCache.set(image, entries);
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.width === width && e.height === height && e.fit === fit) {
      if (i > 0) {
        entries.splice(i, 1);
        entries.unshift(e);
      }
      return e.fitted;
    }
  }
  const fitted = fitBackground(image, width, height, fit);
  entries.unshift({ width, height, fit, fitted });
  if (entries.length > FIT_CACHE_ENTRIES) entries.pop();
  return fitted;
}

/**
 * Blurred copy of the mask at low resolution (edge-clamped), widened to the frame's width W. The
 * mask may be at the frame's size or smaller (it is point-sampled down to the blur's size).
 */
function blurredMaskRows(mask: Mask, W: number, H: number, sigmaFull: number): { rows: Float32Array; lh: number } {
  const factor = Math.max(1, Math.min(sigmaFull / 2, Math.min(W, H) / 32));
  const lw = Math.max(1, Math.round(W / factor));
  const lh = Math.max(1, Math.round(H / factor));
  // Point (bilinear) samples are enough here: the blur that follows is wider than the sample
  // spacing, and it saves reading the whole full-resolution mask.
  const small = resizeMask(mask, lw, lh, 'bilinear');
  const blurred = boxBlur3(small.data, lw, lh, 1, sigmaFull / Math.sqrt((W / lw) * (H / lh)), 'clamp');
  return { rows: stretchRows('composite.wrap', blurred, lw, lh, 1, W), lh };
}

/** What a run of a mask row holds: all person (1), all background (0), or values to read. */
const PERSON = 1;
const BACKGROUND = 2;
const EDGE = 0;

/**
 * Where the compositing loops read the mask, one output row at a time: `row(y)` makes row y's
 * values readable in `data` and returns where they start; after it, `runs` says which stretches of
 * the row are all person or all background (triples start, end, kind; `runCount` of them), so the
 * loops skip the person and take the background without blending. With `edgesOnly`, only the
 * EDGE runs' values need be written.
 */
interface MaskRows {
  data: Float32Array;
  row(y: number, edgesOnly?: boolean): number;
  runs: Int32Array;
  runCount: number;
}

/** A whole mask: one EDGE run per row (its values are read pixel by pixel). */
function wholeMaskRows(mask: Mask): MaskRows {
  const W = mask.width;
  return { data: mask.data, row: (y) => y * W, runs: Int32Array.of(0, W, EDGE), runCount: 1 };
}

/**
 * The model's mask upsampled (bilinear) and soft-edged one output row at a time, in a single
 * reused row: the same values as smoothstepMask(upsampleBilinear(low)) (then inverted), without
 * writing and re-reading a frame-sized float mask. Only pixels near the edge are computed: a
 * bilinear sample lies between its four taps, so where all four are past the soft edge's ends the
 * value is exactly 0 or 1 — most of a frame.
 */
function refinedMaskRows(low: Mask, W: number, H: number, soft: SoftEdge, invert: boolean): MaskRows {
  const lw = low.width;
  const ys = axisTaps(low.height, H);
  const xs = axisTaps(lw, W);
  const kinds = new Uint8Array(lw);
  // xFrom[c]: the first output pixel whose two column taps are both at c or right of it; xTo[c]:
  // one past the last whose taps are both at c or left of it. Runs are then found per low column.
  const xFrom = new Int32Array(lw + 1).fill(W);
  const xTo = new Int32Array(lw).fill(0);
  for (let x = W - 1; x >= 0; x--) xFrom[xs.i0[x]] = x;
  for (let c = lw - 1; c >= 0; c--) if (xFrom[c] > xFrom[c + 1]) xFrom[c] = xFrom[c + 1];
  for (let x = 0; x < W; x++) xTo[xs.i1[x]] = x + 1;
  for (let c = 1; c < lw; c++) if (xTo[c] < xTo[c - 1]) xTo[c] = xTo[c - 1];
  const result: MaskRows = { data: scratchF32('composite.maskRow', W), row, runs: new Int32Array(3 * (2 * lw + 2)), runCount: 0 };
  // Output rows between the same two low rows (several in a row when upsampling) share their runs.
  let classifiedA = -1, classifiedB = -1;
  function row(y: number, edgesOnly = false): number {
    const a = ys.i0[y] * lw, b = ys.i1[y] * lw;
    if (a !== classifiedA || b !== classifiedB) {
      classifiedA = a;
      classifiedB = b;
      classifyColumns(low.data, a, b, lw, soft, kinds);
      result.runCount = runsOf(kinds, xFrom, xTo, W, invert, result.runs);
    }
    const { data, runs } = result;
    for (let r = 0; r < result.runCount; r++) {
      const x0 = runs[3 * r], x1 = runs[3 * r + 1], kind = runs[3 * r + 2];
      if (kind === EDGE) refinedValues(low.data, a, b, ys.w1[y], xs, x0, x1, soft, invert, data);
      else if (!edgesOnly) data.fill(kind === PERSON ? 1 : 0, x0, x1);
    }
    return 0;
  }
  return result;
}

/**
 * kinds[c] for low columns c of the rows at a and b: PERSON where the soft edge gives 1 for both
 * (from e1 up; a hard cut: above the threshold), BACKGROUND where it gives 0 for both, else EDGE.
 */
function classifyColumns(src: Float32Array, a: number, b: number, lw: number, soft: SoftEdge, kinds: Uint8Array): void {
  const { hard, threshold, e0, e1 } = soft;
  for (let c = 0; c < lw; c++) {
    const p = src[a + c], q = src[b + c];
    const min = p < q ? p : q, max = p < q ? q : p;
    const person = hard ? min > threshold : min >= e1;
    const background = hard ? max <= threshold : max <= e0;
    kinds[c] = person ? PERSON : background ? BACKGROUND : EDGE;
  }
}

/**
 * The output row's runs as (start, end, kind) triples from the low columns' kinds: a stretch of
 * low columns of one kind covers the output pixels whose two taps lie in it; what lies between
 * such stretches is EDGE. Person and background swap when inverted. Returns the count.
 */
function runsOf(kinds: Uint8Array, xFrom: Int32Array, xTo: Int32Array, W: number, invert: boolean, runs: Int32Array): number {
  let n = 0;
  let x = 0;
  const push = (x0: number, x1: number, kind: number): void => {
    if (x1 <= x0) return;
    runs[3 * n] = x0;
    runs[3 * n + 1] = x1;
    runs[3 * n + 2] = invert && kind !== EDGE ? PERSON + BACKGROUND - kind : kind;
    n++;
  };
  for (let c = 0; c < kinds.length; ) {
    const kind = kinds[c];
    let end = c + 1;
    while (end < kinds.length && kinds[end] === kind) end++;
    if (kind !== EDGE) {
      const x0 = Math.max(x, xFrom[c]), x1 = xTo[end - 1];
      if (x1 > x0) {
        push(x, x0, EDGE);
        push(x0, x1, kind);
        x = x1;
      }
    }
    c = end;
  }
  push(x, W, EDGE);
  return n;
}

/** Mask values x0..x1 of a refined row: upsampleBilinear's (rounded to float32 as it stores them), then applySoftEdge's. */
function refinedValues(
  src: Float32Array, a: number, b: number, wy: number, xs: { i0: Int32Array; i1: Int32Array; w1: Float32Array },
  x0: number, x1: number, soft: SoftEdge, invert: boolean, out: Float32Array,
): void {
  const { i0, i1, w1 } = xs;
  for (let x = x0; x < x1; x++) {
    const c0 = i0[x], c1 = i1[x], wx = w1[x];
    const pa = src[a + c0], pb = src[b + c0];
    const top = Math.fround(pa + (src[a + c1] - pa) * wx);
    const bottom = Math.fround(pb + (src[b + c1] - pb) * wx);
    out[x] = top + (bottom - top) * wy;
  }
  applySoftEdge(out, out, x0, x1, soft, invert);
}

/**
 * Pixels x0..x1 of a blur composite's row starting at pixel i0, where the mask is all background:
 * the blurred background alone, bilinear from two widened low-res rows (r0, r1, weight fy).
 */
function blurBackgroundRun(
  i0: number, x0: number, x1: number, C: number, data: Uint8Array | Uint8ClampedArray, rows: Float32Array, r0: number, r1: number, fy: number,
): void {
  for (let x = x0, p = (i0 + x0) * C, q = x0 * 3; x < x1; x++, p += C, q += 3) {
    const a0 = rows[r0 + q], a1 = rows[r0 + q + 1], a2 = rows[r0 + q + 2];
    data[p] = (a0 + (rows[r1 + q] - a0) * fy + 0.5) | 0;
    data[p + 1] = (a1 + (rows[r1 + q + 1] - a1) * fy + 0.5) | 0;
    data[p + 2] = (a2 + (rows[r1 + q + 2] - a2) * fy + 0.5) | 0;
  }
}

/**
 * Pixels x0..x1 of a blur composite's row starting at pixel i0: mask values from md[mo + x], the
 * background as in blurBackgroundRun.
 */
function blurRow(
  i0: number, x0: number, x1: number, C: number, src: Uint8Array | Uint8ClampedArray, md: Float32Array, mo: number,
  data: Uint8Array | Uint8ClampedArray, rows: Float32Array, r0: number, r1: number, fy: number,
): void {
  for (let x = x0, p = (i0 + x0) * C, q = x0 * 3; x < x1; x++, p += C, q += 3) {
    const m = md[mo + x];
    if (m >= 1) continue;
    const a0 = rows[r0 + q], a1 = rows[r0 + q + 1], a2 = rows[r0 + q + 2];
    const br = a0 + (rows[r1 + q] - a0) * fy;
    const bg = a1 + (rows[r1 + q + 1] - a1) * fy;
    const bb = a2 + (rows[r1 + q + 2] - a2) * fy;
    if (m > 0) {
      data[p] = (br + (src[p] - br) * m + 0.5) | 0;
      data[p + 1] = (bg + (src[p + 1] - bg) * m + 0.5) | 0;
      data[p + 2] = (bb + (src[p + 2] - bb) * m + 0.5) | 0;
    } else {
      // All background (most of a frame): the blur alone.
      data[p] = (br + 0.5) | 0;
      data[p + 1] = (bg + 0.5) | 0;
      data[p + 2] = (bb + 0.5) | 0;
    }
  }
}

/**
 * One row of the image/colour composite (pixels from i0, mask values from md[mo]). The background
 * is read at stride `bs` (0 = one constant colour); with `bgAlpha` its alpha blends it over the
 * original. Light wrap (wrap.length > 0) samples the widened blurred-mask rows r0/r1 with weight fy.
 */
function overRow(
  i0: number, W: number, C: number, src: Uint8Array | Uint8ClampedArray, md: Float32Array, mo: number,
  data: Uint8Array | Uint8ClampedArray, bgData: Uint8Array | Uint8ClampedArray, bs: number, bgAlpha: boolean,
  wrap: Float32Array, lightWrap: number, r0: number, r1: number, fy: number,
): void {
  const wrapOn = wrap.length > 0;
  for (let x = 0, i = i0; x < W; x++, i++) {
    let m = md[mo + x];
    m = m > 0 ? (m < 1 ? m : 1) : 0;
    let k = 0;
    if (wrapOn && m > 0) {
      const b0 = wrap[r0 + x];
      const b = b0 + (wrap[r1 + x] - b0) * fy;
      k = b < 1 ? lightWrap * m * (1 - b) : 0;
      if (k > 1) k = 1;
    }
    if (m === 1 && k === 0) continue;
    const p = i * C;
    const q = i * bs;
    if (m === 0 && !bgAlpha) {
      data[p] = bgData[q];
      data[p + 1] = bgData[q + 1];
      data[p + 2] = bgData[q + 2];
      continue;
    }
    const fr = src[p], fg = src[p + 1], fb = src[p + 2];
    let br = bgData[q], bg = bgData[q + 1], bb = bgData[q + 2];
    if (bgAlpha) {
      const a = bgData[q + 3] * (1 / 255);
      br = fr + (br - fr) * a;
      bg = fg + (bg - fg) * a;
      bb = fb + (bb - fb) * a;
    }
    let or = br + (fr - br) * m;
    let og = bg + (fg - bg) * m;
    let ob = bb + (fb - bb) * m;
    if (k > 0) {
      or += (br - or) * k;
      og += (bg - og) * k;
      ob += (bb - ob) * k;
    }
    data[p] = (or + 0.5) | 0;
    data[p + 1] = (og + 0.5) | 0;
    data[p + 2] = (ob + 0.5) | 0;
  }
}

/**
 * Puts the person in front of a new background: out = fg·m + bg·(1 − m) per channel, rounded.
 * The output has the frame's channel count; with 4 channels the frame's alpha is copied. Returns a
 * new frame, or `opts.out` (carrying the frame's timestamp) when given.
 *
 * - `blur`: the background blurred by {@link blurBackground} (weighted, no halo), sampled
 *   bilinearly (half-pixel centres) from its low resolution on the fly. strength 0 returns a copy.
 * - `image`: fitted with `fitBackground` (default `cover`), cached per image Frame object, size and
 *   fit. An RGBA image's alpha blends it over the original background.
 * - `color`: an `RGBA`; alpha < 255 blends the colour over the original background, so
 *   [0, 0, 0, 128] darkens it.
 *
 * Light wrapping (`image`/`color` only, `opts.lightWrap`, default 0.3): with b = the mask blurred
 * at low resolution (sigma ≈ 1% of the frame's longest side), out = comp·(1 − k) + bg·k with
 * k = lightWrap·m·(1 − b), so the background's light bleeds onto the person's edge.
 *
 * @throws RangeError if the mask is not at the frame's size, or lightWrap is outside 0..1.
 */
export function composite(frame: Frame, mask: Mask, background: Background, opts: CompositeOptions = {}): Frame {
  const W = frame.width, H = frame.height;
  if (mask.width !== W || mask.height !== H) {
    throw new RangeError(`mask is ${mask.width}×${mask.height} but the frame is ${W}×${H}; resize the mask to the frame's size first`);
  }
  return compositeRows(frame, wholeMaskRows(mask), mask, background, opts, (strength) => blurBackground(frame, mask, strength));
}

/** How {@link compositeLowRes} turns the model's probabilities into the edge (see smoothstepMask). */
export interface LowResEdge {
  threshold: number;
  softness: number;
  /** Swap person and background. */
  invert: boolean;
}

/**
 * {@link composite} straight from the model's low-resolution mask with plain bilinear edges: the
 * same picture as `composite(frame, smoothstepMask(upsampleBilinear(low)), …)` (inverted when
 * asked), for about a third less work at 720p (20 against 13 ms for a blur here). The frame-sized
 * float mask is never written and read back: each output row upsamples and soft-edges its own
 * mask values. The blur's weights and the light wrap read the small mask, and the blurred
 * background starts from the frame reduced to about the mask's size (blurBackgroundFor), so it
 * differs from `composite`'s by rounding-level amounts; the person and the edge are identical.
 */
export function compositeLowRes(frame: Frame, low: Mask, edge: LowResEdge, background: Background, opts: LowResCompositeOptions = {}): Frame {
  const W = frame.width, H = frame.height;
  const soft = softEdge(edge.threshold, edge.softness);
  // The refined mask at low resolution: what the blur's weights and the light wrap read.
  const refinedLow: Mask = { width: low.width, height: low.height, data: new Float32Array(low.data.length) };
  applySoftEdge(low.data, refinedLow.data, 0, low.data.length, soft, edge.invert);
  const blur = (strength: number): Frame => blurBackgroundFor(opts.small ?? frame, refinedLow, strength, W, H);
  return compositeRows(frame, refinedMaskRows(low, W, H, soft, edge.invert), refinedLow, background, opts, blur);
}

/**
 * The compositing both entry points share. `mask` (any size) is what the light wrap blurs;
 * `blur(strength)` gives the low-resolution blurred background.
 */
function compositeRows(
  frame: Frame, maskRows: MaskRows, mask: Mask, background: Background, opts: CompositeOptions, blur: (strength: number) => Frame,
): Frame {
  const W = frame.width, H = frame.height, C = frame.channels;
  const lightWrap = opts.lightWrap ?? DEFAULT_LIGHT_WRAP;
  if (!(lightWrap >= 0 && lightWrap <= 1)) throw new RangeError(`lightWrap must be between 0 and 1, got ${lightWrap}`);
  const src = frame.data;
  let result: Frame;
  if (opts.out) {
    const o = opts.out;
    if (o.width !== W || o.height !== H || o.channels !== C || o.data.length !== W * H * C) {
      throw new RangeError(`out is ${o.width}×${o.height}×${o.channels} but the frame is ${W}×${H}×${C}`);
    }
    result = o.timestamp === frame.timestamp ? o : { ...o, timestamp: frame.timestamp };
  } else {
    result = { width: W, height: H, channels: C, data: new Uint8Array(W * H * C), timestamp: frame.timestamp };
  }
  const data = result.data;
  if (data !== src) data.set(src);

  if (background.kind === 'blur') {
    if (background.strength === 0) return result;
    const low = blur(background.strength);
    const lw = low.width, lh = low.height;
    const rows = stretchRows('composite.bg', low.data, lw, lh, 3, W);
    const yt = resampleTaps(lh, 0, lh, H, 'bilinear');
    const rowLen = W * 3;
    for (let y = 0; y < H; y++) {
      const r0 = yt.start[y] * rowLen;
      const two = yt.count[y] === 2;
      const r1 = two ? r0 + rowLen : r0, fy = two ? yt.weights[y * 2 + 1] : 0;
      const mo = maskRows.row(y, true);
      const { runs, runCount } = maskRows;
      for (let r = 0; r < runCount; r++) {
        const x0 = runs[3 * r], x1 = runs[3 * r + 1], kind = runs[3 * r + 2];
        // The person's pixels are already the frame's (copied above).
        if (kind === BACKGROUND) blurBackgroundRun(y * W, x0, x1, C, data, rows, r0, r1, fy);
        else if (kind === EDGE) blurRow(y * W, x0, x1, C, src, maskRows.data, mo, data, rows, r0, r1, fy);
      }
    }
    return result;
  }

  let bgData: Uint8Array | Uint8ClampedArray;
  let bs: number; // background stride: 0 for a constant colour
  let bgAlpha: boolean;
  if (background.kind === 'image') {
    const fitted = fittedImage(background.image, W, H, background.fit ?? 'cover');
    bgData = fitted.data;
    bs = fitted.channels;
    bgAlpha = bs === 4;
  } else if (background.kind === 'color') {
    const c = background.color;
    bgData = Uint8Array.from(c);
    bs = 0;
    bgAlpha = c[3] < 255;
  } else {
    throw new RangeError(`background kind must be 'blur', 'image' or 'color', got ${JSON.stringify((background as { kind?: unknown }).kind)}`);
  }

  let wrapRows: Float32Array | undefined;
  let wrapYt: ResampleTaps | undefined;
  if (lightWrap > 0) {
    const { rows, lh } = blurredMaskRows(mask, W, H, 0.01 * Math.max(W, H));
    wrapRows = rows;
    wrapYt = resampleTaps(lh, 0, lh, H, 'bilinear');
  }

  const noRows = new Float32Array(0);
  for (let y = 0; y < H; y++) {
    let r0 = 0, r1 = 0, fy = 0;
    if (wrapYt) {
      r0 = wrapYt.start[y] * W;
      const two = wrapYt.count[y] === 2;
      r1 = two ? r0 + W : r0;
      fy = two ? wrapYt.weights[y * 2 + 1] : 0;
    }
    const mo = maskRows.row(y);
    overRow(y * W, W, C, src, maskRows.data, mo, data, bgData, bs, bgAlpha, wrapRows ?? noRows, lightWrap, r0, r1, fy);
  }
  return result;
}

/** The mask as 8-bit grey: round(p·255), clamped to 0..255. */
export function maskToGray(mask: Mask): Uint8Array {
  const src = mask.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i] * 255 + 0.5;
    out[i] = v > 255 ? 255 : v > 0 ? v : 0;
  }
  return out;
}
