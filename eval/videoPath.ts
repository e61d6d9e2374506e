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
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { printTable } from '../bench/table.js';
import type { BuiltinModel } from '../src/core/modelSpec.js';
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

async function truthOf(seq: string, name: string): Promise<Float32Array> {
  const { data } = await sharp(testdata(`${DAVIS}/Annotations/480p/${seq}/${name}`)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  return Float32Array.from(data, (v) => (v >= 128 ? 1 : 0));
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

/** Scores masks, in frame order, against the sequence's truth. */
async function score(seq: string, masks: AsyncIterable<Float32Array>): Promise<VideoPathScore> {
  const names = (await readdir(testdata(`${DAVIS}/Annotations/480p/${seq}`))).filter((f) => f.endsWith('.png')).sort();
  const tally = emptyTally();
  let prev: { mask: Float32Array; truth: Float32Array } | null = null;
  let flicker = 0, pairs = 0, frames = 0;
  for await (const mask of masks) {
    if (frames >= names.length) throw new Error(`${seq}: more mask frames than the ${names.length} annotated ones`);
    const { width, height } = await sharp(testdata(`${DAVIS}/Annotations/480p/${seq}/${names[frames]}`)).metadata();
    const truth = await truthOf(seq, names[frames]);
    if (mask.length !== truth.length) throw new Error(`${seq}: mask has ${mask.length} pixels, truth ${truth.length}`);
    accumulate(tally, mask, truth, edgeBand(truth, width!, height!, 10));
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
  if (frames !== names.length) throw new Error(`${seq}: ${frames} mask frames for ${names.length} annotated ones`);
  return { frames, tally, flicker: flicker / Math.max(1, pairs) };
}

/** `backdrop clip.mp4 --mask` (defaults; `model` as given) on a DAVIS sequence, scored. */
export async function scoreVideoPath(seq: string, model: BuiltinModel, dir: string): Promise<VideoPathScore> {
  const video = await davisVideo(seq, dir);
  const output = join(dir, `${seq}-${model}-mask.mp4`);
  const backdrop = await createBackdrop({ effect: { type: 'mask' }, model });
  try {
    const summary = await backdrop.processVideo(video, output, { force: true });
    return await score(seq, greyFrames(output, summary.width, summary.height));
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
    return await score(seq, masks());
  } finally {
    await backdrop.close();
  }
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
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  printTable(
    'A video\'s mask as the product makes it (`backdrop clip.mp4 --mask`, H.264 out, decoded) against human truth, beside the same frames as photos',
    ['clip', 'model', 'path', 'frames', 'IoU@0.5', 'boundary error', 'flicker'],
    rows,
  );
}
