/**
 * The ffmpeg side of ffmpeg compositing (ffmpegRenderer.ts): the compositing ffmpeg's inputs and
 * filter graph, pure. It receives the frames framePacking.ts makes and ends in [picture].
 */
import type { Fit } from '../../core/resize.js';
import { fitFilter } from './backgroundVideo.js';
import type { VideoInfo } from './probe.js';
import { formatRational, ffmpegInputPath } from './probe.js';
import { PROBE_ONE_FRAME, type VideoGraph } from './sinkPlan.js';

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
  /** Size of the frames Node sends (the stream's mask size, streamMaskSize). */
  maskWidth: number;
  maskHeight: number;
  frameRate: VideoInfo['frameRate'];
  /** The input file and the range read from it, seconds. */
  input: string;
  from?: number;
  to?: number;
  /**
   * Where the input's full-size frames come from: `file` (default), decoded again here from
   * `input`; `pipe`, raw frames at fd 3 from the decoding ffmpeg (framePipeOutput), so the input
   * is decoded once.
   */
  main?: 'file' | 'pipe';
  /** YUV matrix of the input, so RGB backgrounds are converted the way the input's colours are read. */
  colorSpace?: string;
  /** Mirror the input's frames left to right (the mask frames come mirrored already: workFrameFilter). */
  flip?: boolean;
  render:
    | { kind: 'blur' }
    | { kind: 'image'; raw: string; channels: 3 | 4 }
    | { kind: 'video'; path: string; fit: Fit; colorSpace?: string }
    | { kind: 'color'; rgb: [number, number, number] }
    | { kind: 'transparent' }
    | { kind: 'mask' };
  threshold: number;
  softness: number;
  invert: boolean;
}

/** The frame pipe carries the format every composited picture is made in (and `transparent`'s, for a yuv420p input). */
const FRAME_PIPE_FORMAT = 'yuv420p';

/**
 * Whether a render's full-size frames can come down the frame pipe: every kind that reads them
 * (`mask` reads none), as yuv420p, which the composited kinds convert to anyway; `transparent`
 * keeps its input's format, so only a yuv420p input's.
 */
export function canPipeFrames(kind: CompositeGraphSpec['render']['kind'], pixelFormat: string): boolean {
  return kind === 'transparent' ? pixelFormat === FRAME_PIPE_FORMAT : kind !== 'mask';
}

/**
 * The decoding ffmpeg's second output for a `pipe` main (CompositeGraphSpec.main): its frames at
 * the input's full size, in the sequence (`fps`, the same range) the mask frames are made from.
 */
export function framePipeOutput(frameRate: VideoInfo['frameRate']): string[] {
  return ['-vf', `fps=${formatRational(frameRate)},format=${FRAME_PIPE_FORMAT}`, '-f', 'rawvideo', '-pix_fmt', FRAME_PIPE_FORMAT];
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
  const piped = spec.main === 'pipe';
  // Frames nobody reads would block their writer.
  if (piped && render.kind === 'mask') throw new RangeError('a mask is made without the input\'s frames: no frame pipe');
  const main: string[] = [];
  if (piped) {
    main.push('-f', 'rawvideo', '-pix_fmt', FRAME_PIPE_FORMAT, '-s', `${W}x${H}`, '-r', rate, ...PROBE_ONE_FRAME, '-i', 'pipe:3');
  } else {
    if (spec.from) main.push('-ss', String(spec.from));
    if (spec.to !== undefined) main.push('-t', String(spec.to - (spec.from ?? 0)));
    main.push('-i', ffmpegInputPath(spec.input));
  }
  // Piped frames are opened first: ffmpeg reads one frame of each input as it opens it, so the pipe
  // of masks (which Node makes from the decoder's small frames) must not be waited on while the
  // decoder may be blocked writing its first full frame.
  const inputs = piped ? [] : [main];
  const mask = piped ? '1:v' : '0:v';
  const matrix = spec.colorSpace === 'bt709' ? 'bt709' : 'bt601';
  // RGB → the input's YUV at the picture's own size, then scaled as YUV: far cheaper than both at once.
  const toYuv = `scale=out_color_matrix=${matrix}:out_range=tv,format=yuv420p,scale=${W}:${H}:flags=bilinear`;
  const lut = `lut=c0='${softEdgeExpression(spec.threshold, spec.softness, spec.invert)}'`;
  // format=gray pins the plane the lut acts on (left open, an RGB output pulls RGB up the chain and
  // the lut would change the red channel alone).
  const maskY = `alphaextract,scale=${W}:${H}:flags=bilinear,format=gray,${lut}`;
  // The same constant-rate sequence the mask source reads, from timestamp 0 like the pipe (piped
  // frames are that already).
  const mirror = spec.flip ? 'hflip,' : '';
  const mainVideo = piped ? `[0:v]${mirror}setsar=1` : `[1:v]fps=${rate},setpts=PTS-STARTPTS,${mirror}setsar=1`;
  const parts: string[] = [];
  const yuvMask = (from: string) =>
    parts.push(
      `[${from}]${maskY},split[my][mc]`,
      `[mc]scale=${Math.ceil(W / 2)}:${Math.ceil(H / 2)}:flags=bilinear,split[mu][mv]`,
      '[my][mu][mv]mergeplanes=0x001020:yuv420p[mask]',
    );
  switch (render.kind) {
    case 'mask':
      parts.push(`[${mask}]${maskY}[picture]`);
      break;
    case 'transparent':
      parts.push(`[${mask}]${maskY}[alpha]`, `${mainVideo}[main]`, '[main][alpha]alphamerge[picture]');
      break;
    case 'blur':
      parts.push(`[${mask}]split[pm][pb]`, `[pb]format=rgb24,${toYuv}[bg]`, `${mainVideo},format=yuv420p[main]`);
      yuvMask('pm');
      parts.push('[bg][main][mask]maskedmerge[picture]');
      break;
    case 'color': {
      // A constant picture made from the input's own frames (lutyuv), so it ends when they do.
      const [y, u, v] = rgbToYuv(render.rgb, matrix);
      parts.push(`${mainVideo},format=yuv420p,split[main][m2]`, `[m2]lutyuv=y=${y}:u=${u}:v=${v}[bg]`);
      yuvMask(mask);
      parts.push('[bg][main][mask]maskedmerge[picture]');
      break;
    }
    case 'image':
      inputs.push(['-f', 'rawvideo', '-pix_fmt', render.channels === 4 ? 'rgba' : 'rgb24', '-s', `${W}x${H}`, '-i', render.raw]);
      // The still is laid over the input's frames so the background has their timing.
      parts.push(`[2:v]${toYuv}[still]`, `${mainVideo},format=yuv420p,split[main][m2]`, '[m2][still]overlay=format=yuv420:eof_action=repeat[bg]');
      yuvMask(mask);
      parts.push('[bg][main][mask]maskedmerge[picture]');
      break;
    case 'video': {
      // Looped without end and played from its start at its own rate: each output frame shows the
      // background's last picture at or before its time (as BackgroundVideo picks it), fitted and
      // converted to the input's YUV: straight when both use the same matrix, else through RGB
      // (3.3 core-ms more a 720p picture). Laid over the input's frames, it ends with them
      // (shortest: the loop never does).
      const same = (render.colorSpace === 'bt709' ? 'bt709' : 'bt601') === matrix;
      inputs.push(['-stream_loop', '-1', '-i', ffmpegInputPath(render.path)]);
      parts.push(
        `[2:v]setpts=PTS-STARTPTS,${fitFilter(W, H, render.fit)},${same ? 'format=yuv420p' : `format=rgb24,${toYuv}`}[moving]`,
        `${mainVideo},format=yuv420p,split[main][m2]`,
        '[m2][moving]overlay=format=yuv420:shortest=1[bg]',
      );
      yuvMask(mask);
      parts.push('[bg][main][mask]maskedmerge[picture]');
      break;
    }
  }
  // The picture stays in the input's YUV: tagged as the input is (untagged stays untagged).
  const colorTags = spec.colorSpace ? ['-colorspace', spec.colorSpace] : [];
  return { pipe: { pixelFormat: 'rgba', width: spec.maskWidth, height: spec.maskHeight }, ...(piped ? { leadInputs: [main], framePipe: true } : {}), inputs, filter: parts.join(';'), colorTags };
}
