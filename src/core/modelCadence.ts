/**
 * When a stream frame can go without the model.
 *
 * The model is most of a stream frame's cost. Between two frames of a steady picture its answer
 * barely changes, and the temporal smoother knows how the picture moved: its prediction (the last
 * mask carried along the motion, TemporalSmoother.predict) then does as well as a fresh look, and
 * the guided edges still follow the new frame. A frame skips the model only when the smoother
 * has a history to predict from, the picture where the mask's edge is moved little and its motion
 * explains the change there, and the frame before looked.
 *
 * Measured with `npm run eval -- video`: on DAVIS (a panning hike, a breakdance) the thresholds
 * below skip 12 % of frames and leave IoU and boundary error as they were; skipping every other
 * frame regardless lost 3 points of IoU and 2.5 of boundary error on the breakdance. A talking
 * head skips every other frame.
 */
import type { TemporalSmoother } from './temporal.js';

export interface CadenceTuning {
  /** At most this many frames in a row without the model. */
  maxSkip: number;
  /** Skip only when the largest motion where the edge is is under this many mask pixels … */
  maxMotion: number;
  /** … and the mean luma change (0..1) that motion leaves unexplained there is under this. */
  maxChange: number;
}

export const DEFAULT_CADENCE: CadenceTuning = { maxSkip: 1, maxMotion: 2.5, maxChange: 0.04 };

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
