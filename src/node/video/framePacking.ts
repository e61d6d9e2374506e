/**
 * The Node side of ffmpeg compositing (ffmpegRenderer.ts): what Node sends the compositing ffmpeg
 * for each frame (ffmpegGraph.ts says what ffmpeg does with it).
 */
import { blurBackground, blurBackgroundFor } from '../../core/blur.js';
import type { Frame, Mask } from '../../core/frame.js';
import { axisTaps, stretchRows } from '../../core/postprocess.js';

/**
 * The background blurred for a W × H output with the person weighted out: from `small`, the frame
 * Node works on (best the working frame already reduced to the mask's size,
 * BackgroundEffect.streamGuide, else any size), at the blur's own smaller working size, in the
 * output's shape.
 */
export function backgroundBlur(small: Frame, mask: Mask, strength: number, W: number, H: number): Frame {
  // A frame of the mask's size is blurred as it is (what blurBackgroundFor would halve the working frame into).
  return small.width === mask.width && small.height === mask.height ? blurBackground(small, mask, strength) : blurBackgroundFor(small, mask, strength, W, H);
}

/**
 * What Node sends ffmpeg per frame, at the mask's size: the mask in alpha and, for blur, the
 * blurred background (from {@link backgroundBlur}; null: none, the mask alone) sampled
 * bilinearly in RGB. Written into `buffer` when it is the packed frame's size (a buffer whose
 * earlier frame is written out), else a new one.
 */
export function packBlurred(mask: Mask, blurred: Frame | null, buffer?: Uint8Array, timestamp?: number): Frame {
  const { width: w, height: h } = mask;
  const reuse = buffer?.length === w * h * 4;
  const out = reuse ? buffer! : new Uint8Array(w * h * 4);
  if (blurred === null) {
    if (reuse) out.fill(0);
    alphaInto(mask.data, out);
  } else if (LITTLE_ENDIAN) upsampleRgbWithAlpha(blurred, mask.data, out, w, h);
  else {
    alphaInto(mask.data, out);
    upsampleRgbInto(blurred, out, w, h);
  }
  return { width: w, height: h, channels: 4, data: out, timestamp };
}

/**
 * A packed frame with `earlier`'s RGB (a packed frame of the same size) and this mask in alpha: one
 * blurred background for several frames, upsampled once. Written into `buffer` as packBlurred.
 */
export function repackMask(mask: Mask, earlier: Uint8Array, buffer?: Uint8Array, timestamp?: number): Frame {
  const { width: w, height: h } = mask;
  if (earlier.length !== w * h * 4) throw new RangeError(`the earlier packed frame holds ${earlier.length} bytes, not ${w}×${h} RGBA`);
  const out = buffer?.length === earlier.length ? buffer : new Uint8Array(earlier.length);
  out.set(earlier);
  alphaInto(mask.data, out);
  return { width: w, height: h, channels: 4, data: out, timestamp };
}

/** Whether a Uint32 holds its bytes lowest first (RGBA packs into one store as r | g << 8 | b << 16 | a << 24). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The mask as alpha bytes (rounded, clamped) into the A of an RGBA buffer. */
function alphaInto(m: Float32Array, out: Uint8Array): void {
  for (let i = 0, o = 3; i < m.length; i++, o += 4) {
    const v = m[i];
    out[o] = v <= 0 ? 0 : v >= 1 ? 255 : v * 255 + 0.5;
  }
}

/**
 * Bilinear (half-pixel) upsample of an RGB frame into the RGB of a w × h RGBA buffer. Separable:
 * each source row is stretched once, then each output row blends two stretched rows.
 */
function upsampleRgbInto(src: Frame, out: Uint8Array, w: number, h: number): void {
  const { width: sw, height: sh, data } = src;
  const ys = axisTaps(sh, h);
  const rowLen = w * 3;
  const rows = stretchRows('pack.rows', data, sw, sh, 3, w);
  for (let y = 0, o = 0; y < h; y++) {
    const r0 = ys.i0[y] * rowLen, r1 = ys.i1[y] * rowLen, f = ys.w1[y];
    for (let r = 0; r < rowLen; r += 3, o += 4) {
      out[o] = rows[r0 + r] + (rows[r1 + r] - rows[r0 + r]) * f + 0.5;
      out[o + 1] = rows[r0 + r + 1] + (rows[r1 + r + 1] - rows[r0 + r + 1]) * f + 0.5;
      out[o + 2] = rows[r0 + r + 2] + (rows[r1 + r + 2] - rows[r0 + r + 2]) * f + 0.5;
    }
  }
}

/**
 * upsampleRgbInto and alphaInto in one pass, each pixel one 32-bit store (little-endian only):
 * the same bytes, a third of the stores, one loop instead of two.
 */
function upsampleRgbWithAlpha(src: Frame, m: Float32Array, out: Uint8Array, w: number, h: number): void {
  const { width: sw, height: sh, data } = src;
  const ys = axisTaps(sh, h);
  const rowLen = w * 3;
  const rows = stretchRows('pack.rows', data, sw, sh, 3, w);
  const words = new Uint32Array(out.buffer, out.byteOffset, w * h);
  for (let y = 0, i = 0; y < h; y++) {
    const r0 = ys.i0[y] * rowLen, r1 = ys.i1[y] * rowLen, f = ys.w1[y];
    for (let r = 0; r < rowLen; r += 3, i++) {
      // Bytes as a Uint8Array store makes them: truncated (the values are in 0..255.5).
      const red = (rows[r0 + r] + (rows[r1 + r] - rows[r0 + r]) * f + 0.5) | 0;
      const green = (rows[r0 + r + 1] + (rows[r1 + r + 1] - rows[r0 + r + 1]) * f + 0.5) | 0;
      const blue = (rows[r0 + r + 2] + (rows[r1 + r + 2] - rows[r0 + r + 2]) * f + 0.5) | 0;
      const v = m[i];
      const alpha = v <= 0 ? 0 : v >= 1 ? 255 : (v * 255 + 0.5) | 0;
      words[i] = red | (green << 8) | (blue << 16) | (alpha << 24);
    }
  }
}
