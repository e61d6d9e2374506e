/**
 * Video files, fast: Node segments, ffmpeg composites.
 *
 * Full-resolution pixels never enter Node. One ffmpeg decodes the input at the stream's working
 * size (streamMask.ts: longer side 640, a few hundred KB a frame instead of megabytes); Node runs
 * the model on crops of that, the temporal smoothing and the guided edges, and sends back one
 * small RGBA frame per input frame: the person mask in alpha and, for blur, the background blurred
 * with the person weighted out (no halo) in RGB. The encoding ffmpeg decodes the input itself and
 * does the rest in C, in the input's YUV: upsamples the mask (bilinear), applies the soft edge
 * (a lookup table), upsamples the blurred background and blends the person over the new
 * background (maskedmerge), then encodes, with the sound kept as in processVideo.
 *
 * Frames are matched by position: both ffmpegs turn the input into the same constant-rate
 * sequence (`fps=R` on the same input, same range), restarted at timestamp 0, and the pipe is read
 * at that same rate.
 *
 * Edges are the stream's guided or bilinear ones (no light wrap); `bilateral` and `none` edges and
 * frame processors go through processVideo. `compositeUnsupported` says which effects this can render.
 */
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { blurBackgroundFor } from '../../core/blur.js';
import { DEFAULT_REFINE, type BackgroundEffect } from '../../core/effect.js';
import { runEngine } from '../../core/engine.js';
import type { Frame, Mask } from '../../core/frame.js';
import { upsampleBilinear } from '../../core/refine.js';
import { axisTaps, stretchRows } from '../../core/postprocess.js';
import { fitBackground } from '../../core/resize.js';
import { streamWorkSize } from '../../core/streamMask.js';
import { findFfmpeg, type FfmpegOptions } from './ffmpegPath.js';
import { formatRational, ffmpegInputPath, probeVideo, type VideoInfo } from './probe.js';
import { checkVideoOutput, openVideoSink, type VideoGraph, type VideoSink, type VideoSinkOptions } from './sink.js';
import { openVideoSource, type VideoSource } from './source.js';
import { noFramesDecoded, sinkOptions, videoSummary, type VideoSummary } from './transcode.js';

/** Why this effect cannot be composited in ffmpeg, or null when it can. */
export function compositeUnsupported(effect: BackgroundEffect): string | null {
  if (!effect.streamEdges) {
    const { refine = DEFAULT_REFINE, temporal } = effect.settings;
    return temporal === undefined ? "a photo's effect has no stream masks (use Backdrop.streamEffect())" : `--refine ${refine} edges are computed in Node`;
  }
  const fx = effect.effect;
  if (fx.type === 'color' && fx.color[3] !== 255) return 'a see-through colour is blended in Node';
  if (fx.type === 'image' && fx.images.length !== 1) return 'cycling several background images happens in Node';
  if (fx.type === 'video') return 'a background video is composited in Node';
  return null;
}

/** The soft edge (refine.ts smoothstepMask) on 8-bit mask values, as an ffmpeg `lut` expression. */
export function softEdgeExpression(threshold: number, softness: number, invert: boolean): string {
  const e0 = Math.max(0, threshold - softness / 2) * 255;
  const e1 = Math.min(1, threshold + softness / 2) * 255;
  let alpha: string;
  if (softness === 0 || !(e1 > e0)) alpha = `255*gt(val\\,${(threshold * 255).toFixed(3)})`;
  else {
    const t = `clip((val-${e0.toFixed(3)})/${(e1 - e0).toFixed(3)}\\,0\\,1)`;
    alpha = `255*${t}*${t}*(3-2*${t})`;
  }
  return invert ? `255-${alpha}` : alpha;
}

export interface CompositeGraphSpec {
  /** Output size (the input's display size). */
  width: number;
  height: number;
  /** Size of the frames Node sends (the model's input size). */
  maskWidth: number;
  maskHeight: number;
  frameRate: VideoInfo['frameRate'];
  /** The input file and the range read from it, seconds. */
  input: string;
  from?: number;
  to?: number;
  /** YUV matrix of the input, so RGB backgrounds are converted the way the input's colours are read. */
  colorSpace?: string;
  render:
    | { kind: 'blur' }
    | { kind: 'image'; raw: string; channels: 3 | 4 }
    | { kind: 'color'; rgb: [number, number, number] }
    | { kind: 'transparent' }
    | { kind: 'mask' };
  threshold: number;
  softness: number;
  invert: boolean;
}

/** RGB → BT.601/709 limited-range YCbCr, as ffmpeg's `out_color_matrix`/`out_range=tv` convert. */
export function rgbToYuv([r, g, b]: [number, number, number], matrix: 'bt601' | 'bt709'): [number, number, number] {
  const [kr, kb] = matrix === 'bt709' ? [0.2126, 0.0722] : [0.299, 0.114];
  const y = kr * r + (1 - kr - kb) * g + kb * b;
  const cb = (b - y) / (2 * (1 - kb)), cr = (r - y) / (2 * (1 - kr));
  const clamp = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
  return [clamp(16 + (219 * y) / 255), clamp(128 + (224 * cb) / 255), clamp(128 + (224 * cr) / 255)];
}

/**
 * The ffmpeg side: inputs and the filter graph, ending in [picture]. Pure, for tests.
 *
 * Everything full-sized stays in the input's 4:2:0 YUV (compositing in RGBA costs ≈ 7× as much):
 * the mask is upsampled and soft-edged as one grey plane, and its half-size copy serves both chroma
 * planes (mergeplanes), so maskedmerge blends every plane by the same coverage. Backgrounds come
 * in at their own size and are converted to YUV there (the blur at the mask's size, from Node).
 * Every stream derives its timing from the input's frames, so the graph ends with them.
 */
export function compositeGraph(spec: CompositeGraphSpec): VideoGraph {
  const { width: W, height: H, render } = spec;
  const rate = formatRational(spec.frameRate);
  const main: string[] = [];
  if (spec.from) main.push('-ss', String(spec.from));
  if (spec.to !== undefined) main.push('-t', String(spec.to - (spec.from ?? 0)));
  main.push('-i', ffmpegInputPath(spec.input));
  const inputs = [main];
  const matrix = spec.colorSpace === 'bt709' ? 'bt709' : 'bt601';
  // RGB → the input's YUV at the picture's own size, then scaled as YUV: far cheaper than both at once.
  const toYuv = `scale=out_color_matrix=${matrix}:out_range=tv,format=yuv420p,scale=${W}:${H}:flags=bilinear`;
  const lut = `lut=c0='${softEdgeExpression(spec.threshold, spec.softness, spec.invert)}'`;
  // format=gray pins the plane the lut acts on (left open, an RGB output pulls RGB up the chain and
  // the lut would change the red channel alone).
  const maskY = `alphaextract,scale=${W}:${H}:flags=bilinear,format=gray,${lut}`;
  // The same constant-rate sequence the mask source reads, from timestamp 0 like the pipe.
  const mainVideo = `[1:v]fps=${rate},setpts=PTS-STARTPTS,setsar=1`;
  const parts: string[] = [];
  const yuvMask = (from: string) =>
    parts.push(
      `[${from}]${maskY},split[my][mc]`,
      `[mc]scale=${Math.ceil(W / 2)}:${Math.ceil(H / 2)}:flags=bilinear,split[mu][mv]`,
      '[my][mu][mv]mergeplanes=0x001020:yuv420p[mask]',
    );
  switch (render.kind) {
    case 'mask':
      parts.push(`[0:v]${maskY}[picture]`);
      break;
    case 'transparent':
      parts.push(`[0:v]${maskY}[alpha]`, `${mainVideo}[main]`, '[main][alpha]alphamerge[picture]');
      break;
    case 'blur':
      parts.push('[0:v]split[pm][pb]', `[pb]format=rgb24,${toYuv}[bg]`, `${mainVideo},format=yuv420p[main]`);
      yuvMask('pm');
      parts.push('[bg][main][mask]maskedmerge[picture]');
      break;
    case 'color': {
      // A constant picture made from the input's own frames (lutyuv), so it ends when they do.
      const [y, u, v] = rgbToYuv(render.rgb, matrix);
      parts.push(`${mainVideo},format=yuv420p,split[main][m2]`, `[m2]lutyuv=y=${y}:u=${u}:v=${v}[bg]`);
      yuvMask('0:v');
      parts.push('[bg][main][mask]maskedmerge[picture]');
      break;
    }
    case 'image':
      inputs.push(['-f', 'rawvideo', '-pix_fmt', render.channels === 4 ? 'rgba' : 'rgb24', '-s', `${W}x${H}`, '-i', render.raw]);
      // The still is laid over the input's frames so the background has their timing.
      parts.push(`[2:v]${toYuv}[still]`, `${mainVideo},format=yuv420p,split[main][m2]`, '[m2][still]overlay=format=yuv420:eof_action=repeat[bg]');
      yuvMask('0:v');
      parts.push('[bg][main][mask]maskedmerge[picture]');
      break;
  }
  // The picture stays in the input's YUV: tagged as the input is (untagged stays untagged).
  const colorTags = spec.colorSpace ? ['-colorspace', spec.colorSpace] : [];
  return { pipe: { pixelFormat: 'rgba', width: spec.maskWidth, height: spec.maskHeight }, inputs, filter: parts.join(';'), colorTags };
}

export interface CompositeVideoOptions extends FfmpegOptions, Pick<VideoSinkOptions, 'codec' | 'crf' | 'preset' | 'force' | 'outputArgs'> {
  input: string;
  output: string;
  /** Gives the model, the smoothing, the mask options and the effect (see compositeUnsupported). */
  effect: BackgroundEffect;
  /** Only this time range of the input, seconds. */
  from?: number;
  to?: number;
  /** Keep the input's audio (default true). */
  audio?: boolean;
  onProgress?: (done: number, total: number | undefined, fps: number) => void;
  signal?: AbortSignal;
  /** Facts already probed for `input`. */
  info?: VideoInfo;
}

/**
 * What Node sends ffmpeg per frame, at the small frame's size: the mask in alpha and, for blur,
 * the weighted blur (computed at its own smaller working size, in the W × H output's shape, so a
 * square model input still blurs evenly) sampled bilinearly in RGB.
 */
function packFrame(small: Frame, low: Mask, blurStrength: number | null, W: number, H: number): Frame {
  const { width: w, height: h } = small;
  const mask = low.width === w && low.height === h ? low : upsampleBilinear(low, w, h);
  const out = new Uint8Array(w * h * 4);
  const m = mask.data;
  for (let i = 0, o = 3; i < m.length; i++, o += 4) {
    const v = m[i];
    out[o] = v <= 0 ? 0 : v >= 1 ? 255 : v * 255 + 0.5;
  }
  if (blurStrength !== null) upsampleRgbInto(blurBackgroundFor(small, mask, blurStrength, W, H), out, w, h);
  return { width: w, height: h, channels: 4, data: out, timestamp: small.timestamp };
}

/**
 * Bilinear (half-pixel) upsample of an RGB frame into the RGB of a w × h RGBA buffer. Separable:
 * each source row is stretched once, then each output row blends two stretched rows.
 */
function upsampleRgbInto(src: Frame, out: Uint8Array, w: number, h: number): void {
  const { width: sw, height: sh, data } = src;
  const ys = axisTaps(sh, h);
  const rowLen = w * 3;
  const rows = stretchRows('pack.rows', data, sw, sh, 3, w);
  for (let y = 0, o = 0; y < h; y++) {
    const r0 = ys.i0[y] * rowLen, r1 = ys.i1[y] * rowLen, f = ys.w1[y];
    for (let r = 0; r < rowLen; r += 3, o += 4) {
      out[o] = rows[r0 + r] + (rows[r1 + r] - rows[r0 + r]) * f + 0.5;
      out[o + 1] = rows[r0 + r + 1] + (rows[r1 + r + 1] - rows[r0 + r + 1]) * f + 0.5;
      out[o + 2] = rows[r0 + r + 2] + (rows[r1 + r + 2] - rows[r0 + r + 2]) * f + 0.5;
    }
  }
}

/** Process a video file with the effect composited by ffmpeg. Same outcome and errors as processVideo. */
export async function compositeVideo(opts: CompositeVideoOptions): Promise<VideoSummary> {
  const t0 = performance.now();
  const { input, output, effect } = opts;
  const unsupported = compositeUnsupported(effect);
  if (unsupported) throw new RangeError(`cannot composite this effect in ffmpeg: ${unsupported}`);
  const ff: FfmpegOptions = { ffmpegPath: opts.ffmpegPath, ffprobePath: opts.ffprobePath };
  findFfmpeg(ff);
  const info = opts.info ?? (await probeVideo(input, ff));
  await checkVideoOutput(output, { force: opts.force, inputs: [input] });
  const { width: W, height: H, frameRate } = info;
  // Node works on the frames at the stream's working size, and sends its mask back at that size.
  const { width: mw, height: mh } = streamWorkSize(W, H);
  const fx = effect.effect;
  const transparent = fx.type === 'transparent';

  let raw: string | null = null;
  let source: VideoSource | null = null;
  let sink: VideoSink | null = null;
  try {
    let render: CompositeGraphSpec['render'];
    if (fx.type === 'image') {
      // Decoded by sharp (EXIF orientation honoured) and fitted like photos, handed over raw.
      const still = fitBackground(fx.images[0], W, H, fx.fit ?? 'cover');
      raw = join(tmpdir(), `backdrop-background-${process.pid}-${randomBytes(6).toString('hex')}.raw`);
      await writeFile(raw, still.data);
      render = { kind: 'image', raw, channels: still.channels };
    } else if (fx.type === 'color') {
      render = { kind: 'color', rgb: [fx.color[0], fx.color[1], fx.color[2]] };
    } else if (fx.type === 'blur' || fx.type === 'transparent' || fx.type === 'mask') {
      render = { kind: fx.type };
    } else {
      throw new RangeError(`cannot composite a ${fx.type} background in ffmpeg`);
    }
    const graph = compositeGraph({
      width: W,
      height: H,
      maskWidth: mw,
      maskHeight: mh,
      frameRate,
      input,
      from: opts.from,
      to: opts.to,
      colorSpace: info.colorSpace,
      render,
      ...effect.streamEdge,
    });
    // Both ffmpegs start together: the encoder's start-up (libraries, inputs, x264) overlaps the
    // decoder's instead of following it.
    const opened = await Promise.allSettled([
      openVideoSource(input, {
        ...ff,
        info,
        channels: 3,
        from: opts.from,
        to: opts.to,
        signal: opts.signal,
        // Scaled in YUV, then converted at the small size: a third of the cost of both in one step.
        outputArgs: ['-vf', `fps=${formatRational(frameRate)},scale=${mw}:${mh}:flags=bilinear,format=yuv420p`],
        // One thread decodes up to 1080p far faster than the encoder needs and spends ~15 % less CPU
        // than frame threads, CPU the encoder on the other side can use.
        decoderThreads: W * H <= 1920 * 1080 ? 1 : undefined,
      }),
      openVideoSink({ ...sinkOptions({ ...opts, transparent: transparent || undefined }, info, W, H, transparent ? 4 : 3), graph }),
    ]);
    if (opened[0].status === 'fulfilled') source = opened[0].value;
    if (opened[1].status === 'fulfilled') sink = opened[1].value;
    if (opened[0].status === 'rejected') throw opened[0].reason;
    if (opened[1].status === 'rejected') throw opened[1].reason;
    const src = opened[0].value;
    const out = opened[1].value;
    const total = src.expectedFrames;
    const blurStrength = fx.type === 'blur' ? fx.strength : null;
    const setupMs = performance.now() - t0;
    let waitMs = 0;
    const summary = await runEngine({
      source: { frames: () => src.frames(), close: () => src.close() },
      processors: [
        {
          process: async (small: Frame) => {
            const mask = await effect.streamMask(small);
            const packed = packFrame(small, mask, blurStrength, W, H);
            src.recycle(small);
            effect.frames++;
            return packed;
          },
        },
      ],
      sink: {
        write: async (frame) => {
          const t = performance.now();
          await out.writeRaw(frame.data as Uint8Array);
          waitMs += performance.now() - t;
        },
        finish: async () => undefined,
        abort: async () => undefined,
      },
      signal: opts.signal,
      onFrame: opts.onProgress ? (s) => opts.onProgress!(s.framesOut, total, s.fps) : undefined,
    });
    const tFinish = performance.now();
    if (summary.framesOut === 0) throw noFramesDecoded(opts);
    const sinkResult = await out.finish();
    return videoSummary(opts, info, frameRate, summary.framesOut, total, sinkResult, t0, {
      decodeWaitMs: 0,
      processMs: summary.processorMs[0],
      encodeWaitMs: waitMs,
      totalMs: summary.elapsedMs,
      setupMs,
      finishMs: performance.now() - tFinish,
    });
  } catch (err) {
    await Promise.allSettled([source?.close(), sink?.abort()]);
    throw err;
  } finally {
    if (raw) await rm(raw, { force: true });
  }
}
