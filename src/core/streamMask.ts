/**
 * The mask of a stream frame (video files and cameras): made from a working frame, carried to the
 * compositor at a small mask size, and upsampled there with the soft edge.
 *
 * Photos run the model on crops of the full picture and the guided filter at full resolution;
 * a stream cannot afford either at 30 fps on two cores, and does not need to. Measured on DAVIS
 * (`npm run eval`), what a video mask lost against a photo's was mostly
 * - the crops: ROI zoom cut from a frame already squeezed to the model's 256×256 input sees no
 *   more detail than the whole-frame pass. Crops are cut from the working frame (longer side
 *   {@link STREAM_WORK_SIDE}), which keeps the detail that matters (IoU 0.790 → 0.814);
 * - the grid: the tracked crop masks are pasted into a grid of the frame's own aspect ratio, the
 *   mask's size, not the model's square one;
 * - the edges: a guided filter on a small guide (the working frame halved, longer side
 *   {@link STREAM_MASK_SIDE}; coefficients on a quarter of it) snaps the mask onto the picture's
 *   edges (boundary error 0.134 → 0.123; 0.121 at the full working size, for twice the time).
 * The compositor (ffmpeg's scale + lut, or compositeLowRes in Node) then upsamples that mask
 * bilinearly to the frame and applies the soft edge {@link streamSoftEdge}.
 *
 * The sizes are the smallest that keep a photo's quality: a working side of 512 (mask 256) scored
 * as 640 (mask 320) did on DAVIS (IoU 0.816, boundary error 0.129, with a grid of the mask's size
 * instead of the model's 65,536 cells) for ~4 core-ms less per frame in Node; 384 lost 0.7 points
 * of IoU and put boundary error over the photo's + 0.02.
 */
import { createMask, type Frame, type Mask } from './frame.js';
import { GUIDED_PRE_SOFTNESS, GUIDED_SOFTNESS_SCALE, guidedUpsample, type KeptCoefficients } from './guidedFilter.js';
import { upsampleMask } from './postprocess.js';
import { applySoftEdge, softEdge } from './refine.js';
import { boxDownsample, scratchF32 } from './resize.js';

/** Longer side of a stream's working frame, px: ROI crops are cut from it (never upscaled). */
export const STREAM_WORK_SIDE = 512;
/** Longer side of a stream's mask as it reaches the compositor, px: the working frame is halved (whole-pixel blocks) down to about this. */
export const STREAM_MASK_SIDE = 256;
/** Longer side of the guide on which the guided filter's coefficients are computed, px (the mask size halved again). */
const GUIDE_SIDE = 128;
/**
 * Filtered values this close to 0 or 1 are set to exactly that (a distance the soft edge after
 * upsampling cannot tell), which lets the filter skip the spans far from an edge.
 */
const SATURATE = 0.02;

export interface Size {
  width: number;
  height: number;
}

/** The working size for a width × height stream: the frame's aspect ratio, longer side at most {@link STREAM_WORK_SIDE}. */
export function streamWorkSize(width: number, height: number): Size {
  const scale = Math.min(1, STREAM_WORK_SIDE / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** How many working pixels a side of one mask pixel covers. */
function maskBlock(work: Size): number {
  return Math.max(1, Math.floor(Math.max(work.width, work.height) / STREAM_MASK_SIDE));
}

/** The mask's size for a working frame of this size (whole working pixels per mask pixel): what streamMask returns, and the grid it keeps the mask on. */
export function maskSizeOf(work: Size): Size {
  const k = maskBlock(work);
  return { width: Math.floor(work.width / k), height: Math.floor(work.height / k) };
}

/** The size of a width × height stream's mask, from frames at the working size (what a compositor upsamples). */
export function streamMaskSize(width: number, height: number): Size {
  return maskSizeOf(streamWorkSize(width, height));
}

/**
 * The working frame reduced to a stream's mask size (whole-pixel block means): the guided edges'
 * guide, and what a compositor's background blur starts from (one halving per frame serves both).
 * Written into `buffer` when it is that size (a stream reuses one; never the work frame's own),
 * else into a new one. Returns the work frame itself where it is the mask size already.
 */
export function streamGuide(work: Frame, buffer?: Uint8Array): Frame {
  const k = maskBlock(work);
  if (k === 1) return work;
  const size = Math.floor(work.width / k) * Math.floor(work.height / k) * work.channels;
  return boxDownsample(work, k, buffer && buffer.length === size && buffer.buffer !== work.data.buffer ? buffer : undefined);
}

/**
 * A stream's grid mask at its mask size, edges as asked: `guided`, the probability soft-stepped at
 * `threshold` (as `refine: 'guided'` does) and then guided by the working frame reduced to the
 * mask size (`guide`, from {@link streamGuide}, when the caller has it already); `bilinear`, the
 * grid resized. In [0, 1] and without the final soft edge: the compositor applies
 * {@link streamSoftEdge} after upsampling, so the step lands on output pixels. `out` (the mask
 * size) is reused when given.
 */
export function streamEdges(
  grid: Mask, work: Frame, edges: 'guided' | 'bilinear', threshold: number, out?: Mask, guide?: Frame, coefficients?: KeptCoefficients,
): Mask {
  const size = maskSizeOf(work);
  const target = out && out.width === size.width && out.height === size.height ? out : createMask(size.width, size.height);
  if (edges === 'bilinear') {
    target.data.set(upsampleMask(grid, size.width, size.height).data);
    return target;
  }
  const crisp: Mask = { width: grid.width, height: grid.height, data: scratchF32('stream.crisp', grid.data.length) };
  applySoftEdge(grid.data, crisp.data, 0, grid.data.length, softEdge(threshold, GUIDED_PRE_SOFTNESS));
  const g = guide && guide.width === size.width && guide.height === size.height ? guide : streamGuide(work);
  return guidedUpsample(crisp, g, { workSide: GUIDE_SIDE, guide: 'colour', saturate: SATURATE, out: target, coefficients });
}

/** The soft edge a compositor applies to a stream mask after upsampling it (guided edges are already placed at 0.5). */
export function streamSoftEdge(edges: 'guided' | 'bilinear', threshold: number, softness: number): { threshold: number; softness: number } {
  return edges === 'guided' ? { threshold: 0.5, softness: softness * GUIDED_SOFTNESS_SCALE } : { threshold, softness };
}
