/**
 * Model output → mask, as MediaPipe's TensorsToSegmentation step does it: pick the person channel,
 * apply the activation the model needs, then upsample to the frame with bilinear half-pixel
 * sampling (what GL_LINEAR does on MediaPipe's GPU path).
 */
import { createMask, type Mask } from './frame.js';
import type { ModelSpec } from './modelSpec.js';
import { scratchF32 } from './resize.js';

/**
 * Probabilities below this are 0. The selfie models answer "background" with values just above
 * the smallest normal float (≈ 1.2e-38); any bilinear weight or smoothing factor then makes
 * subnormals, which x86 handles in microcode, many times slower: a 720p upsample + soft edge took
 * 12.9 ms with them and 3.8 ms without. Far below anything visible (1/255 ≈ 0.004).
 */
export const TINY = 1e-20;

/**
 * Reads the person probability out of a raw output tensor at the model's own resolution, into
 * `into` when given (a stream reuses one mask per frame) or a new mask.
 */
export function tensorToMask(output: Float32Array, spec: ModelSpec, into?: Mask): Mask {
  const { outputWidth: w, outputHeight: h, outputChannels: c, personChannel, outputLayout, activation } = spec;
  if (output.length !== w * h * c) {
    throw new RangeError(`model output has ${output.length} values; the spec expects ${w}×${h}×${c}`);
  }
  if (into && (into.width !== w || into.height !== h || into.data.length !== w * h)) {
    throw new RangeError(`mask to write into is ${into.width}×${into.height}; the model's output is ${w}×${h}`);
  }
  const mask = into ?? createMask(w, h);
  const m = mask.data;
  const plane = w * h;
  // Index of channel ch of pixel i is i·pixelStride + ch·channelStride in either layout.
  const pixelStride = outputLayout === 'nhwc' ? c : 1;
  const channelStride = outputLayout === 'nhwc' ? 1 : plane;
  const person = personChannel * channelStride;
  if (activation === 'none') {
    // The built-in models: probabilities already, one clamp per cell (the loop below tests the
    // activation per cell, 0.3 core-ms at 256×256 against 0.05).
    for (let i = 0, k = person; i < plane; i++, k += pixelStride) {
      const p = output[k];
      m[i] = p < TINY ? 0 : p > 1 ? 1 : p;
    }
    return mask;
  }
  for (let i = 0; i < plane; i++) {
    const base = i * pixelStride;
    let p = output[base + person];
    if (activation === 'sigmoid') {
      p = 1 / (1 + Math.exp(-p));
    } else if (activation === 'softmax') {
      let max = -Infinity;
      for (let ch = 0; ch < c; ch++) max = Math.max(max, output[base + ch * channelStride]);
      let sum = 0;
      for (let ch = 0; ch < c; ch++) sum += Math.exp(output[base + ch * channelStride] - max);
      p = Math.exp(p - max) / sum;
    }
    m[i] = p < TINY ? 0 : p > 1 ? 1 : p;
  }
  return mask;
}

/** Precomputed source index pairs and weights for one axis of a half-pixel bilinear resample. */
export interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

/**
 * src = start + (dst + 0.5) · span / dstSize − 0.5, clamped to the edge like GL_CLAMP_TO_EDGE.
 * By default the whole axis (start 0, span srcSize); a crop samples [start, start + span).
 * `out` (tables of dstSize entries) is filled instead of new tables: per-frame callers reuse theirs.
 */
export function axisTaps(srcSize: number, dstSize: number, start = 0, span = srcSize, out?: AxisTaps): AxisTaps {
  const reuse = out && out.i0.length === dstSize;
  const i0 = reuse ? out.i0 : new Int32Array(dstSize);
  const i1 = reuse ? out.i1 : new Int32Array(dstSize);
  const w1 = reuse ? out.w1 : new Float32Array(dstSize);
  const scale = span / dstSize;
  for (let d = 0; d < dstSize; d++) {
    let s = start + (d + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    if (s > srcSize - 1) s = srcSize - 1;
    const f = Math.floor(s);
    i0[d] = f;
    i1[d] = Math.min(f + 1, srcSize - 1);
    w1[d] = s - f;
  }
  return { i0, i1, w1 };
}

/**
 * @internal The first half of a separable bilinear resize: every row of an srcW × srcH image of C
 * interleaved channels stretched to dstW columns (half-pixel centres, edge clamped). Row y of the
 * result starts at y · dstW · C; a full-size bilinear sample is then one lerp between two rows.
 * Returns the scratch buffer named `key`: use it before that name is asked for again.
 */
export function stretchRows(key: string, src: ArrayLike<number>, srcW: number, srcH: number, C: number, dstW: number): Float32Array {
  const { i0, i1, w1 } = axisTaps(srcW, dstW);
  const rows = scratchF32(key, srcH * dstW * C);
  // One loop per kind of input (a mask's floats, one channel; a picture's bytes, three): a loop
  // fed both is compiled for neither, and ran at ~7 ns a value instead of ~2.
  if (C === 1 && src instanceof Float32Array) stretchMaskRows(src, srcW, srcH, dstW, i0, i1, w1, rows);
  else if (C === 3 && src instanceof Uint8Array) stretchRgbRows(src, srcW, srcH, dstW, i0, i1, w1, rows);
  else {
    for (let y = 0, o = 0; y < srcH; y++) {
      const so = y * srcW * C;
      for (let x = 0; x < dstW; x++) {
        const a = so + i0[x] * C, b = so + i1[x] * C, t = w1[x];
        for (let c = 0; c < C; c++, o++) {
          const va = src[a + c];
          rows[o] = va + (src[b + c] - va) * t;
        }
      }
    }
  }
  return rows;
}

function stretchMaskRows(src: Float32Array, srcW: number, srcH: number, dstW: number, i0: Int32Array, i1: Int32Array, w1: Float32Array, rows: Float32Array): void {
  for (let y = 0, o = 0; y < srcH; y++) {
    const so = y * srcW;
    for (let x = 0; x < dstW; x++, o++) {
      const va = src[so + i0[x]];
      rows[o] = va + (src[so + i1[x]] - va) * w1[x];
    }
  }
}

function stretchRgbRows(src: Uint8Array, srcW: number, srcH: number, dstW: number, i0: Int32Array, i1: Int32Array, w1: Float32Array, rows: Float32Array): void {
  for (let y = 0, o = 0; y < srcH; y++) {
    const so = y * srcW * 3;
    for (let x = 0; x < dstW; x++, o += 3) {
      const a = so + i0[x] * 3, b = so + i1[x] * 3, t = w1[x];
      const r = src[a], g = src[a + 1], bl = src[a + 2];
      rows[o] = r + (src[b] - r) * t;
      rows[o + 1] = g + (src[b + 1] - g) * t;
      rows[o + 2] = bl + (src[b + 2] - bl) * t;
    }
  }
}

/** @internal The second half: output row y blends stretched rows r0 and r1 (offsets) by wy into dst at o. */
export function blendRows(rows: Float32Array, r0: number, r1: number, wy: number, dst: Float32Array, o: number, width: number): void {
  for (let x = 0; x < width; x++) {
    const top = rows[r0 + x];
    dst[o + x] = top + (rows[r1 + x] - top) * wy;
  }
}

/**
 * Bilinear half-pixel upsample (or downsample) of a mask to width × height. Separable: each source
 * row is stretched to the output width once, then every output row blends two stretched rows
 * (two reads per pixel instead of four; a 720p mask in about half the time).
 */
export function upsampleMask(low: Mask, width: number, height: number): Mask {
  const out = createMask(width, height);
  const rows = stretchRows('upsample.rows', low.data, low.width, low.height, 1, width);
  const ys = axisTaps(low.height, height);
  for (let y = 0; y < height; y++) blendRows(rows, ys.i0[y] * width, ys.i1[y] * width, ys.w1[y], out.data, y * width, width);
  return out;
}
