/**
 * Temporal smoothing of the person mask between consecutive video frames, at the model's own
 * resolution (e.g. 256×256 or 256×144), before the mask is refined and upsampled.
 *
 * Each mask pixel is a tiny Kalman filter whose state follows the picture's motion:
 * 1. Motion: the frame is reduced to a luma thumbnail at the mask's size; block matching on it
 *    (8×8 blocks at half that size, ±4 px, searched coarse to fine) gives a motion field, which
 *    is interpolated per pixel and used to warp the previous smoothed mask (and its variance and
 *    luma) onto the current frame: a moving arm carries its mask along instead of leaving a trail.
 * 2. Process noise: where the warped previous luma does not match the current one (difference d),
 *    something happened that the motion does not explain, so the history is trusted less:
 *    q = q0 + q1·d² (q1 scaled by `motionSensitivity`).
 * 3. Measurement noise: the model's confident answers (p near 0 or 1) are trusted, uncertain ones
 *    (p near 0.5, where flicker lives) are averaged: R = (r0 + r1·(1 − (2p − 1)²))·f(strength) —
 *    the idea of MediaPipe's uncertainty-weighted smoothing.
 * 4. Update: K = P⁻/(P⁻ + R), s = s⁻ + K·(p − s⁻), P = (1 − K)·P⁻. A pixel that has been stable
 *    for a while resists one-frame blips; motion or a change in the picture renews its doubt.
 * 5. No measurement: a frame the model did not look at (`observe`, then `predict`) gets the
 *    warped state as it is, its doubt grown as in step 2 (the gain is 0): how a steady stream
 *    frame goes without the model (modelCadence.ts).
 *
 * Measured by `npm run eval` (eval/flicker.ts) on the DAVIS sequences with the general model:
 * flicker of the final refined mask ≈ 0.41–0.48× raw with IoU up 2 points; plain exponential
 * averaging lags behind moving limbs, and uncertainty weighting alone loses IoU on fast motion.
 *
 * When frames carry timestamps, q0 grows with the time between them (the constants are per 1/30 s),
 * so a low frame rate is smoothed less per frame. The history is dropped on a scene cut (picture
 * change left after block matching above `sceneCut`), on a jump in time (back, or over 1 s), whenever
 * the mask or frame size changes, and on `reset()`. Without a frame, the disagreement between the
 * new mask and the history stands in for the picture change.
 * Cost: about 1.1 core-ms per frame at 256×256 in plain JS on a busy 2-core machine (`npm run bench -- node`),
 * whatever the frame's resolution (a frame larger than the mask adds its 2×2 taps).
 */
import type { Frame, Mask } from './frame.js';
import { TINY } from './postprocess.js';

export interface TemporalOptions {
  /** 0 = off (the raw mask) … 1 = strongest (nearly frozen); default 0.5. Scales how much the model's answers are averaged over time. */
  strength?: number;
  /** Warp the previous mask along the picture's motion before blending. Default true. */
  motionCompensation?: boolean;
  /** How readily a change in the picture releases the smoothing; default 1 (higher = follows change sooner). */
  motionSensitivity?: number;
  /**
   * Mean luma change (0..1) left between consecutive frames after block matching that counts as
   * a scene cut and drops the history. Default 0.07
   * (camera pans and moving people stay below ≈ 0.04; cuts between unrelated shots measured 0.1–0.3).
   */
  sceneCut?: number;
  /**
   * Streams: a steady frame (little motion where the mask's edge is) may go without the model, its
   * mask this filter's prediction (see modelCadence.ts); at most two in a row. Default true;
   * false runs the model on every frame.
   */
  predict?: boolean;
}

export const DEFAULT_TEMPORAL: Required<TemporalOptions> = {
  strength: 0.5,
  motionCompensation: true,
  motionSensitivity: 1,
  sceneCut: 0.07,
  predict: true,
};

/** @internal Filter constants (mask values 0..1, luma 0..1), chosen on video clips; see eval/flicker.ts. */
export interface TemporalTuning {
  /** Process noise per frame: how fast a static pixel's confidence decays. */
  q0: number;
  /** Process noise per unit² of unexplained luma change. */
  q1: number;
  /** Measurement noise of a confident model output. */
  r0: number;
  /** Extra measurement noise of a fully uncertain (p = 0.5) output. */
  r1: number;
}

const DEFAULT_TUNING: TemporalTuning = { q0: 0.001, q1: 3, r0: 0.01, r1: 0.1 };
/** Frame interval the constants are for (30 fps); q0 scales with the real interval when frames carry timestamps. */
const NOMINAL_INTERVAL_MS = 1000 / 30;
/** A gap between timestamps longer than this (or a step back in time: a seek) drops the history. */
const MAX_GAP_MS = 1000;
const BLOCK = 8; // block size, half-resolution pixels
const RANGE = 4; // search range, half-resolution pixels
const ZERO_BIAS = 0.002; // SAD penalty per pixel of displacement: prefer no motion in flat areas

export function validateTemporalOptions(options: TemporalOptions): Required<TemporalOptions> {
  const o: Required<TemporalOptions> = { ...DEFAULT_TEMPORAL };
  for (const [k, v] of Object.entries(options)) {
    if (!(k in DEFAULT_TEMPORAL)) throw new RangeError(`unknown temporal option "${k}" (allowed: ${Object.keys(DEFAULT_TEMPORAL).join(', ')})`);
    if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  }
  if (!(o.strength >= 0 && o.strength <= 1)) throw new RangeError(`temporal strength must be between 0 and 1, got ${o.strength}`);
  if (!(o.motionSensitivity >= 0) || !Number.isFinite(o.motionSensitivity)) {
    throw new RangeError(`temporal motionSensitivity must be a finite number ≥ 0, got ${o.motionSensitivity}`);
  }
  if (!(o.sceneCut > 0 && o.sceneCut <= 1)) throw new RangeError(`temporal sceneCut must be in (0, 1], got ${o.sceneCut}`);
  for (const k of ['motionCompensation', 'predict'] as const) {
    if (typeof o[k] !== 'boolean') throw new RangeError(`temporal ${k} must be true or false, got ${String(o[k])}`);
  }
  return o;
}

/** Per-axis sample positions of the luma thumbnail: two taps per output pixel, at 1/4 and 3/4. */
function thumbTaps(src: number, dst: number): [Int32Array, Int32Array] {
  const a = new Int32Array(dst), b = new Int32Array(dst);
  for (let i = 0; i < dst; i++) {
    a[i] = Math.min(src - 1, Math.floor(((i + 0.25) * src) / dst));
    b[i] = Math.min(src - 1, Math.floor(((i + 0.75) * src) / dst));
  }
  return [a, b];
}

/** Per pixel: the two nearest block centres and the weight of the second. */
interface CellTaps {
  i0: Int32Array;
  i1: Int32Array;
  f: Float32Array;
}

/** Bilinear interpolation table from block centres (blocks of `cell` pixels) to pixel centres. */
function cellTaps(n: number, cells: number, cell: number): CellTaps {
  const i0 = new Int32Array(n), i1 = new Int32Array(n), f = new Float32Array(n);
  for (let x = 0; x < n; x++) {
    let c = (x + 0.5) / cell - 0.5;
    if (c < 0) c = 0;
    if (c > cells - 1) c = cells - 1;
    const c0 = Math.floor(c);
    i0[x] = c0;
    i1[x] = Math.min(c0 + 1, cells - 1);
    f[x] = c - c0;
  }
  return { i0, i1, f };
}

/** Temporal smoother for one stream of frames. Not shared between streams. */
export class TemporalSmoother {
  readonly options: Required<TemporalOptions>;
  /** @internal Filter constants, overridable for experiments. */
  readonly tuning: TemporalTuning;
  /** Frames since the last reset (0 = the next frame starts a new history). */
  frames = 0;
  /** Times the history was dropped because of a scene cut. */
  sceneCuts = 0;

  private w = 0;
  private h = 0;
  /** Half size, where the block matching refines its motion. */
  private hw = 0;
  private hh = 0;
  private frameW = 0;
  private frameH = 0;
  private hasLuma = false;
  private lastTimestamp: number | undefined = undefined;
  /** Mean absolute luma difference left after block matching (half size). */
  private residual = 0;
  /** @internal The last frame's picture change left after block matching. */
  lastChange = 0;
  /** What {@link observe} found, for the {@link correct} or {@link predict} that follows. */
  private pending: { compare: boolean; moved: boolean; timeScale: number; frame: boolean } | null = null;
  // State and luma at mask resolution; the update writes the next state into sNext/PNext (a warp
  // reads the neighbours of s), then they swap.
  private s = new Float32Array(0);
  private P = new Float32Array(0);
  private sNext = new Float32Array(0);
  private PNext = new Float32Array(0);
  private luma = new Float32Array(0);
  private prevLuma = new Float32Array(0);
  /** One row of the motion at the block columns, for the warp. */
  private rowU = new Float32Array(0);
  private rowV = new Float32Array(0);
  // Half- and quarter-size luma for block matching (current and previous), and the block motion.
  private half = new Float32Array(0);
  private prevHalf = new Float32Array(0);
  private quarter = new Float32Array(0);
  private prevQuarter = new Float32Array(0);
  private flowX = new Float32Array(0);
  private flowY = new Float32Array(0);
  /** Each block's picture change left after its motion (mean absolute luma difference). */
  private blockChange = new Float32Array(0);
  /** Interpolation tables from block centres to mask pixels. */
  private cells: [CellTaps, CellTaps] | null = null;
  private thumbX: [Int32Array, Int32Array] = [new Int32Array(0), new Int32Array(0)];
  private thumbY: [Int32Array, Int32Array] = [new Int32Array(0), new Int32Array(0)];
  /** lumaTaps' column byte offsets (mask width). */
  private colA = new Int32Array(0);
  private colB = new Int32Array(0);

  constructor(options: TemporalOptions = {}, tuning: Partial<TemporalTuning> = {}) {
    this.options = validateTemporalOptions(options);
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
  }

  /** Forgets the history: the next frame is taken as it is. */
  reset(): void {
    this.frames = 0;
    this.hasLuma = false;
    this.lastTimestamp = undefined;
  }

  /**
   * Smooths one low-resolution mask (values 0..1, any size) given the frame it came from. Returns
   * a new mask of the same size, or writes it into `out` (same size; may be `low` itself) and
   * returns that; the input is otherwise not modified. Frames must come in display order.
   */
  apply(low: Mask, frame?: Frame, out?: Mask): Mask {
    const { width: w, height: h, data: p } = low;
    if (p.length !== w * h) throw new RangeError(`mask must be positive integer size with width × height values, got ${w}×${h} holding ${p.length}`);
    this.observe(w, h, frame);
    return this.correct(low, out);
  }

  /**
   * The first half of {@link apply}, for a caller that decides on the model after seeing the
   * picture: the frame's motion and change against the last one, for masks of w × h. Then
   * {@link correct} with the model's mask, or {@link predict} without one.
   */
  observe(w: number, h: number, frame?: Frame): void {
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) {
      throw new RangeError(`mask must be positive integer size with width × height values, got ${w}×${h}`);
    }
    if (w !== this.w || h !== this.h) this.allocate(w, h);
    if (frame && (frame.width !== this.frameW || frame.height !== this.frameH)) {
      this.frameW = frame.width;
      this.frameH = frame.height;
      this.thumbX = thumbTaps(frame.width, w);
      this.thumbY = thumbTaps(frame.height, h);
      this.frames = 0;
    }
    if (frame) this.thumbnail(frame);
    // Elapsed time scales the per-frame process noise (a 10 fps camera changes more per frame than a
    // 30 fps one); a jump in time is a new start.
    let timeScale = 1;
    const ts = frame?.timestamp;
    if (ts !== undefined && Number.isFinite(ts) && this.lastTimestamp !== undefined && this.frames > 0) {
      const dt = ts - this.lastTimestamp;
      if (dt < 0 || dt > MAX_GAP_MS) this.frames = 0;
      else timeScale = Math.min(8, Math.max(0.25, dt / NOMINAL_INTERVAL_MS));
    }
    this.lastTimestamp = ts !== undefined && Number.isFinite(ts) ? ts : undefined;
    // Only a frame that follows a frame has a picture to compare with.
    const compare = frame !== undefined && this.hasLuma;
    let moved = false;
    if (this.frames > 0 && compare) {
      // Scene cut: the picture changed more than motion explains. Block matching runs either
      // way; its motion is used only with motion compensation.
      moved = this.blockFlow() && this.options.motionCompensation;
      const change = this.residual;
      this.lastChange = change;
      if (change > this.options.sceneCut) {
        this.sceneCuts++;
        this.frames = 0;
      }
    }
    this.pending = { compare, moved, timeScale, frame: frame !== undefined };
  }

  /**
   * Whether the observed frame's mask can be {@link predict}ed: it follows a frame of the same
   * history (no start, cut or jump) and there is a picture to follow it by.
   */
  get canPredict(): boolean {
    return this.pending !== null && this.pending.compare && this.frames > 0 && this.options.strength > 0;
  }

  /** The second half of {@link apply}: the observed frame's model mask `low` (w × h) filtered into the history. */
  correct(low: Mask, out?: Mask): Mask {
    const { width: w, height: h, data: p } = low;
    if (w !== this.w || h !== this.h || p.length !== w * h) throw new RangeError(`mask is ${w}×${h} but the observed frame's masks are ${this.w}×${this.h}`);
    this.checkOut(out);
    const pending = this.take();
    if (this.frames === 0 || this.options.strength === 0) {
      this.s.set(p);
      this.P.fill(1);
    } else {
      this.update(p, pending.compare, pending.moved, pending.timeScale);
    }
    return this.finish(pending.frame, out);
  }

  /**
   * The observed frame's mask without the model: the history carried along the picture's motion
   * (the Kalman filter's prediction, its doubt grown by the time and the change; no measurement).
   * Only when {@link canPredict}.
   */
  predict(out?: Mask): Mask {
    if (!this.canPredict) throw new Error('predict needs an observed frame that continues the history (see canPredict)');
    this.checkOut(out);
    const pending = this.take();
    // No measurement is a measurement of infinite noise: the gain is 0, the state only moves and
    // doubts (any finite stand-in for the measurement; the state itself is at hand).
    this.update(this.s, true, pending.moved, pending.timeScale, Infinity);
    return this.finish(true, out);
  }

  /**
   * The observed frame's motion and change where the mask's edge was (blocks whose history is
   * neither all person nor all background): what decides how well {@link predict} can place the
   * edge. The largest motion there (mask pixels) and the mean change left after it; zeros when
   * nothing could be compared.
   */
  edgeMotion(): { motion: number; change: number } {
    if (!this.canPredict || this.hw < 4 || this.hh < 4) return { motion: 0, change: 0 };
    const { w, h, s, flowX, flowY, blockChange } = this;
    const bw = Math.ceil(this.hw / BLOCK), bh = Math.ceil(this.hh / BLOCK);
    const sx = w / this.hw, sy = h / this.hh;
    let motion = 0, change = 0, n = 0;
    for (let by = 0; by < bh; by++) {
      const y0 = Math.floor(by * BLOCK * sy), y1 = Math.min(h, Math.floor((by + 1) * BLOCK * sy));
      for (let bx = 0; bx < bw; bx++) {
        const x0 = Math.floor(bx * BLOCK * sx), x1 = Math.min(w, Math.floor((bx + 1) * BLOCK * sx));
        let sum = 0;
        for (let y = y0; y < y1; y++) for (let i = y * w + x0, end = y * w + x1; i < end; i++) sum += s[i];
        const mean = sum / Math.max(1, (y1 - y0) * (x1 - x0));
        if (mean < 0.02 || mean > 0.98) continue;
        const b = by * bw + bx;
        motion = Math.max(motion, Math.sqrt(flowX[b] * flowX[b] * sx * sx + flowY[b] * flowY[b] * sy * sy));
        change += blockChange[b];
        n++;
      }
    }
    return { motion, change: n ? change / n : 0 };
  }

  private take(): { compare: boolean; moved: boolean; timeScale: number; frame: boolean } {
    const pending = this.pending;
    if (!pending) throw new Error('observe the frame first');
    this.pending = null;
    return pending;
  }

  /** A wrong `out` is refused before the history changes. */
  private checkOut(out?: Mask): void {
    const { w, h } = this;
    if (out && (out.width !== w || out.height !== h || out.data.length !== w * h)) {
      throw new RangeError(`out mask is ${out.width}×${out.height} but the mask is ${w}×${h}`);
    }
  }

  private finish(frame: boolean, out?: Mask): Mask {
    const { w, h } = this;
    if (frame) {
      const luma = this.luma, half = this.half, quarter = this.quarter;
      this.luma = this.prevLuma;
      this.prevLuma = luma;
      this.half = this.prevHalf;
      this.prevHalf = half;
      this.quarter = this.prevQuarter;
      this.prevQuarter = quarter;
    }
    this.hasLuma = frame;
    this.frames++;
    if (!out) return { width: w, height: h, data: this.s.slice() };
    out.data.set(this.s);
    return out;
  }

  private allocate(w: number, h: number): void {
    const n = w * h;
    this.w = w;
    this.h = h;
    this.s = new Float32Array(n);
    this.P = new Float32Array(n);
    this.sNext = new Float32Array(n);
    this.PNext = new Float32Array(n);
    this.luma = new Float32Array(n);
    this.prevLuma = new Float32Array(n);
    this.colA = new Int32Array(w);
    this.colB = new Int32Array(w);
    const hw = (this.hw = Math.max(1, w >> 1)), hh = (this.hh = Math.max(1, h >> 1));
    this.half = new Float32Array(hw * hh);
    this.prevHalf = new Float32Array(hw * hh);
    const qw = Math.max(1, hw >> 1), qh = Math.max(1, hh >> 1);
    this.quarter = new Float32Array(qw * qh);
    this.prevQuarter = new Float32Array(qw * qh);
    const bw = Math.ceil(hw / BLOCK), bh = Math.ceil(hh / BLOCK);
    this.flowX = new Float32Array(bw * bh);
    this.flowY = new Float32Array(bw * bh);
    this.blockChange = new Float32Array(bw * bh);
    this.rowU = new Float32Array(bw);
    this.rowV = new Float32Array(bw);
    // A block is BLOCK half-size pixels, each (w / hw) × (h / hh) mask pixels.
    this.cells = [cellTaps(w, bw, BLOCK * (w / hw)), cellTaps(h, bh, BLOCK * (h / hh))];
    this.frameW = this.frameH = 0;
    this.hasLuma = false;
    this.frames = 0;
  }

  /** Luma (0..1) of the frame at the mask's size (2×2 point taps per pixel), and at half and quarter size. */
  private thumbnail(frame: Frame): void {
    const { w, h, luma } = this;
    if (frame.width === w && frame.height === h) lumaOf(frame.data, frame.channels, w * h, luma);
    else lumaTaps(frame.data, frame.width, frame.channels, this.thumbX[0], this.thumbX[1], this.thumbY[0], this.thumbY[1], w, h, luma, this.colA, this.colB);
    halve(luma, w, h, this.half);
    halve(this.half, this.hw, this.hh, this.quarter);
  }

  private update(p: Float32Array, haveLuma: boolean, moved: boolean, timeScale: number, r0 = this.tuning.r0): void {
    const { strength, motionSensitivity } = this.options;
    const f = strength >= 0.99 ? 99 : strength / (1 - strength); // 0.5 → 1
    const k: Kalman = { q0: this.tuning.q0 * timeScale, q1: this.tuning.q1 * motionSensitivity, r0: r0 * f, r1: this.tuning.r1 * f };
    const [cx, cy] = this.cells!;
    const bw = Math.ceil(this.hw / BLOCK);
    const motion: Motion = { flowX: this.flowX, flowY: this.flowY, bw, cx, cy, scaleX: this.w / this.hw, scaleY: this.h / this.hh, rowU: this.rowU, rowV: this.rowV };
    const { s, P } = this;
    for (let y = 0; y < this.h; y++) {
      updateRow(p, s, P, this.sNext, this.PNext, haveLuma ? this.luma : null, this.prevLuma, this.w, this.h, y, moved ? motion : null, k);
    }
    this.s = this.sNext;
    this.P = this.PNext;
    this.sNext = s;
    this.PNext = P;
  }

  /**
   * Block matching, current half-size luma against the previous one: for each 8×8 block the
   * displacement (±4 px) into the previous frame with the least mean absolute difference, searched
   * at quarter size first (±2) and refined at half size (±1). Returns whether anything moved.
   */
  private blockFlow(): boolean {
    const { hw, hh, half, prevHalf, quarter, prevQuarter, flowX, flowY } = this;
    if (hw < 4 || hh < 4) {
      this.residual = meanAbsDiff(half, prevHalf);
      return false;
    }
    const qw = Math.max(1, hw >> 1), qh = Math.max(1, hh >> 1);
    const bw = Math.ceil(hw / BLOCK), bh = Math.ceil(hh / BLOCK);
    const qb = BLOCK >> 1, qr = RANGE >> 1;
    let any = false;
    let residual = 0;
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) {
        // Coarse: quarter size, blocks of 4, ±2.
        const cx0 = bx * qb, cy0 = by * qb;
        const cx1 = Math.min(qw, cx0 + qb), cy1 = Math.min(qh, cy0 + qb);
        let best = Infinity, bdx = 0, bdy = 0;
        if (cx1 > cx0 && cy1 > cy0) {
          // The answer is the first vector (in scan order) of least cost, and no motion's cost bounds
          // that least cost: a vector is summed only while it can still come in at or under it
          // (the margin keeps float rounding from cutting one that ties). The same vectors win.
          const still = sad(quarter, prevQuarter, qw, qh, cx0, cy0, cx1, cy1, 0, 0, Infinity);
          for (let dy = -qr; dy <= qr; dy++) {
            for (let dx = -qr; dx <= qr; dx++) {
              const bias = 2 * ZERO_BIAS * Math.sqrt(dx * dx + dy * dy);
              const cost = dx === 0 && dy === 0 ? still : sad(quarter, prevQuarter, qw, qh, cx0, cy0, cx1, cy1, dx, dy, Math.min(best, still - bias + 1e-9)) + bias;
              if (cost < best) {
                best = cost;
                bdx = dx;
                bdy = dy;
              }
            }
          }
        }
        // Fine: half size, blocks of 8, ±1 around twice the coarse vector; no motion wins ties.
        const x0 = bx * BLOCK, y0 = by * BLOCK, x1 = Math.min(hw, x0 + BLOCK), y1 = Math.min(hh, y0 + BLOCK);
        best = sad(half, prevHalf, hw, hh, x0, y0, x1, y1, 0, 0, Infinity);
        let fdx = 0, fdy = 0;
        for (let dy = 2 * bdy - 1; dy <= 2 * bdy + 1; dy++) {
          for (let dx = 2 * bdx - 1; dx <= 2 * bdx + 1; dx++) {
            if (dx === 0 && dy === 0) continue;
            const cost = sad(half, prevHalf, hw, hh, x0, y0, x1, y1, dx, dy, best) + ZERO_BIAS * Math.sqrt(dx * dx + dy * dy);
            if (cost < best) {
              best = cost;
              fdx = dx;
              fdy = dy;
            }
          }
        }
        residual += best * (x1 - x0) * (y1 - y0);
        this.blockChange[by * bw + bx] = best;
        flowX[by * bw + bx] = fdx;
        flowY[by * bw + bx] = fdy;
        if (fdx !== 0 || fdy !== 0) any = true;
      }
    }
    this.residual = residual / (hw * hh);
    return any;
  }
}

/** The Kalman filter's constants for one frame (see TemporalTuning; scaled by time and strength). */
interface Kalman {
  q0: number;
  q1: number;
  r0: number;
  r1: number;
}

/** The block motion and how it is interpolated to mask pixels (tables from `cellTaps`, scale to pixels), with a row's scratch. */
interface Motion {
  flowX: Float32Array;
  flowY: Float32Array;
  bw: number;
  cx: CellTaps;
  cy: CellTaps;
  scaleX: number;
  scaleY: number;
  rowU: Float32Array;
  rowV: Float32Array;
}

/**
 * One row y of the update, warp and filter in one pass: the previous state (s, P) and luma (pl) are
 * warped backwards along the motion — out(x, y) = src(x + u, y + v), bilinear, edges clamped,
 * (u, v) interpolated between block centres — where there is motion (elsewhere read as they are),
 * then each pixel's Kalman step with the new measurement p and the luma l writes sOut/POut.
 * Without luma (l null) the disagreement between p and the history stands in for the change.
 * (Three loops, so none tests per pixel what holds for the whole row: that alone doubled the cost.)
 */
function updateRow(
  p: Float32Array, s: Float32Array, P: Float32Array, sOut: Float32Array, POut: Float32Array,
  l: Float32Array | null, pl: Float32Array, w: number, h: number, y: number, motion: Motion | null, k: Kalman,
): void {
  const { q0, q1, r0, r1 } = k;
  const o0 = y * w;
  if (!l) return blindRow(p, s, P, sOut, POut, o0, o0 + w, q0, q1, r0, r1);
  if (motion) {
    // Motion interpolated down this row at every block column, then along the row per pixel.
    const { flowX, flowY, bw, cy, scaleX, scaleY, rowU, rowV } = motion;
    const b0 = cy.i0[y] * bw, b1 = cy.i1[y] * bw, fy = cy.f[y];
    let still = true;
    for (let i = 0; i < bw; i++) {
      rowU[i] = (flowX[b0 + i] + (flowX[b1 + i] - flowX[b0 + i]) * fy) * scaleX;
      rowV[i] = (flowY[b0 + i] + (flowY[b1 + i] - flowY[b0 + i]) * fy) * scaleY;
      if (rowU[i] !== 0 || rowV[i] !== 0) still = false;
    }
    if (!still) return movingRow(p, s, P, sOut, POut, l, pl, w, h, y, motion.cx, rowU, rowV, q0, q1, r0, r1);
  }
  stillRow(p, s, P, sOut, POut, l, pl, o0, o0 + w, q0, q1, r0, r1);
}

/** The Kalman step where nothing moved: pixels [i0, i1) against their own history. */
function stillRow(
  p: Float32Array, s: Float32Array, P: Float32Array, sOut: Float32Array, POut: Float32Array, l: Float32Array, pl: Float32Array,
  i0: number, i1: number, q0: number, q1: number, r0: number, r1: number,
): void {
  for (let i = i0; i < i1; i++) {
    const sv = s[i], pv = p[i];
    const d = l[i] - pl[i]; // only d² is used: no abs
    const pm = P[i] + q0 + q1 * d * d;
    const c = 2 * pv - 1;
    const r = r0 + r1 * (1 - c * c);
    const K = pm / (pm + r);
    const v = sv + K * (pv - sv);
    // A background pixel's state decays geometrically towards 0: flushed before it turns subnormal (see TINY).
    sOut[i] = v < TINY ? 0 : v;
    POut[i] = (1 - K) * pm;
  }
}

/** stillRow without a picture: a quarter of the disagreement with the history is the change. */
function blindRow(
  p: Float32Array, s: Float32Array, P: Float32Array, sOut: Float32Array, POut: Float32Array,
  i0: number, i1: number, q0: number, q1: number, r0: number, r1: number,
): void {
  for (let i = i0; i < i1; i++) {
    const sv = s[i], pv = p[i];
    const d = 0.25 * Math.abs(pv - sv);
    const pm = P[i] + q0 + q1 * d * d;
    const c = 2 * pv - 1;
    const r = r0 + r1 * (1 - c * c);
    const K = pm / (pm + r);
    const v = sv + K * (pv - sv);
    sOut[i] = v < TINY ? 0 : v;
    POut[i] = (1 - K) * pm;
  }
}

/** The Kalman step on a row with motion (rowU/rowV at the block columns, cx to pixels): the history warped first. */
function movingRow(
  p: Float32Array, s: Float32Array, P: Float32Array, sOut: Float32Array, POut: Float32Array, l: Float32Array, pl: Float32Array,
  w: number, h: number, y: number, cx: CellTaps, rowU: Float32Array, rowV: Float32Array, q0: number, q1: number, r0: number, r1: number,
): void {
  const maxX = w - 1, maxY = h - 1;
  const o0 = y * w;
  for (let x = 0; x < w; x++) {
    const i = o0 + x;
    const i0 = cx.i0[x], i1 = cx.i1[x], fx = cx.f[x];
    const u = rowU[i0] + (rowU[i1] - rowU[i0]) * fx;
    const v = rowV[i0] + (rowV[i1] - rowV[i0]) * fx;
    let ws: number, wP: number, wl: number;
    if (u === 0 && v === 0) {
      ws = s[i];
      wP = P[i];
      wl = pl[i];
    } else {
      let px = x + u, py = y + v;
      if (px < 0) px = 0;
      else if (px > maxX) px = maxX;
      if (py < 0) py = 0;
      else if (py > maxY) py = maxY;
      const x0 = px | 0, y0 = py | 0;
      const x1 = x0 < maxX ? x0 + 1 : x0, y1 = y0 < maxY ? y0 + 1 : y0;
      const tx = px - x0, ty = py - y0;
      const w00 = (1 - tx) * (1 - ty), w01 = tx * (1 - ty), w10 = (1 - tx) * ty, w11 = tx * ty;
      const q00 = y0 * w + x0, q01 = y0 * w + x1, q10 = y1 * w + x0, q11 = y1 * w + x1;
      ws = s[q00] * w00 + s[q01] * w01 + s[q10] * w10 + s[q11] * w11;
      wP = P[q00] * w00 + P[q01] * w01 + P[q10] * w10 + P[q11] * w11;
      wl = pl[q00] * w00 + pl[q01] * w01 + pl[q10] * w10 + pl[q11] * w11;
    }
    const pv = p[i];
    const d = l[i] - wl;
    const pm = wP + q0 + q1 * d * d;
    const c = 2 * pv - 1;
    const r = r0 + r1 * (1 - c * c);
    const K = pm / (pm + r);
    const sv = ws + K * (pv - ws);
    sOut[i] = sv < TINY ? 0 : sv;
    POut[i] = (1 - K) * pm;
  }
}

/** Luma (0..1) of n pixels of a frame already at the mask's size (frames scaled by ffmpeg): one tap per pixel. */
function lumaOf(data: Uint8Array | Uint8ClampedArray, C: number, n: number, luma: Float32Array): void {
  const k1 = 1 / 255;
  for (let i = 0, p = 0; i < n; i++, p += C) luma[i] = (0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]) * k1;
}

/**
 * Luma (0..1) at w × h from a W-wide frame: the mean of 2×2 point taps per pixel (tables from
 * thumbTaps). The column taps become byte offsets in `colA`/`colB` (w entries, reused) first, so
 * the pixel loop adds offsets instead of multiplying indices; the sums are the same.
 */
function lumaTaps(
  data: Uint8Array | Uint8ClampedArray, W: number, C: number, xa: Int32Array, xb: Int32Array, ya: Int32Array, yb: Int32Array,
  w: number, h: number, luma: Float32Array, colA: Int32Array, colB: Int32Array,
): void {
  const k = 1 / (4 * 255);
  for (let x = 0; x < w; x++) {
    colA[x] = xa[x] * C;
    colB[x] = xb[x] * C;
  }
  const stride = W * C;
  for (let y = 0, i = 0; y < h; y++) {
    const ra = ya[y] * stride, rb = yb[y] * stride;
    for (let x = 0; x < w; x++, i++) {
      const pa = colA[x], pb = colB[x];
      const a = ra + pa, b = ra + pb, c = rb + pa, d = rb + pb;
      luma[i] =
        (0.299 * (data[a] + data[b] + data[c] + data[d]) +
          0.587 * (data[a + 1] + data[b + 1] + data[c + 1] + data[d + 1]) +
          0.114 * (data[a + 2] + data[b + 2] + data[c + 2] + data[d + 2])) * k;
    }
  }
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** Mean absolute difference of cur's block [x0,x1)×[y0,y1) and prev's block moved by (dx, dy), edges clamped; stops early above `limit`. */
function sad(
  cur: Float32Array, prev: Float32Array, w: number, h: number,
  x0: number, y0: number, x1: number, y1: number, dx: number, dy: number, limit: number,
): number {
  const count = (x1 - x0) * (y1 - y0);
  const stop = limit * count;
  let sum = 0;
  const inside = x0 + dx >= 0 && x1 - 1 + dx < w;
  for (let y = y0; y < y1; y++) {
    let yy = y + dy;
    if (yy < 0) yy = 0;
    else if (yy >= h) yy = h - 1;
    const rc = y * w, rp = yy * w;
    if (inside) {
      for (let x = x0; x < x1; x++) sum += Math.abs(cur[rc + x] - prev[rp + x + dx]);
    } else {
      for (let x = x0; x < x1; x++) {
        let xx = x + dx;
        if (xx < 0) xx = 0;
        else if (xx >= w) xx = w - 1;
        sum += Math.abs(cur[rc + x] - prev[rp + xx]);
      }
    }
    if (sum > stop) break;
  }
  return sum / count;
}

/** 2×2 average into `out` (⌊w/2⌋ × ⌊h/2⌋, at least 1×1). */
function halve(src: Float32Array, w: number, h: number, out: Float32Array): void {
  const hw = Math.max(1, w >> 1), hh = Math.max(1, h >> 1);
  if (w >= 2 && h >= 2) {
    // Every 2×2 block lies inside: no clamping (the same sums as below).
    for (let y = 0, o = 0; y < hh; y++) {
      const r0 = 2 * y * w, r1 = r0 + w;
      for (let x = 0, x0 = 0; x < hw; x++, x0 += 2, o++) out[o] = 0.25 * (src[r0 + x0] + src[r0 + x0 + 1] + src[r1 + x0] + src[r1 + x0 + 1]);
    }
    return;
  }
  for (let y = 0; y < hh; y++) {
    const r0 = Math.min(2 * y, h - 1) * w, r1 = Math.min(2 * y + 1, h - 1) * w;
    for (let x = 0; x < hw; x++) {
      const x0 = Math.min(2 * x, w - 1), x1 = Math.min(2 * x + 1, w - 1);
      out[y * hw + x] = 0.25 * (src[r0 + x0] + src[r0 + x1] + src[r1 + x0] + src[r1 + x1]);
    }
  }
}
