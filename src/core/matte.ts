/**
 * Transparent cut-outs: the person with an alpha channel, edge colours decontaminated so the old
 * background does not show as a fringe once the image is composited (premultiplied) elsewhere.
 */
import { downsampleWeighted } from './blur.js';
import type { Frame, Mask } from './frame.js';
import { resampleTaps } from './resize.js';

/**
 * Mask values at or above this are not trusted as background when estimating B (trust falls off
 * as (1 − m/0.05)² below it): mixed edge pixels must not count as background.
 */
const PURE_BACKGROUND = 0.05;

/**
 * @internal Estimates the background colour B everywhere from pixels that are (almost) pure
 * background, at a reduced working size, by push-pull (pull: 2 × 2 averages of the trusted
 * colours, with their trust summed; push: each level keeps its own colour where trusted and takes
 * the coarser level's, bilinearly upsampled, where not). Every pixel so gets the colour of the
 * nearest real background, however wide the soft edge is. Returns RGB floats at the working size,
 * or undefined if no pixel is background.
 */
export function estimateBackground(frame: Frame, mask: Mask): { width: number; height: number; rgb: Float32Array } | undefined {
  const W = frame.width, H = frame.height;
  const factor = Math.max(1, Math.min(4, Math.min(W, H) / 128));
  const w0 = Math.max(1, Math.round(W / factor));
  const h0 = Math.max(1, Math.round(H / factor));
  const buf = downsampleWeighted(frame, mask, resampleTaps(W, 0, W, w0), resampleTaps(H, 0, H, h0), { kind: 'pure', limit: PURE_BACKGROUND });

  // Level 0: colour means and trust.
  const widths = [w0], heights = [h0];
  const colours: Float32Array[] = [new Float32Array(w0 * h0 * 3)];
  const trusts: Float32Array[] = [new Float32Array(w0 * h0)];
  for (let i = 0; i < w0 * h0; i++) {
    const t = buf[i * 4 + 3];
    trusts[0][i] = t;
    if (t > 0) {
      const inv = 1 / t;
      colours[0][i * 3] = buf[i * 4] * inv;
      colours[0][i * 3 + 1] = buf[i * 4 + 1] * inv;
      colours[0][i * 3 + 2] = buf[i * 4 + 2] * inv;
    }
  }

  // Pull.
  for (let k = 0; widths[k] > 1 || heights[k] > 1; k++) {
    const cw = widths[k], ch = heights[k];
    const pw = (cw + 1) >> 1, ph = (ch + 1) >> 1;
    const cc = colours[k], ct = trusts[k];
    const pc = new Float32Array(pw * ph * 3), pt = new Float32Array(pw * ph);
    for (let py = 0; py < ph; py++) {
      for (let px = 0; px < pw; px++) {
        let r = 0, g = 0, b = 0, s = 0;
        for (let dy = 0; dy < 2; dy++) {
          const y = 2 * py + dy;
          if (y >= ch) break;
          for (let dx = 0; dx < 2; dx++) {
            const x = 2 * px + dx;
            if (x >= cw) break;
            const i = y * cw + x;
            const a = ct[i] < 1 ? ct[i] : 1;
            if (a === 0) continue;
            r += a * cc[i * 3]; g += a * cc[i * 3 + 1]; b += a * cc[i * 3 + 2];
            s += a;
          }
        }
        const o = py * pw + px;
        pt[o] = s;
        if (s > 0) {
          pc[o * 3] = r / s; pc[o * 3 + 1] = g / s; pc[o * 3 + 2] = b / s;
        }
      }
    }
    widths.push(pw); heights.push(ph); colours.push(pc); trusts.push(pt);
  }
  if (!(trusts[trusts.length - 1][0] > 0)) return undefined;

  // Push: fill from coarse to fine, parents sampled bilinearly (child c ↔ parent c/2 − 0.25).
  for (let k = colours.length - 2; k >= 0; k--) {
    const cw = widths[k], ch = heights[k], pw = widths[k + 1], ph = heights[k + 1];
    const cc = colours[k], ct = trusts[k], pc = colours[k + 1];
    for (let y = 0; y < ch; y++) {
      let sy = y / 2 - 0.25;
      sy = sy < 0 ? 0 : sy > ph - 1 ? ph - 1 : sy;
      const y0 = Math.floor(sy), y1 = y0 + 1 < ph ? y0 + 1 : y0, fy = sy - y0;
      for (let x = 0; x < cw; x++) {
        const i = y * cw + x;
        const a = ct[i] < 1 ? ct[i] : 1;
        if (a === 1) continue;
        let sx = x / 2 - 0.25;
        sx = sx < 0 ? 0 : sx > pw - 1 ? pw - 1 : sx;
        const x0 = Math.floor(sx), x1 = x0 + 1 < pw ? x0 + 1 : x0, fx = sx - x0;
        const q00 = (y0 * pw + x0) * 3, q01 = (y0 * pw + x1) * 3, q10 = (y1 * pw + x0) * 3, q11 = (y1 * pw + x1) * 3;
        for (let c = 0; c < 3; c++) {
          const top = pc[q00 + c] + (pc[q01 + c] - pc[q00 + c]) * fx;
          const bot = pc[q10 + c] + (pc[q11 + c] - pc[q10 + c]) * fx;
          const u = top + (bot - top) * fy;
          cc[i * 3 + c] = a * cc[i * 3 + c] + (1 - a) * u;
        }
      }
    }
  }
  return { width: w0, height: h0, rgb: colours[0] };
}

/**
 * One row of the cut-out. `bd` is the low-res background estimate (empty = none: edges keep the
 * input colour), sampled bilinearly with rows ry0/ry1 (weight fy) and column tables cx0/cx1/fx.
 */
function cutoutRow(
  i0: number, W: number, C: number, src: Uint8Array | Uint8ClampedArray, md: Float32Array,
  dst: Uint8Array | Uint8ClampedArray, bd: Float32Array, ry0: number, ry1: number, fy: number,
  cx0: Int32Array, cx1: Int32Array, fx: Float32Array,
): void {
  const haveB = bd.length > 0;
  for (let x = 0, i = i0; x < W; x++, i++) {
    const o = i * 4;
    const p = i * C;
    const v = md[i] * 255 + 0.5;
    const a = v >= 255 ? 255 : v >= 1 ? v | 0 : 0;
    // An RGBA input's own transparency carries over: alpha = round(m·255)·α_in/255.
    dst[o + 3] = C === 4 ? (a * src[p + 3] * (1 / 255) + 0.5) | 0 : a;
    if (a === 0) {
      dst[o] = 0; dst[o + 1] = 0; dst[o + 2] = 0;
      continue;
    }
    if (a === 255 || !haveB) {
      dst[o] = src[p]; dst[o + 1] = src[p + 1]; dst[o + 2] = src[p + 2];
      continue;
    }
    const q00 = (ry0 + cx0[x]) * 3, q01 = (ry0 + cx1[x]) * 3, q10 = (ry1 + cx0[x]) * 3, q11 = (ry1 + cx1[x]) * 3;
    const f = fx[x];
    const alpha = a / 255;
    const inv = 1 / alpha;
    const beta = 1 - alpha;
    const t = alpha <= 0.95 ? 0 : (alpha - 0.95) * 20;
    for (let c = 0; c < 3; c++) {
      const top = bd[q00 + c] + (bd[q01 + c] - bd[q00 + c]) * f;
      const bot = bd[q10 + c] + (bd[q11 + c] - bd[q10 + c]) * f;
      const B = top + (bot - top) * fy;
      const I = src[p + c];
      let F = (I - beta * B) * inv;
      F = F < 0 ? 0 : F > 255 ? 255 : F;
      dst[o + c] = (F + (I - F) * t + 0.5) | 0;
    }
  }
}

/**
 * Cuts the person out: an RGBA frame (straight, not premultiplied, alpha — what PNG and WebP
 * store) with alpha = round(m·255) (times the input's own alpha/255 for an RGBA input).
 *
 * Edge pixels (0 < alpha < 255) are a mix I = α·F + (1 − α)·B of the person's colour F and the
 * background's B. B is estimated from nearby pixels that are (almost) pure background (mask < 0.2),
 * filled across the soft edge by push-pull at reduced resolution ({@link estimateBackground}) and
 * sampled bilinearly; the person's colour is then F = (I − (1 − α)·B)/α, clamped to 0..255. F is
 * used fully up to α = 0.95 and blended linearly back to the input colour I as α goes from 0.95 to 1,
 * where the correction is tiny and the division would only amplify noise. Premultiplying the result
 * gives α·F ≈ I − (1 − α)·B: the old background's share removed, so no fringe. If the frame has no
 * background pixel at all, edge colours are left as they are.
 *
 * Fully transparent pixels (alpha 0) get RGB 0 (black), so they contribute nothing after
 * premultiplication or premultiplied filtering. Fully opaque pixels keep the input colour.
 * Returns a new frame, or `out` (W × H × 4, not the input's buffer) when given.
 *
 * @throws RangeError if the mask is not at the frame's size.
 */
export function cutout(frame: Frame, mask: Mask, out?: Frame): Frame {
  const W = frame.width, H = frame.height, C = frame.channels;
  if (mask.width !== W || mask.height !== H) {
    throw new RangeError(`mask is ${mask.width}×${mask.height} but the frame is ${W}×${H}; resize the mask to the frame's size first`);
  }
  const src = frame.data;
  const md = mask.data;
  const n = W * H;
  let result: Frame;
  if (out) {
    if (out.width !== W || out.height !== H || out.channels !== 4 || out.data.length !== n * 4) {
      throw new RangeError(`out is ${out.width}×${out.height}×${out.channels} but must be ${W}×${H}×4`);
    }
    if (out.data === src) throw new RangeError('cutout cannot write into its input frame');
    result = out.timestamp === frame.timestamp ? out : { ...out, timestamp: frame.timestamp };
  } else {
    result = { width: W, height: H, channels: 4, data: new Uint8Array(n * 4), timestamp: frame.timestamp };
  }
  const dst = result.data;

  // Edge pixels (0 < alpha < 255) need the background estimate; find out whether there are any.
  let hasEdge = false;
  for (let i = 0; i < n; i++) {
    const v = md[i] * 255 + 0.5;
    if (v >= 1 && v < 255) {
      hasEdge = true;
      break;
    }
  }
  const bgEst = hasEdge ? estimateBackground(frame, mask) : undefined;
  const bw = bgEst ? bgEst.width : 1, bh = bgEst ? bgEst.height : 1;
  const bd = bgEst ? bgEst.rgb : new Float32Array(0);
  const xt = resampleTaps(bw, 0, bw, W, 'bilinear');
  const yt = resampleTaps(bh, 0, bh, H, 'bilinear');
  const cx0 = xt.start, cx1 = new Int32Array(W), fx = new Float32Array(W);
  for (let x = 0; x < W; x++) {
    const two = xt.count[x] === 2;
    cx1[x] = two ? cx0[x] + 1 : cx0[x];
    fx[x] = two ? xt.weights[x * 2 + 1] : 0;
  }
  for (let y = 0; y < H; y++) {
    const ry0 = yt.start[y] * bw;
    const two = yt.count[y] === 2;
    cutoutRow(y * W, W, C, src, md, dst, bd, ry0, two ? ry0 + bw : ry0, two ? yt.weights[y * 2 + 1] : 0, cx0, cx1, fx);
  }
  return result;
}
