/**
 * Frame → model input tensor, as MediaPipe's ImageToTensor step does it on its GPU path: the whole
 * frame is stretched (no letterbox) to the model size with bilinear half-pixel sampling and edge
 * clamping, then RGB is mapped linearly onto the model's input range.
 */
import type { Frame, Rect } from './frame.js';
import type { ModelSpec } from './modelSpec.js';
import { axisTaps, type AxisTaps } from './postprocess.js';

/**
 * `crop` (frame pixels) stretches only that part of the frame to the model's input: see roi.ts.
 * `taps`: tables to reuse for the two axes (a Segmenter keeps its own, so a frame allocates nothing).
 */
export function frameToTensor(frame: Frame, spec: ModelSpec, out?: Float32Array, crop?: Rect, taps?: [AxisTaps, AxisTaps]): Float32Array {
  const { inputWidth: w, inputHeight: h, inputLayout } = spec;
  const [lo, hi] = spec.inputRange;
  const scale = (hi - lo) / 255;
  const tensor = out ?? new Float32Array(w * h * 3);
  const { data, channels: ch, width: fw } = frame;
  const plane = w * h;
  if (!crop && frame.width === w && frame.height === h) {
    // Already the model's size (e.g. scaled by ffmpeg): the same result without interpolation.
    if (inputLayout === 'nhwc') copyNhwc(data, ch, plane, scale, lo, tensor);
    else {
      for (let o = 0, a = 0; o < plane; o++, a += ch) {
        for (let k = 0; k < 3; k++) tensor[k * plane + o] = data[a + k] * scale + lo;
      }
    }
    return tensor;
  }
  const xs = axisTaps(frame.width, w, crop?.x ?? 0, crop?.width ?? frame.width, taps?.[0]);
  const ys = axisTaps(frame.height, h, crop?.y ?? 0, crop?.height ?? frame.height, taps?.[1]);
  if (inputLayout === 'nhwc') {
    bilinearNhwc(data, ch, fw, xs, ys, w, h, scale, lo, tensor);
    return tensor;
  }
  for (let y = 0; y < h; y++) {
    const r0 = ys.i0[y] * fw;
    const r1 = ys.i1[y] * fw;
    const wy = ys.w1[y];
    for (let x = 0; x < w; x++) {
      const a = (r0 + xs.i0[x]) * ch;
      const b = (r0 + xs.i1[x]) * ch;
      const c = (r1 + xs.i0[x]) * ch;
      const d = (r1 + xs.i1[x]) * ch;
      const wx = xs.w1[x];
      const o = y * w + x;
      for (let k = 0; k < 3; k++) {
        const top = data[a + k] + (data[b + k] - data[a + k]) * wx;
        const bot = data[c + k] + (data[d + k] - data[c + k]) * wx;
        tensor[k * plane + o] = (top + (bot - top) * wy) * scale + lo;
      }
    }
  }
  return tensor;
}

/**
 * The bilinear stretch into the interleaved (NHWC) input, every ROI crop of a stream: channels
 * written out, the same sums as the planar loop (so the same tensor to the last bit). The column
 * taps are first turned into byte offsets and double weights (reused tables), which takes the index
 * arithmetic out of the inner loop (≈ 1.1–1.2× faster on captured stream crops; a separable pass through a
 * Float64 row buffer, the only bit-identical one, was slower: the loop is bound by its loads and stores).
 */
function bilinearNhwc(
  data: Uint8Array | Uint8ClampedArray, ch: number, fw: number, xs: AxisTaps, ys: AxisTaps, w: number, h: number,
  scale: number, lo: number, tensor: Float32Array,
): void {
  if (colA.length < w) [colA, colB, colW] = [new Int32Array(w), new Int32Array(w), new Float64Array(w)];
  const ca = colA, cb = colB, cw = colW;
  for (let x = 0; x < w; x++) {
    ca[x] = xs.i0[x] * ch;
    cb[x] = xs.i1[x] * ch;
    cw[x] = xs.w1[x];
  }
  const stride = fw * ch;
  for (let y = 0, o = 0; y < h; y++) {
    const r0 = ys.i0[y] * stride, r1 = ys.i1[y] * stride;
    const wy = ys.w1[y];
    for (let x = 0; x < w; x++, o += 3) {
      const pa = ca[x], pb = cb[x], wx = cw[x];
      const a = r0 + pa, b = r0 + pb, c = r1 + pa, d = r1 + pb;
      tensor[o] = lerp2(data[a], data[b], data[c], data[d], wx, wy) * scale + lo;
      tensor[o + 1] = lerp2(data[a + 1], data[b + 1], data[c + 1], data[d + 1], wx, wy) * scale + lo;
      tensor[o + 2] = lerp2(data[a + 2], data[b + 2], data[c + 2], data[d + 2], wx, wy) * scale + lo;
    }
  }
}

/** Bilinear blend of four values (top pair a, b; bottom pair c, d), in the planar loop's order. */
function lerp2(a: number, b: number, c: number, d: number, wx: number, wy: number): number {
  const top = a + (b - a) * wx, bot = c + (d - c) * wx;
  return top + (bot - top) * wy;
}

/** bilinearNhwc's column byte offsets, kept between calls (a stream's every frame). */
let colA = new Int32Array(0);
let colB = new Int32Array(0);
let colW = new Float64Array(0);

/** A model-size frame's RGB as the model's interleaved input (a video's every frame: kept to one tight loop). */
function copyNhwc(data: Uint8Array | Uint8ClampedArray, ch: number, plane: number, scale: number, lo: number, tensor: Float32Array): void {
  for (let o = 0, a = 0; o < 3 * plane; o += 3, a += ch) {
    tensor[o] = data[a] * scale + lo;
    tensor[o + 1] = data[a + 1] * scale + lo;
    tensor[o + 2] = data[a + 2] * scale + lo;
  }
}

export function inputDims(spec: ModelSpec): number[] {
  return spec.inputLayout === 'nhwc' ? [1, spec.inputHeight, spec.inputWidth, 3] : [1, 3, spec.inputHeight, spec.inputWidth];
}
