/**
 * When a stream frame can go without the model.
 *
 * The model is most of a stream frame's cost. Between frames of a steady picture its answer
 * barely changes, and the temporal smoother knows how the picture moved: its prediction (the last
 * mask carried along the motion, TemporalSmoother.predict) then does as well as a fresh look, and
 * the guided edges apply the last look's coefficients to the new frame's picture. A frame skips
 * the model only when the smoother has a history to predict from and, where the mask's edge is,
 * the picture moved little and its motion explains the change; the model still sees every fourth
 * frame.
 *
 * Measured with `npm run eval -- video`. On DAVIS (a panning hike, a breakdance) these thresholds
 * skip few frames and leave IoU and boundary error as they were (0.818 / 0.128); skipping every
 * other frame regardless lost 3 points of IoU and 2.5 of boundary error on the breakdance. On
 * four steady clips (two talking heads, a pose, a signing hand) 48–75 % of frames skip, and the
 * masks agree with Robust Video Matting's as closely as with the model on every frame (IoU within
 * 0.002, boundary error within 0.004, flicker within 0.0001). At most two skips in a row (every
 * third frame looked at) skipped 41–67 % for the same agreement (boundary error within 0.003) and
 * cost ≈ 0.4 core-ms more a 720p frame.
 */
import type { TemporalSmoother } from './temporal.js';

export interface CadenceTuning {
  /** At most this many frames in a row without the model (a video file's: those between multiples of maxSkip + 1). */
  maxSkip: number;
  /** Skip only when the largest motion where the edge is is under this many mask pixels … */
  maxMotion: number;
  /** … and the mean luma change (0..1) that motion leaves unexplained there is under this. */
  maxChange: number;
}

export const DEFAULT_CADENCE: CadenceTuning = { maxSkip: 3, maxMotion: 2.5, maxChange: 0.04 };

export class ModelCadence {
  /** Frames skipped in a row. */
  private skipped = 0;
  /** Frames that went without the model, and all frames asked about. */
  skips = 0;
  frames = 0;

  constructor(readonly tuning: CadenceTuning = DEFAULT_CADENCE) {}

  /**
   * Whether the frame the smoother has just observed can go without the model. A video file's
   * frame (`index`, its position in the file) may skip only off the model's beat (every
   * maxSkip + 1-th frame looks), so a video processed in pieces makes the choices one run makes.
   */
  skip(smoother: TemporalSmoother, index?: number): boolean {
    this.frames++;
    const { maxSkip, maxMotion, maxChange } = this.tuning;
    const offBeat = index === undefined ? this.skipped < maxSkip : index % (maxSkip + 1) !== 0;
    let skip = offBeat && smoother.options.predict && smoother.canPredict;
    if (skip) {
      const edge = smoother.edgeMotion();
      skip = edge.motion < maxMotion && edge.change < maxChange;
    }
    this.skipped = skip ? this.skipped + 1 : 0;
    if (skip) this.skips++;
    return skip;
  }
}
