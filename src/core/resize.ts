/**
 * Resampling of frames and masks, platform-neutral.
 *
 * Every resize is separable: each axis gets a small table of taps (first source index, tap count,
 * weights), a horizontal pass writes a float intermediate holding only the source rows the vertical
 * taps need, and a vertical pass accumulates whole rows. Per axis the filter is
 * - bilinear with half-pixel centres and edge clamping (OpenGL GL_LINEAR + CLAMP_TO_EDGE) when
 *   upscaling or shrinking by at most 2×, and
 * - an area (box) filter — each output pixel is the exact coverage-weighted mean of the source
 *   pixels under it — when shrinking by more than 2×, so fine detail does not alias.
 */
import type { Frame, Mask } from './frame.js';

/** How a background image is fitted to a frame. */
export type Fit = 'cover' | 'contain' | 'stretch';

/** [r, g, b, a] with each component an integer 0..255. */
type FillColour = readonly [number, number, number, number];

/** @internal Taps for one axis: output d reads `count[d]` source pixels from `start[d]`. */
export interface ResampleTaps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  /** weights[d * taps + k], k < count[d]; each output's weights sum to 1. */
  readonly weights: Float32Array;
  readonly taps: number;
}

/** @internal Filter choice: 'auto' = bilinear unless shrinking by more than 2×, then area. */
export type AxisFilter = 'auto' | 'area' | 'bilinear';

/**
 * @internal Taps mapping the source interval [srcStart, srcStart + srcLen) (in source pixels, may
 * be fractional) of an axis of `srcSize` pixels onto `dstSize` output pixels.
 */
export function resampleTaps(srcSize: number, srcStart: number, srcLen: number, dstSize: number, filter: AxisFilter = 'auto'): ResampleTaps {
  const scale = srcLen / dstSize;
  const area = filter === 'area' || (filter === 'auto' && scale > 2);
  const taps = area ? Math.ceil(scale) + 2 : 2;
  const start = new Int32Array(dstSize);
  const count = new Int32Array(dstSize);
  const weights = new Float32Array(dstSize * taps);
  const last = srcSize - 1;
  for (let d = 0; d < dstSize; d++) {
    const o = d * taps;
    if (!area) {
      let s = srcStart + (d + 0.5) * scale - 0.5;
      if (s < 0) s = 0;
      else if (s > last) s = last;
      const i0 = Math.floor(s);
      const f = s - i0;
      start[d] = i0;
      if (i0 < last && f > 0) {
        count[d] = 2;
        weights[o] = 1 - f;
        weights[o + 1] = f;
      } else {
        count[d] = 1;
        weights[o] = 1;
      }
      continue;
    }
    let a = srcStart + d * scale;
    let b = a + scale;
    if (a < 0) a = 0;
    if (b > srcSize) b = srcSize;
    if (!(b > a)) {
      // Degenerate interval (outside the image): nearest pixel.
      const i = Math.min(last, Math.max(0, Math.floor(a)));
      start[d] = i;
      count[d] = 1;
      weights[o] = 1;
      continue;
    }
    const i0 = Math.floor(a);
    const i1 = Math.min(last, Math.ceil(b) - 1, i0 + taps - 1);
    const len = b - a;
    let n = 0;
    let sum = 0;
    for (let i = i0; i <= i1; i++) {
      const lo = i > a ? i : a;
      const hi = i + 1 < b ? i + 1 : b;
      const w = hi > lo ? (hi - lo) / len : 0;
      weights[o + n++] = w;
      sum += w;
    }
    if (sum > 0 && Math.abs(sum - 1) > 1e-6) for (let k = 0; k < n; k++) weights[o + k] /= sum;
    start[d] = i0;
    count[d] = n;
  }
  return { start, count, weights, taps };
}

type Pixels = Uint8Array | Uint8ClampedArray | Float32Array;

const scratchPool = new Map<string, Float32Array>();

/**
 * @internal A reusable Float32Array of exactly `size` elements for `key`, contents undefined.
 * Fresh multi-megabyte buffers per video frame cost more than the maths (page faults), so the
 * core's temporaries come from here. Only for synchronous use inside one function call, and each
 * caller uses its own key. Buffers grow to the largest size asked for and are kept.
 */
export function scratchF32(key: string, size: number): Float32Array {
  let a = scratchPool.get(key);
  if (!a || a.length < size) {
    a = new Float32Array(size);
    scratchPool.set(key, a);
  }
  return a.length === size ? a : a.subarray(0, size);
}

/** Frees the scratch buffers the core keeps between calls (e.g. after a video ends). */
export function releaseScratch(): void {
  scratchPool.clear();
}

// The passes are small separate functions so V8 optimises each hot loop on its own.

function hpass1(src: Pixels, so: number, xs: Int32Array, xc: Int32Array, xw: Float32Array, taps: number, dstW: number, tmp: Float32Array, t: number): void {
  for (let x = 0; x < dstW; x++) {
    const n = xc[x];
    let wo = x * taps;
    let p = so + xs[x];
    let v = 0;
    for (let k = 0; k < n; k++) v += xw[wo++] * src[p++];
    tmp[t++] = v;
  }
}

function hlerp1(src: Pixels, so: number, xs: Int32Array, xc: Int32Array, xw: Float32Array, dstW: number, tmp: Float32Array, t: number): void {
  for (let x = 0; x < dstW; x++) {
    const p = so + xs[x];
    const a = src[p];
    tmp[t++] = xc[x] === 2 ? a + (src[p + 1] - a) * xw[2 * x + 1] : a;
  }
}

function hpass3(src: Pixels, so: number, xs: Int32Array, xc: Int32Array, xw: Float32Array, taps: number, dstW: number, tmp: Float32Array, t: number): void {
  for (let x = 0; x < dstW; x++) {
    const n = xc[x];
    let wo = x * taps;
    let p = so + xs[x] * 3;
    let r = 0, g = 0, b = 0;
    for (let k = 0; k < n; k++, p += 3) {
      const w = xw[wo++];
      r += w * src[p];
      g += w * src[p + 1];
      b += w * src[p + 2];
    }
    tmp[t++] = r; tmp[t++] = g; tmp[t++] = b;
  }
}

function hpass4(src: Pixels, so: number, xs: Int32Array, xc: Int32Array, xw: Float32Array, taps: number, dstW: number, tmp: Float32Array, t: number): void {
  for (let x = 0; x < dstW; x++) {
    const n = xc[x];
    let wo = x * taps;
    let p = so + xs[x] * 4;
    let r = 0, g = 0, b = 0, a = 0;
    for (let k = 0; k < n; k++, p += 4) {
      const w = xw[wo++];
      r += w * src[p];
      g += w * src[p + 1];
      b += w * src[p + 2];
      a += w * src[p + 3];
    }
    tmp[t++] = r; tmp[t++] = g; tmp[t++] = b; tmp[t++] = a;
  }
}

function hpassN(src: Pixels, C: number, so: number, xs: Int32Array, xc: Int32Array, xw: Float32Array, taps: number, dstW: number, tmp: Float32Array, t: number): void {
  for (let x = 0; x < dstW; x++) {
    const n = xc[x];
    const wo = x * taps;
    const p = so + xs[x] * C;
    for (let c = 0; c < C; c++) {
      let v = 0;
      for (let k = 0, q = p + c, wk = wo; k < n; k++, q += C) v += xw[wk++] * src[q];
      tmp[t++] = v;
    }
  }
}

/** dst[o…o+len) = lerp of two tmp rows (f = weight of the second); Uint8 output rounded. */
function vlerp(tmp: Float32Array, r0: number, r1: number, f: number, dst: Uint8Array | Float32Array, o: number, len: number, round: boolean): void {
  if (round) {
    for (let i = 0; i < len; i++) {
      const a = tmp[r0 + i];
      const v = a + (tmp[r1 + i] - a) * f + 0.5;
      dst[o + i] = v > 255 ? 255 : v;
    }
  } else {
    for (let i = 0; i < len; i++) {
      const a = tmp[r0 + i];
      dst[o + i] = a + (tmp[r1 + i] - a) * f;
    }
  }
}

/** dst[o…o+len) = Σ_k w[wo+k]·tmp row (r0 + k·len), n ≥ 1 rows; Uint8 output rounded. */
function vsum(tmp: Float32Array, r0: number, n: number, w: Float32Array, wo: number, acc: Float32Array, dst: Uint8Array | Float32Array, o: number, len: number, round: boolean): void {
  const w0 = w[wo];
  for (let i = 0; i < len; i++) acc[i] = w0 * tmp[r0 + i];
  for (let k = 1; k < n; k++) {
    const wk = w[wo + k];
    const rk = r0 + k * len;
    for (let i = 0; i < len; i++) acc[i] += wk * tmp[rk + i];
  }
  if (round) {
    for (let i = 0; i < len; i++) { const v = acc[i] + 0.5; dst[o + i] = v > 255 ? 255 : v; }
  } else {
    for (let i = 0; i < len; i++) dst[o + i] = acc[i];
  }
}

/**
 * @internal Separable resample of interleaved `channels`-channel pixels with precomputed taps.
 * Writes dstW × dstH × channels values to `dst`; a Uint8 destination is rounded (and clamped).
 */
export function resample(
  src: Pixels, srcW: number, channels: number,
  xt: ResampleTaps, yt: ResampleTaps, dst: Uint8Array | Float32Array,
): void {
  const C = channels;
  const dstW = xt.start.length;
  const dstH = yt.start.length;
  const ys = yt.start, yc = yt.count, yw = yt.weights, ytaps = yt.taps;
  let rowMin = Infinity;
  let rowMax = -1;
  for (let d = 0; d < dstH; d++) {
    const s = ys[d];
    if (s < rowMin) rowMin = s;
    if (s + yc[d] - 1 > rowMax) rowMax = s + yc[d] - 1;
  }
  const rowLen = dstW * C;
  const tmp = scratchF32('resample.tmp', (rowMax - rowMin + 1) * rowLen);
  const xs = xt.start, xc = xt.count, xw = xt.weights, xtaps = xt.taps;

  // Horizontal pass over the needed source rows.
  for (let y = rowMin; y <= rowMax; y++) {
    const so = y * srcW * C;
    const t = (y - rowMin) * rowLen;
    if (C === 1 && xtaps === 2) hlerp1(src, so, xs, xc, xw, dstW, tmp, t);
    else if (C === 3) hpass3(src, so, xs, xc, xw, xtaps, dstW, tmp, t);
    else if (C === 4) hpass4(src, so, xs, xc, xw, xtaps, dstW, tmp, t);
    else if (C === 1) hpass1(src, so, xs, xc, xw, xtaps, dstW, tmp, t);
    else hpassN(src, C, so, xs, xc, xw, xtaps, dstW, tmp, t);
  }

  // Vertical pass: whole rows.
  const round = !(dst instanceof Float32Array);
  const acc = scratchF32('resample.acc', rowLen);
  for (let d = 0; d < dstH; d++) {
    const n = yc[d];
    const r0 = (ys[d] - rowMin) * rowLen;
    const o = d * rowLen;
    if (n === 1) vlerp(tmp, r0, r0, 0, dst, o, rowLen, round);
    else if (n === 2) vlerp(tmp, r0, r0 + rowLen, yw[d * ytaps + 1], dst, o, rowLen, round);
    else vsum(tmp, r0, n, yw, d * ytaps, acc, dst, o, rowLen, round);
  }
}

function checkSize(width: number, height: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`${what} size must be positive integers, got ${width}×${height}`);
  }
}

/**
 * The largest size with the aspect ratio of width × height that fits in maxW × maxH and is no
 * larger than width × height itself (at least 1 × 1): the shape a picture keeps when seen
 * through, say, a model's square 256 × 256 input.
 */
export function aspectFitSize(maxW: number, maxH: number, width: number, height: number): { width: number; height: number } {
  const k = Math.min(maxW / width, maxH / height, 1);
  return { width: Math.max(1, Math.min(maxW, Math.round(width * k))), height: Math.max(1, Math.min(maxH, Math.round(height * k))) };
}

/**
 * @internal The mean of every k × k block of the frame (any channel count): the cheapest area
 * downsample, one read per source value. The last W mod k columns and H mod k rows are left out.
 * Written into `out` (exactly the result's size) when given: a stream reuses one buffer.
 */
export function boxDownsample(src: Frame, k: number, out?: Uint8Array): Frame {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`box size must be a whole number ≥ 1, got ${k}`);
  const C = src.channels;
  const w = Math.floor(src.width / k), h = Math.floor(src.height / k);
  checkSize(w, h, 'box downsample');
  const rowLen = w * C;
  if (out && out.length !== h * rowLen) throw new RangeError(`box downsample buffer holds ${out.length} bytes, not ${h * rowLen}`);
  const data = out ?? new Uint8Array(h * rowLen);
  const sd = src.data;
  if (k === 2) {
    // Halving (a 720p frame to a stream's working size, a working frame to its mask size): four
    // integer reads a value, rounded as below.
    if (C === 3) halveRgb(sd, src.width * 3, w, h, data);
    else {
      const stride = src.width * C;
      for (let y = 0, o = 0; y < h; y++) {
        let p = 2 * y * stride;
        for (let x = 0; x < w; x++, p += C) {
          for (let c = 0; c < C; c++, p++, o++) data[o] = (sd[p] + sd[p + C] + sd[p + stride] + sd[p + stride + C] + 2) >> 2;
        }
      }
    }
    return { width: w, height: h, channels: src.channels, data, timestamp: src.timestamp };
  }
  const acc = scratchF32('box.acc', rowLen);
  const inv = 1 / (k * k);
  for (let y = 0; y < h; y++) {
    acc.fill(0);
    for (let r = 0; r < k; r++) boxRow(sd, (y * k + r) * src.width * C, C, k, w, acc);
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) data[o + i] = acc[i] * inv + 0.5;
  }
  return { width: w, height: h, channels: src.channels, data, timestamp: src.timestamp };
}

/** boxDownsample's halving of RGB (every frame of a stream, twice): the channel loop written out. */
function halveRgb(sd: Uint8Array | Uint8ClampedArray, stride: number, w: number, h: number, data: Uint8Array): void {
  // Pairs of output pixels from whole words where the rows start on word boundaries (a stream's
  // frames do), the rest (an odd last column, or any frame elsewhere) byte by byte.
  const pairs = LITTLE_ENDIAN && sd.byteOffset % 4 === 0 && stride % 4 === 0 ? w >> 1 : 0;
  const words = pairs > 0 ? wordView(sd.buffer) : null;
  for (let y = 0, o = 0; y < h; y++, o += w * 3) {
    const p0 = 2 * y * stride;
    if (words) halveRgbPairs(words, (sd.byteOffset + p0) / 4, stride / 4, pairs, data, o);
    for (let x = 2 * pairs, p = p0 + 6 * pairs, d = o + 6 * pairs; x < w; x++, p += 6, d += 3) {
      const q = p + stride;
      data[d] = (sd[p] + sd[p + 3] + sd[q] + sd[q + 3] + 2) >> 2;
      data[d + 1] = (sd[p + 1] + sd[p + 4] + sd[q + 1] + sd[q + 4] + 2) >> 2;
      data[d + 2] = (sd[p + 2] + sd[p + 5] + sd[q + 2] + sd[q + 5] + 2) >> 2;
    }
  }
}

/** Whether a Uint32 holds its bytes lowest first (halveRgbPairs' lanes assume it). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Word views of the few frame buffers a stream cycles through, made once each. */
const wordViews = new WeakMap<ArrayBufferLike, Uint32Array>();

function wordView(buffer: ArrayBufferLike): Uint32Array {
  let v = wordViews.get(buffer);
  if (!v) wordViews.set(buffer, (v = new Uint32Array(buffer, 0, buffer.byteLength >> 2)));
  return v;
}

const LANES = 0x00ff00ff;
/** The rounding's + 2 in both 16-bit lanes. */
const HALF = 0x00020002;

/**
 * Output pixel pairs of halveRgb from 32-bit words: per row, 4 source pixels are 12 bytes, 3
 * words. The two rows' bytes are added in 16-bit lanes, even and odd bytes apart; each channel's
 * sum is then one "e" lane (which carries the rounding's + 2) plus one "o" lane: six word reads
 * per output pair instead of 24 byte reads, the same values.
 */
function halveRgbPairs(words: Uint32Array, t: number, strideW: number, pairs: number, out: Uint8Array, o: number): void {
  for (let x = 0, u = t + strideW; x < pairs; x++, t += 3, u += 3, o += 6) {
    const t0 = words[t], t1 = words[t + 1], t2 = words[t + 2];
    const u0 = words[u], u1 = words[u + 1], u2 = words[u + 2];
    // Lanes (low, high), pixels 0…3 of the four: e0 = (r0, b0), o0 = (g0, r1), e1 = (g1, r2),
    // o1 = (b1, g2), e2 = (b2, g3), o2 = (r3, b3).
    const e0 = (t0 & LANES) + (u0 & LANES) + HALF, o0 = ((t0 >>> 8) & LANES) + ((u0 >>> 8) & LANES);
    const e1 = (t1 & LANES) + (u1 & LANES) + HALF, o1 = ((t1 >>> 8) & LANES) + ((u1 >>> 8) & LANES);
    const e2 = (t2 & LANES) + (u2 & LANES) + HALF, o2 = ((t2 >>> 8) & LANES) + ((u2 >>> 8) & LANES);
    // Lane sums stay below 2^16, so adding whole words never carries from the low lane into the high.
    out[o] = ((e0 & 0xffff) + (o0 >>> 16)) >> 2;
    out[o + 1] = ((o0 + e1) & 0xffff) >> 2;
    out[o + 2] = ((e0 >>> 16) + (o1 & 0xffff)) >> 2;
    out[o + 3] = ((e1 >>> 16) + (o2 & 0xffff)) >> 2;
    out[o + 4] = ((o1 + e2) >>> 16) >> 2;
    out[o + 5] = ((e2 & 0xffff) + (o2 >>> 16)) >> 2;
  }
}

/** Adds the k-wide horizontal sums of one source row into acc (w blocks × C channels). */
function boxRow(sd: Uint8Array | Uint8ClampedArray, so: number, C: number, k: number, w: number, acc: Float32Array): void {
  if (C === 3) {
    for (let x = 0, p = so, a = 0; x < w; x++, a += 3) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < k; j++, p += 3) {
        r += sd[p];
        g += sd[p + 1];
        b += sd[p + 2];
      }
      acc[a] += r;
      acc[a + 1] += g;
      acc[a + 2] += b;
    }
    return;
  }
  if (C === 4) {
    for (let x = 0, p = so, a = 0; x < w; x++, a += 4) {
      let r = 0, g = 0, b = 0, al = 0;
      for (let j = 0; j < k; j++, p += 4) {
        r += sd[p];
        g += sd[p + 1];
        b += sd[p + 2];
        al += sd[p + 3];
      }
      acc[a] += r;
      acc[a + 1] += g;
      acc[a + 2] += b;
      acc[a + 3] += al;
    }
    return;
  }
  for (let x = 0, p = so, a = 0; x < w; x++, a += C) {
    for (let j = 0; j < k; j++) for (let c = 0; c < C; c++) acc[a + c] += sd[p++];
  }
}

/**
 * Resizes a frame to width × height, keeping its channel count (and timestamp). Bilinear with
 * half-pixel centres and edge clamping when upscaling or shrinking by at most 2× on an axis; an
 * area (box) average when shrinking by more, so it does not alias. Same size returns a copy.
 */
export function resizeFrame(src: Frame, width: number, height: number): Frame {
  checkSize(width, height, 'resize');
  const data = new Uint8Array(width * height * src.channels);
  if (width === src.width && height === src.height) {
    data.set(src.data);
  } else {
    const xt = resampleTaps(src.width, 0, src.width, width);
    const yt = resampleTaps(src.height, 0, src.height, height);
    resample(src.data, src.width, src.channels, xt, yt, data);
  }
  return { width, height, channels: src.channels, data, timestamp: src.timestamp };
}

/**
 * Resizes a mask to width × height with the same filters as {@link resizeFrame} (bilinear, or an
 * area average when shrinking by more than 2×). Same size returns a copy.
 */
export function resizeMask(src: Mask, width: number, height: number, filter: AxisFilter = 'auto'): Mask {
  checkSize(width, height, 'resize');
  const data = new Float32Array(width * height);
  if (width === src.width && height === src.height) {
    data.set(src.data);
  } else {
    const xt = resampleTaps(src.width, 0, src.width, width, filter);
    const yt = resampleTaps(src.height, 0, src.height, height, filter);
    resample(src.data, src.width, 1, xt, yt, data);
  }
  return { width, height, data };
}

/**
 * Fits a background image to width × height. Output channels = the background's channels.
 * - `cover` (the default everywhere): scale uniformly until it covers the whole frame, then crop
 *   the centre (sub-pixel exact).
 * - `contain`: scale uniformly until it fits inside, centre it, and fill the bars with `fill`
 *   (default opaque black [0, 0, 0, 255]; alpha is used only when the background has 4 channels).
 * - `stretch`: plain resize, ignoring the aspect ratio.
 */
export function fitBackground(
  bg: Frame, width: number, height: number, fit: Fit = 'cover',
  fill: FillColour = [0, 0, 0, 255],
): Frame {
  checkSize(width, height, 'fit');
  const C = bg.channels;
  const bw = bg.width, bh = bg.height;
  if (fit === 'stretch') return resizeFrame(bg, width, height);
  if (fit === 'cover') {
    const scale = Math.max(width / bw, height / bh);
    const sw = Math.min(bw, width / scale);
    const sh = Math.min(bh, height / scale);
    const data = new Uint8Array(width * height * C);
    const xt = resampleTaps(bw, (bw - sw) / 2, sw, width);
    const yt = resampleTaps(bh, (bh - sh) / 2, sh, height);
    resample(bg.data, bw, C, xt, yt, data);
    return { width, height, channels: C, data, timestamp: bg.timestamp };
  }
  if (fit === 'contain') {
    const scale = Math.min(width / bw, height / bh);
    const dw = Math.min(width, Math.max(1, Math.round(bw * scale)));
    const dh = Math.min(height, Math.max(1, Math.round(bh * scale)));
    const inner = resizeFrame(bg, dw, dh);
    const data = new Uint8Array(width * height * C);
    const ox = (width - dw) >> 1;
    const oy = (height - dh) >> 1;
    // Fill one row, then copy it to every row, then blit the image.
    const row = width * C;
    for (let i = 0; i < row; i += C) {
      data[i] = fill[0]; data[i + 1] = fill[1]; data[i + 2] = fill[2];
      if (C === 4) data[i + 3] = fill[3];
    }
    for (let y = 1; y < height; y++) data.copyWithin(y * row, 0, row);
    const innerRow = dw * C;
    for (let y = 0; y < dh; y++) {
      data.set(inner.data.subarray(y * innerRow, (y + 1) * innerRow), ((oy + y) * width + ox) * C);
    }
    return { width, height, channels: C, data, timestamp: bg.timestamp };
  }
  throw new RangeError(`fit must be 'cover', 'contain' or 'stretch', got ${JSON.stringify(fit)}`);
}
