/**
 * Splitting a long video job into segments that separate workers process, pure (no processes).
 * Segments are concatenated afterwards by stream copy (concatSegments.ts), so the split must be
 * invisible: every frame of a one-worker run lands in exactly one segment, and each segment
 * starts with a few frames of lead-in that are processed and dropped, so the temporal smoothing
 * and the ROI tracker are warm at the cut instead of starting cold.
 *
 * Cuts fall on keyframes (a seek there is cheap), at the first keyframe at or after each
 * boundary, a boundary being `segmentSeconds` after the previous cut: every segment but the last
 * is at least that long, sparse keyframes make longer ones, and a video without keyframes past
 * the first boundary (or shorter than a segment) is one segment. A last segment shorter than half
 * a segment is not made: its frames stay with the one before.
 *
 * Reading a segment frame-exactly (`read`): ffmpeg reads `-ss S -t D` at a constant rate, gives
 * each frame the slot its timestamp rounds to (a first frame half a slot after S is doubled), and
 * counts D from the first frame it keeps, not from S (measured on ffmpeg 5.1). So a segment is
 * read from a quarter frame before its first frame, for a duration that ends half a frame after
 * its last: no boundary lies near a frame, whatever rounding the printed times carry. The first
 * segment starts where the job does and the last ends where it does, as a one-worker run reads
 * them. This assumes a constant frame rate (frames on the keyframes' grid); a variable-rate input
 * is read at a constant rate by repeating frames, and its split may differ by a frame at a cut.
 */
import type { VideoJobOptions } from './job.js';
import { rationalValue, type Rational } from './probe.js';

/**
 * Frames of lead-in before each cut (processed, then dropped). Measured on a talking head
 * (cap13_edit2, 3 s segments, colour background, lossless output so the encoder adds nothing):
 * the mask's mean |Δ| across a cut over the median of the 30 pairs around it was 4.7× and 2.1×
 * with no lead-in, 2.1/1.7 with 10 frames, 1.4/1.5 with 20, 1.3/1.3 with 24 and 1.28/1.26 with
 * 30, where a one-worker run measured 1.28/1.25 at the same frames: after 30 frames the smoothing
 * and the tracked crops had forgotten where they started. Since steady frames skip the model (the
 * smoothing predicts them: modelCadence.ts), the smoothing hears half as many measurements in a
 * lead-in and forgets half as fast: the split test's cuts measured 1.30/1.95/0.82/1.38 with 30
 * frames against one run's 0.90/1.82/0.72/1.31, and 0.90/1.87/0.73/1.30 with 60. 60 frames is
 * 7 % more work on 30 s segments at 30 fps (the skipped frames save more).
 */
export const DEFAULT_SEGMENT_LEAD_IN = 60;

/** A fraction of a frame: a segment's reading starts this far before its first frame. */
const SEEK_EARLY = 0.25;

export interface SegmentPlanOptions {
  /** The job's range, seconds (default: the whole video). */
  from?: number;
  to?: number;
  /** The video's length, seconds: where a job without `to` ends (without both, cuts go on to the last keyframe). */
  duration?: number;
  /** Keyframe times, seconds from the file's start (listKeyframes). */
  keyframes: readonly number[];
  /** Wanted length of a segment, seconds. */
  segmentSeconds: number;
  /** Frames of lead-in before each cut (default {@link DEFAULT_SEGMENT_LEAD_IN}). */
  leadIn?: number;
  /** The rate the video is read at (VideoInfo.frameRate). */
  frameRate: Rational;
}

export interface VideoSegment {
  /** 0, 1, 2 … in playing order. */
  index: number;
  /** Time of the segment's first frame, seconds: the cut's keyframe (the job's `from` for the first segment). */
  start: number;
  /** Where its frames end (exclusive): the next segment's start; for the last, the job's `to` (undefined: the end of the video). */
  end?: number;
  /** Time of the first lead-in frame (= start for the first segment, and never before the job's `from`). */
  leadInStart: number;
  /** Frames read before `start` that are processed and then dropped. */
  leadInFrames: number;
  /** The keyframe the segment starts on (undefined for the first). */
  keyframe?: number;
  /** The range a video job reads for this segment, lead-in included (see the module comment): segmentJobOptions uses it. */
  read: { from: number; to?: number };
}

/** The segments for a job (see the module comment). Throws RangeError on bad options. */
export function planSegments(opts: SegmentPlanOptions): VideoSegment[] {
  const { segmentSeconds: S, frameRate } = opts;
  const from = opts.from ?? 0;
  const leadIn = opts.leadIn ?? DEFAULT_SEGMENT_LEAD_IN;
  if (!(Number.isFinite(S) && S > 0)) throw new RangeError(`segmentSeconds must be a number of seconds > 0, got ${S}`);
  if (!(Number.isInteger(leadIn) && leadIn >= 0)) throw new RangeError(`leadIn must be a whole number of frames ≥ 0, got ${leadIn}`);
  if (!(frameRate?.num > 0 && frameRate?.den > 0)) throw new RangeError(`frameRate must be a positive rational {num, den}, got ${JSON.stringify(frameRate)}`);
  if (!(Number.isFinite(from) && from >= 0)) throw new RangeError(`from must be ≥ 0 seconds, got ${from}`);
  if (opts.to !== undefined && !(opts.to > from)) throw new RangeError(`to (${opts.to}) must be after from (${from})`);
  const frame = 1 / rationalValue(frameRate);
  const end = opts.to ?? opts.duration ?? Infinity;
  const keyframes = [...opts.keyframes].sort((a, b) => a - b);

  const cuts: number[] = [];
  let boundary = from + S;
  for (const k of keyframes) {
    // Cuts strictly inside the range, leaving a last segment of at least half a segment.
    if (k < boundary - 1e-6) continue;
    if (k > end - S / 2) break;
    cuts.push(k);
    boundary = k + S;
  }
  if (cuts.length === 0) return [{ index: 0, start: from, end: opts.to, leadInStart: from, leadInFrames: 0, read: { from, to: opts.to } }];

  // Frames sit on the keyframes' grid: the first frame a read from `t` keeps is the first at or after it.
  const grid = keyframes[0];
  const firstFrameFrom = (t: number): number => grid + Math.ceil((t - grid) / frame - 1e-6) * frame;
  const jobFirst = firstFrameFrom(from);

  const segments: VideoSegment[] = [];
  const starts = [from, ...cuts];
  starts.forEach((start, i) => {
    const first = i === 0;
    const last = i === starts.length - 1;
    // The lead-in reads only frames a one-worker run reads too (none before the job's first).
    const leadInFrames = first ? 0 : Math.min(leadIn, Math.max(0, Math.round((start - jobFirst) / frame)));
    const leadInStart = first ? from : start - leadInFrames * frame;
    // From the job's own start as a one-worker run reads it, else a quarter frame early.
    const readFrom = first || leadInStart - jobFirst < frame / 2 ? from : leadInStart - SEEK_EARLY * frame;
    const kept = readFrom === from ? jobFirst : leadInStart;
    let readTo: number | undefined;
    if (!last) readTo = readFrom + (starts[i + 1] - frame / 2 - kept);
    // The last ends where a one-worker run's reading of the job ends (its duration counted from its first frame).
    else if (opts.to !== undefined) readTo = first ? opts.to : readFrom + (jobFirst + (opts.to - from) - kept);
    segments.push({
      index: i,
      start,
      end: last ? opts.to : starts[i + 1],
      leadInStart: readFrom === from ? from : leadInStart,
      leadInFrames,
      ...(first ? {} : { keyframe: start }),
      read: { from: readFrom, to: readTo },
    });
  });
  return segments;
}

/** The part of a video job's options a segment changes. */
type SegmentedOptions = Pick<VideoJobOptions, 'from' | 'to' | 'audio' | 'leadIn' | 'range'>;

/**
 * A job's options narrowed to one segment, for processVideo / Backdrop.processVideo: read from
 * the lead-in's start to the segment's end, the lead-in processed and dropped, no sound (the
 * sound is muxed once, by concatSegments). Everything else (effect, codec, quality) stays as the
 * whole job has it, so the segments join by stream copy. An effect range (frames the effect runs
 * on, the others passed through) counts frames from where reading starts, which a segment moves:
 * it is refused; split only jobs that trim or run on every frame.
 */
export function segmentJobOptions<T extends object>(options: T & SegmentedOptions, segment: VideoSegment): T & SegmentedOptions {
  if (options.range) throw new RangeError('a video job with an effect range (frames passed through untouched) cannot be split into segments');
  return { ...options, from: segment.read.from, to: segment.read.to, leadIn: segment.leadInFrames, audio: false };
}
