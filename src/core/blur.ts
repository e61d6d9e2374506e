/**
 * Background blur without a halo: the background is blurred at low resolution, weighted by
 * (1 − mask), so the person's colours do not bleed into it.
 *
 * The Gaussian is approximated by three passes of a running-sum box blur per axis (O(1) per pixel
 * per pass, whatever the sigma).
 */
import type { Frame, Mask } from './frame.js';
import { aspectFitSize, boxDownsample, resampleTaps, resizeFrame, resizeMask, scratchF32, type ResampleTaps } from './resize.js';

const scratch64 = new Map<string, Float64Array>();

/** scratchF32's Float64 twin, for the running sums. */
function scratchF64(key: string, size: number): Float64Array {
  let a = scratch64.get(key);
  if (!a || a.length < size) scratch64.set(key, (a = new Float64Array(size)));
  return a.length === size ? a : a.subarray(0, size);
}

/** Edge handling of {@link boxBlur3}: 'zero' pads with 0, 'clamp' repeats the edge pixel. */
export type BlurEdge = 'zero' | 'clamp';

/**
 * @internal Radii of three box filters whose convolution approximates a Gaussian of `sigma`
 * (widths chosen so the total variance matches 12σ²/3 per box as closely as odd widths allow).
 */
export function boxRadii(sigma: number): [number, number, number] {
  if (!(sigma > 0)) return [0, 0, 0];
  const n = 3;
  const ideal = Math.sqrt((12 * sigma * sigma) / n + 1);
  let wl = Math.floor(ideal);
  if (wl % 2 === 0) wl--;
  const wu = wl + 2;
  const m = Math.round((12 * sigma * sigma - n * wl * wl - 4 * n * wl - 3 * n) / (-4 * wl - 4));
  const r: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < n; i++) r[i] = ((i < m ? wl : wu) - 1) >> 1;
  return r;
}

function boxH(src: Float32Array, dst: Float32Array, W: number, H: number, C: number, r: number, clamp: boolean): void {
  if (C === 4 && !clamp && 2 * r + 1 <= W) {
    for (let y = 0; y < H; y++) boxRow4Zero(src, dst, y * W * 4, W, r);
    return;
  }
  const inv = 1 / (2 * r + 1);
  const last = W - 1;
  for (let y = 0; y < H; y++) {
    const base = y * W * C;
    for (let c = 0; c < C; c++) {
      const o = base + c;
      let acc = 0;
      for (let k = -r; k <= r; k++) {
        if (k >= 0 && k <= last) acc += src[o + k * C];
        else if (clamp) acc += src[o + (k < 0 ? 0 : last) * C];
      }
      for (let x = 0; x < W; x++) {
        dst[o + x * C] = acc * inv;
        const add = x + r + 1;
        const sub = x - r;
        if (add <= last) acc += src[o + add * C];
        else if (clamp) acc += src[o + last * C];
        if (sub >= 0) acc -= src[o + sub * C];
        else if (clamp) acc -= src[o];
      }
    }
  }
}

/** One row of a 4-channel, zero-padded running-sum box (window 2r + 1 ≤ W), branch-free middle. */
function boxRow4Zero(src: Float32Array, dst: Float32Array, o: number, W: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (let k = 0, p = o; k <= r; k++, p += 4) {
    a0 += src[p]; a1 += src[p + 1]; a2 += src[p + 2]; a3 += src[p + 3];
  }
  let x = 0;
  let q = o;
  // Left edge: only adding.
  for (; x < r && x + r + 1 < W; x++, q += 4) {
    dst[q] = a0 * inv; dst[q + 1] = a1 * inv; dst[q + 2] = a2 * inv; dst[q + 3] = a3 * inv;
    const pa = o + (x + r + 1) * 4;
    a0 += src[pa]; a1 += src[pa + 1]; a2 += src[pa + 2]; a3 += src[pa + 3];
  }
  // Middle: add the entering pixel, subtract the leaving one.
  for (; x + r + 1 < W; x++, q += 4) {
    dst[q] = a0 * inv; dst[q + 1] = a1 * inv; dst[q + 2] = a2 * inv; dst[q + 3] = a3 * inv;
    const pa = q + (r + 1) * 4, ps = q - r * 4;
    a0 += src[pa] - src[ps]; a1 += src[pa + 1] - src[ps + 1];
    a2 += src[pa + 2] - src[ps + 2]; a3 += src[pa + 3] - src[ps + 3];
  }
  // Right edge: only subtracting.
  for (; x < W; x++, q += 4) {
    dst[q] = a0 * inv; dst[q + 1] = a1 * inv; dst[q + 2] = a2 * inv; dst[q + 3] = a3 * inv;
    if (x - r >= 0) {
      const ps = q - r * 4;
      a0 -= src[ps]; a1 -= src[ps + 1]; a2 -= src[ps + 2]; a3 -= src[ps + 3];
    }
  }
}

function boxV(src: Float32Array, dst: Float32Array, acc: Float64Array, W: number, H: number, C: number, r: number, clamp: boolean): void {
  const inv = 1 / (2 * r + 1);
  const row = W * C;
  const last = H - 1;
  acc.fill(0);
  for (let k = -r; k <= r; k++) {
    const j = k < 0 ? (clamp ? 0 : -1) : k > last ? (clamp ? last : -1) : k;
    if (j < 0) continue;
    const o = j * row;
    for (let i = 0; i < row; i++) acc[i] += src[o + i];
  }
  for (let y = 0; y < H; y++) {
    const o = y * row;
    const add = y + r + 1 <= last ? y + r + 1 : clamp ? last : -1;
    const sub = y - r >= 0 ? y - r : clamp ? 0 : -1;
    // Each row's output and the window's move in one loop (one read of acc a value).
    if (add >= 0 && sub >= 0) {
      const ao = add * row, so = sub * row;
      for (let i = 0; i < row; i++) {
        const v = acc[i];
        dst[o + i] = v * inv;
        acc[i] = v + (src[ao + i] - src[so + i]);
      }
    } else if (add >= 0) {
      const ao = add * row;
      for (let i = 0; i < row; i++) {
        const v = acc[i];
        dst[o + i] = v * inv;
        acc[i] = v + src[ao + i];
      }
    } else if (sub >= 0) {
      const so = sub * row;
      for (let i = 0; i < row; i++) {
        const v = acc[i];
        dst[o + i] = v * inv;
        acc[i] = v - src[so + i];
      }
    } else {
      for (let i = 0; i < row; i++) dst[o + i] = acc[i] * inv;
    }
  }
}

/**
 * @internal Approximate Gaussian blur (3 box passes per axis) of an interleaved W × H × C float
 * image. Returns the blurred image: either `buf` itself or a scratch buffer (read it before the
 * next call); `buf` may be overwritten.
 */
export function boxBlur3(buf: Float32Array, W: number, H: number, C: number, sigma: number, edge: BlurEdge): Float32Array {
  const radii = boxRadii(sigma);
  if (radii[0] === 0 && radii[1] === 0 && radii[2] === 0) return buf;
  const clamp = edge === 'clamp';
  let a: Float32Array = buf;
  // `buf` must not itself be the 'blur.pong' scratch (callers pass 'down.out' or their own arrays).
  let b: Float32Array = scratchF32('blur.pong', buf.length);
  for (const r of radii) {
    if (r === 0) continue;
    boxH(a, b, W, H, C, r, clamp);
    [a, b] = [b, a];
  }
  const acc = scratchF64('blur.acc', W * C);
  for (const r of radii) {
    if (r === 0) continue;
    boxV(a, b, acc, W, H, C, r, clamp);
    [a, b] = [b, a];
  }
  return a;
}

/**
 * @internal Box mean of radius r (window 2r + 1 per axis) of an interleaved W × H × C float
 * image, in place: one running-sum pass per axis, O(1) per value whatever r. Returns `buf`.
 * With 'clamp' every window is a full (2r + 1)² window of edge-repeated pixels.
 */
export function boxMean(buf: Float32Array, W: number, H: number, C: number, r: number, edge: BlurEdge): Float32Array {
  if (r <= 0) return buf;
  const clamp = edge === 'clamp';
  const tmp = scratchF32('blur.boxMean', buf.length);
  boxH(buf, tmp, W, H, C, r, clamp);
  boxV(tmp, buf, scratchF64('blur.acc', W * C), W, H, C, r, clamp);
  return buf;
}

/**
 * @internal How {@link downsampleWeighted} weights a pixel by its mask value m:
 * - `linear`: w = max(floor, 1 − m) — background weight for the halo-free blur;
 * - `pure`: w = (1 − m/limit)² below `limit`, else 0 — only (almost) pure background counts.
 */
export type PixelWeight = { kind: 'linear'; floor: number } | { kind: 'pure'; limit: number };

/**
 * @internal Area-downsamples frame·w and w together into an interleaved 4-channel float image
 * [r·w, g·w, b·w, w] (area means of the weighted colour, not colour means — so a later
 * blur-and-divide is exact), with w from the mask per `weight`.
 * Returns a scratch buffer: use it before the next call.
 */
export function downsampleWeighted(frame: Frame, mask: Mask, xt: ResampleTaps, yt: ResampleTaps, weight: PixelWeight): Float32Array {
  const W = frame.width, C = frame.channels;
  const src = frame.data;
  const md = mask.data;
  const dw = xt.start.length, dh = yt.start.length;
  // Columns first (each output row's source rows summed, then across) when that touches fewer
  // values: a square 256×256 view shrunk 4× down and 2.2× across, 30 % fewer.
  if (weight.kind === 'linear' && dh * W * tapCount(yt) + dh * dw * tapCount(xt) < frame.height * dw * tapCount(xt) + dh * dw * tapCount(yt)) {
    return downsampleLinearColumnsFirst(frame, md, xt, yt, weight.floor);
  }
  let rowMin = Infinity, rowMax = -1;
  for (let d = 0; d < dh; d++) {
    rowMin = Math.min(rowMin, yt.start[d]);
    rowMax = Math.max(rowMax, yt.start[d] + yt.count[d] - 1);
  }
  const rowLen = dw * 4;
  const tmp = scratchF32('down.tmp', (rowMax - rowMin + 1) * rowLen);
  const xs = xt.start, xc = xt.count, xw = xt.weights, xtaps = xt.taps;
  for (let y = rowMin; y <= rowMax; y++) {
    const t = (y - rowMin) * rowLen;
    if (weight.kind === 'linear') weightedRowLinear(src, y * W * C, C, md, y * W, weight.floor, xs, xc, xw, xtaps, dw, tmp, t);
    else weightedRowPure(src, y * W * C, C, md, y * W, 1 / weight.limit, xs, xc, xw, xtaps, dw, tmp, t);
  }
  const out = scratchF32('down.out', dh * rowLen);
  out.fill(0);
  const ys = yt.start, yc = yt.count, yw = yt.weights, ytaps = yt.taps;
  for (let d = 0; d < dh; d++) {
    const n = yc[d];
    for (let k = 0; k < n; k++) addRow(out, d * rowLen, tmp, (ys[d] + k - rowMin) * rowLen, yw[d * ytaps + k], rowLen);
  }
  return out;
}

/** Mean taps per output of an axis. */
function tapCount(t: ResampleTaps): number {
  let n = 0;
  for (let d = 0; d < t.count.length; d++) n += t.count[d];
  return n / Math.max(1, t.count.length);
}

/** downsampleWeighted with 'linear' weights, summing each output row's source rows first, then across. */
function downsampleLinearColumnsFirst(frame: Frame, md: Float32Array, xt: ResampleTaps, yt: ResampleTaps, floor: number): Float32Array {
  const W = frame.width, C = frame.channels, src = frame.data;
  const dw = xt.start.length, dh = yt.start.length;
  const rowLen = W * 4;
  const tmp = scratchF32('down.cols', dh * rowLen);
  const ys = yt.start, yc = yt.count, yw = yt.weights, ytaps = yt.taps;
  for (let d = 0; d < dh; d++) weightedColumnSums(src, W, C, md, floor, ys[d], yc[d], yw, d * ytaps, tmp, d * rowLen);
  const out = scratchF32('down.out', dh * dw * 4);
  for (let d = 0; d < dh; d++) tapsRow4(tmp, d * rowLen, xt.start, xt.count, xt.weights, xt.taps, dw, out, d * dw * 4);
  return out;
}

/**
 * One output row's column sums: each pixel of source rows y0 … y0 + n − 1 weighted by
 * wy · max(floor, 1 − mask), as [r·w, g·w, b·w, w] into tmp at t. The sums are kept in registers
 * and rounded to float32 after every add (Math.fround), as adding row by row into the float32 row
 * did: the same values for a third of the memory traffic.
 */
function weightedColumnSums(
  src: Uint8Array | Uint8ClampedArray, W: number, C: number, md: Float32Array, floor: number,
  y0: number, n: number, yw: Float32Array, wo: number, tmp: Float32Array, t: number,
): void {
  const stride = W * C;
  for (let x = 0, q = t; x < W; x++, q += 4) {
    let r = 0, g = 0, b = 0, ws = 0;
    for (let k = 0, m = y0 * W + x, p = y0 * stride + x * C; k < n; k++, m += W, p += stride) {
      let v = 1 - md[m];
      v = v > floor ? (v < 1 ? v : 1) : floor;
      const w = yw[wo + k] * v;
      r = Math.fround(r + w * src[p]);
      g = Math.fround(g + w * src[p + 1]);
      b = Math.fround(b + w * src[p + 2]);
      ws = Math.fround(ws + w);
    }
    tmp[q] = r;
    tmp[q + 1] = g;
    tmp[q + 2] = b;
    tmp[q + 3] = ws;
  }
}

/** One row of 4-channel values resampled across with the taps, into out at o. */
function tapsRow4(tmp: Float32Array, r: number, xs: Int32Array, xc: Int32Array, xw: Float32Array, xtaps: number, dw: number, out: Float32Array, o: number): void {
  for (let x = 0; x < dw; x++) {
    let a = 0, b = 0, c = 0, e = 0;
    for (let k = 0, q = r + xs[x] * 4, wo = x * xtaps; k < xc[x]; k++, q += 4) {
      const w = xw[wo + k];
      a += w * tmp[q];
      b += w * tmp[q + 1];
      c += w * tmp[q + 2];
      e += w * tmp[q + 3];
    }
    out[o++] = a;
    out[o++] = b;
    out[o++] = c;
    out[o++] = e;
  }
}

function weightedRowLinear(
  src: Uint8Array | Uint8ClampedArray, so: number, C: number, md: Float32Array, mo: number, floor: number,
  xs: Int32Array, xc: Int32Array, xw: Float32Array, xtaps: number, dw: number, tmp: Float32Array, t: number,
): void {
  for (let x = 0; x < dw; x++) {
    const n = xc[x];
    let wo = x * xtaps;
    let i = xs[x];
    let p = so + i * C;
    let r = 0, g = 0, b = 0, ws = 0;
    for (let k = 0; k < n; k++, i++, p += C) {
      let v = 1 - md[mo + i];
      v = v > floor ? (v < 1 ? v : 1) : floor;
      const w = xw[wo++] * v;
      r += w * src[p];
      g += w * src[p + 1];
      b += w * src[p + 2];
      ws += w;
    }
    tmp[t++] = r; tmp[t++] = g; tmp[t++] = b; tmp[t++] = ws;
  }
}

function weightedRowPure(
  src: Uint8Array | Uint8ClampedArray, so: number, C: number, md: Float32Array, mo: number, invLimit: number,
  xs: Int32Array, xc: Int32Array, xw: Float32Array, xtaps: number, dw: number, tmp: Float32Array, t: number,
): void {
  for (let x = 0; x < dw; x++) {
    const n = xc[x];
    let wo = x * xtaps;
    let i = xs[x];
    let p = so + i * C;
    let r = 0, g = 0, b = 0, ws = 0;
    for (let k = 0; k < n; k++, i++, p += C) {
      const v = 1 - md[mo + i] * invLimit;
      const wv = xw[wo++];
      if (!(v > 0)) continue;
      const w = v < 1 ? wv * v * v : wv;
      r += w * src[p];
      g += w * src[p + 1];
      b += w * src[p + 2];
      ws += w;
    }
    tmp[t++] = r; tmp[t++] = g; tmp[t++] = b; tmp[t++] = ws;
  }
}

function addRow(out: Float32Array, o: number, tmp: Float32Array, r: number, w: number, len: number): void {
  for (let i = 0; i < len; i++) out[o + i] += w * tmp[r + i];
}

/** The last few whole-axis taps: a video asks for the same ones every frame. */
const axisTapsCache = new Map<string, ResampleTaps>();

function wholeAxisTaps(src: number, dst: number): ResampleTaps {
  const key = `${src}:${dst}`;
  let taps = axisTapsCache.get(key);
  if (!taps) {
    if (axisTapsCache.size >= 8) axisTapsCache.clear();
    axisTapsCache.set(key, (taps = resampleTaps(src, 0, src, dst)));
  }
  return taps;
}

/** @internal Options of {@link weightedBlur}. */
export interface WeightedBlurOptions {
  /** Target Gaussian sigma at the working size, px. Default 2. */
  targetSigma?: number;
  /** The working size's short side never goes below this (unless the frame is smaller). Default 64. */
  minShortSide?: number;
  /** Smallest weight, so fully covered regions fall back to an unweighted blur. Default 1e-3. */
  floor?: number;
}

/**
 * @internal Blur of the frame weighted by the background weight 1 − mask, at a reduced
 * working size chosen so the sigma there is about `targetSigma` px. Returns a low-resolution RGB
 * frame. The weight never drops below `floor`, so where only the person is in reach the result
 * smoothly becomes the unweighted blur instead of dividing by zero, while anywhere near real
 * background the person contributes a negligible share (≈ floor/weight).
 */
export function weightedBlur(frame: Frame, mask: Mask, sigmaFull: number, opts: WeightedBlurOptions = {}): Frame {
  return weightedBlurAs(frame, mask, frame.width, frame.height, sigmaFull, opts);
}

/**
 * {@link weightedBlur} of the frame seen as a W × H picture (stretched to W × H when its own size
 * differs): the working size and `sigmaFull` are the W × H picture's, and the frame and its mask
 * (the frame's size) go to the working size in one weighted area resample.
 */
function weightedBlurAs(frame: Frame, mask: Mask, W: number, H: number, sigmaFull: number, opts: WeightedBlurOptions = {}): Frame {
  if (mask.width !== frame.width || mask.height !== frame.height) {
    throw new RangeError(`mask is ${mask.width}×${mask.height} but the frame is ${frame.width}×${frame.height}`);
  }
  const targetSigma = opts.targetSigma ?? 2;
  const minShort = opts.minShortSide ?? 64;
  const short = Math.min(W, H);
  const factor = Math.max(1, Math.min(sigmaFull / targetSigma, short / minShort));
  const ww = Math.max(1, Math.round(W / factor));
  const wh = Math.max(1, Math.round(H / factor));
  const floor = opts.floor ?? 1e-3;
  const fw = frame.width, fh = frame.height;
  let buf = downsampleWeighted(frame, mask, wholeAxisTaps(fw, ww), wholeAxisTaps(fh, wh), { kind: 'linear', floor });
  const sigmaWork = sigmaFull / Math.sqrt((W / ww) * (H / wh));
  buf = boxBlur3(buf, ww, wh, 4, sigmaWork, 'zero');
  const n = ww * wh;
  const data = new Uint8Array(n * 3);
  for (let i = 0, p = 0, q = 0; i < n; i++, p += 4, q += 3) {
    const w = buf[p + 3];
    if (w > 1e-12) {
      const inv = 1 / w;
      data[q] = Math.min(255, buf[p] * inv + 0.5);
      data[q + 1] = Math.min(255, buf[p + 1] * inv + 0.5);
      data[q + 2] = Math.min(255, buf[p + 2] * inv + 0.5);
    }
  }
  return { width: ww, height: wh, channels: 3, data, timestamp: frame.timestamp };
}

/**
 * Blurs the background behind the person and returns it as a LOW-RESOLUTION RGB frame (3 channels,
 * roughly the frame's aspect ratio) with the person removed: the blur is weighted by (1 − mask),
 * so the person's colours do not bleed into the background (no halo); where the person covers the
 * whole blur window it falls back to an unweighted blur. Upsample it bilinearly (half-pixel
 * centres) to the frame's size; `composite` samples it on the fly.
 *
 * `strength` runs from 0 to 100: the Gaussian sigma in full-resolution pixels is
 * strength/100 × 0.04 × max(width, height) — 50 on a 1920 × 1080 frame is sigma ≈ 38 px, 100 is
 * ≈ 77 px, 10 is ≈ 8 px. The work happens at a size where that sigma is about 2 px (never below
 * 64 px on the short side, never upsampled), so low strengths cost more than high ones.
 * strength 0 means no blur: the frame's own RGB is returned at full size (the person included,
 * since with no blur nothing can bleed).
 *
 * @throws RangeError if the mask is not at the frame's size or strength is outside 0..100.
 */
export function blurBackground(frame: Frame, mask: Mask, strength: number): Frame {
  if (!(strength >= 0 && strength <= 100)) {
    throw new RangeError(`blur strength must be between 0 and 100, got ${strength}`);
  }
  if (mask.width !== frame.width || mask.height !== frame.height) {
    throw new RangeError(`mask is ${mask.width}×${mask.height} but the frame is ${frame.width}×${frame.height}`);
  }
  if (strength === 0) {
    const n = frame.width * frame.height, C = frame.channels, src = frame.data;
    const data = new Uint8Array(n * 3);
    if (C === 3) data.set(src);
    else for (let i = 0, p = 0, q = 0; i < n; i++, p += C, q += 3) { data[q] = src[p]; data[q + 1] = src[p + 1]; data[q + 2] = src[p + 2]; }
    return { width: frame.width, height: frame.height, channels: 3, data, timestamp: frame.timestamp };
  }
  const sigmaFull = (strength / 100) * 0.04 * Math.max(frame.width, frame.height);
  return weightedBlur(frame, mask, sigmaFull);
}

/**
 * {@link blurBackground} of a width × height picture, worked out from a smaller view of it:
 * `frame` (any size: the picture itself, or e.g. a model's square input) and its `mask` (any size).
 * Both are resized to the mask's size reshaped to the picture's aspect ratio, so the blur, once
 * stretched back over the picture, is as strong across as down. Returns the low-resolution RGB
 * background, with the picture's aspect ratio.
 */
export function blurBackgroundFor(frame: Frame, mask: Mask, strength: number, width: number, height: number): Frame {
  let size = aspectFitSize(mask.width, mask.height, width, height);
  if (strength > 0 && strength <= 100 && mask.width === frame.width && mask.height === frame.height) {
    // Frame and mask alike (a video's model-size frame): both go straight to the blur's working
    // size in one weighted area resample, instead of each being resized to the picture's aspect
    // ratio first (two resamples, most of the cost: 3.4 → ≈ 1.5 core-ms per 720p video frame).
    return weightedBlurAs(frame, mask, size.width, size.height, (strength / 100) * 0.04 * Math.max(size.width, size.height));
  }
  let f: Frame;
  const k = Math.floor(Math.min(frame.width / size.width, frame.height / size.height));
  if (k >= 2) {
    // A whole frame, several times the size: k × k block means (a few edge pixels left out do
    // not show in a blur), in about half the time of a general resize (2.3 against 4.0 ms at 720p).
    f = boxDownsample(frame, k);
    size = { width: f.width, height: f.height };
  } else {
    f = frame.width === size.width && frame.height === size.height ? frame : resizeFrame(frame, size.width, size.height);
  }
  const m = mask.width === size.width && mask.height === size.height ? mask : resizeMask(mask, size.width, size.height);
  return blurBackground(f, m, strength);
}
