/**
 * The mask of a stream frame (video files and cameras): made at a working size, carried to the
 * compositor at that size, and upsampled there with the soft edge.
 *
 * Photos run the model on crops of the full picture and the guided filter at full resolution;
 * a stream cannot afford either at 30 fps on two cores, and does not need to: measured on DAVIS
 * (`npm run eval`), what a video mask loses against a photo's is mostly
 * - the crops: ROI zoom cut from a frame already squeezed to the model's 256×256 input sees no
 *   more detail than the whole-frame pass. Crops are cut from the working frame (longer side
 *   {@link STREAM_WORK_SIDE}), which keeps the detail that matters (IoU 0.790 → 0.814);
 * - the grid: the tracked crop masks are pasted into a grid of the frame's own aspect ratio (about
 *   as many cells as the model's output), not the model's square one;
 * - the edges: a guided filter whose coefficients are computed on a small guide (longer side
 *   {@link STREAM_GUIDE_SIDE}) and applied at the working size snaps the mask onto the picture's
 *   edges (boundary error 0.134 → 0.120, within 0.01 of the photo path).
 * The compositor (ffmpeg's scale + lut, or compositeLowRes in Node) then upsamples that mask
 * bilinearly to the frame and applies the soft edge {@link streamSoftEdge}.
 */
import type { Mask } from './frame.js';
import type { Frame } from './frame.js';
import { GUIDED_PRE_SOFTNESS, GUIDED_SOFTNESS_SCALE, guidedUpsample } from './guidedFilter.js';
import { applySoftEdge, softEdge } from './refine.js';
import { scratchF32 } from './resize.js';

/** Longer side of a stream's working frame, px: crops and edges are worked out at this size (never upscaled). */
export const STREAM_WORK_SIDE = 640;
/** Longer side of the guide on which the stream's guided-filter coefficients are computed, px. */
export const STREAM_GUIDE_SIDE = 160;

/** The working size for a width × height stream: the frame's aspect ratio, longer side at most {@link STREAM_WORK_SIDE}. */
export function streamWorkSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, STREAM_WORK_SIDE / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * The grid a stream's mask is kept on (crops pasted, smoothed over time): the frame's aspect ratio
 * with about `cells` cells (the model's output size), never finer than the frame itself.
 */
export function streamGrid(width: number, height: number, cells: number): { width: number; height: number } {
  const gh = Math.min(height, Math.max(1, Math.round(Math.sqrt((cells * height) / width))));
  const gw = Math.min(width, Math.max(1, Math.round((gh * width) / height)));
  return { width: gw, height: gh };
}

/**
 * The guided edges of a stream's grid mask: the probability soft-stepped at `threshold` (as
 * `refine: 'guided'` does), then guided by the working frame, at the working frame's size, in
 * [0, 1] and without the final soft edge — the compositor applies {@link streamSoftEdge} after
 * upsampling, so the step lands on output pixels, not working ones.
 */
export function streamEdges(grid: Mask, work: Frame, threshold: number, out?: Mask): Mask {
  const crisp: Mask = { width: grid.width, height: grid.height, data: scratchF32('stream.crisp', grid.data.length) };
  applySoftEdge(grid.data, crisp.data, 0, grid.data.length, softEdge(threshold, GUIDED_PRE_SOFTNESS));
  return guidedUpsample(crisp, work, { workSide: STREAM_GUIDE_SIDE, guide: 'colour', out });
}

/** The soft edge a compositor applies to a stream mask after upsampling it (guided edges are already placed at 0.5). */
export function streamSoftEdge(refine: 'guided' | 'bilinear', threshold: number, softness: number): { threshold: number; softness: number } {
  return refine === 'guided' ? { threshold: 0.5, softness: softness * GUIDED_SOFTNESS_SCALE } : { threshold, softness };
}
