/**
 * The ffmpeg side of ffmpeg compositing (ffmpegRenderer.ts): the compositing ffmpeg's inputs and
 * filter graph, pure. It receives the frames framePacking.ts makes and ends in [picture].
 */
import type { VideoInfo } from './probe.js';
import { formatRational, ffmpegInputPath } from './probe.js';
import type { VideoGraph } from './sinkPlan.js';

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

/** The ffmpeg side: inputs and the filter graph, ending in [picture]. Pure, for tests. */
export function compositeGraph(spec: CompositeGraphSpec): VideoGraph {
  const { width: W, height: H, render } = spec;
  const rate = formatRational(spec.frameRate);
  const main: string[] = [];
  if (spec.from) main.push('-ss', String(spec.from));
  if (spec.to !== undefined) main.push('-t', String(spec.to - (spec.from ?? 0)));
  main.push('-i', ffmpegInputPath(spec.input));
  const inputs = [main];
  const matrix = spec.colorSpace === 'bt709' ? 'bt709' : 'bt601';
  const toYuv = `scale=${W}:${H}:flags=bilinear:out_color_matrix=${matrix}:out_range=tv,format=yuv420p`;
  const parts = [
    `[0:v]split[px][pm]`,
    `[pm]alphaextract,scale=${W}:${H}:flags=bilinear,lut=c0='${softEdgeExpression(spec.threshold, spec.softness, spec.invert)}'[mask]`,
  ];
  // The same constant-rate sequence the mask source reads, from timestamp 0 like the pipe.
  if (render.kind !== 'mask') parts.unshift(`[1:v]fps=${rate},setpts=PTS-STARTPTS,setsar=1[main]`);
  switch (render.kind) {
    case 'mask':
      parts.push('[px]nullsink', '[mask]null[picture]');
      break;
    case 'transparent':
      parts.push('[px]nullsink', '[main][mask]alphamerge[picture]');
      break;
    case 'blur':
      parts.push(`[px]format=rgb24,${toYuv}[bg]`, '[main][mask]alphamerge[person]', '[bg][person]overlay=format=yuv420:eof_action=endall[picture]');
      break;
    case 'color': {
      const hex = render.rgb.map((v) => v.toString(16).padStart(2, '0')).join('');
      parts.push('[px]nullsink', `color=c=0x${hex}:s=${W}x${H}:r=${rate},format=yuv420p[bg]`, '[main][mask]alphamerge[person]', '[bg][person]overlay=format=yuv420:shortest=1[picture]');
      break;
    }
    case 'image':
      inputs.push(['-f', 'rawvideo', '-pix_fmt', render.channels === 4 ? 'rgba' : 'rgb24', '-s', `${W}x${H}`, '-i', render.raw]);
      // The still is laid over the input's frames so the background has their timing.
      parts.push(
        '[px]nullsink',
        `[2:v]${toYuv}[still]`,
        '[main]split[m1][m2]',
        '[m1][still]overlay=format=yuv420:eof_action=repeat[bg]',
        '[m2][mask]alphamerge[person]',
        '[bg][person]overlay=format=yuv420:eof_action=endall[picture]',
      );
      break;
  }
  // The picture stays in the input's YUV: tagged as the input is (untagged stays untagged).
  const colorTags = spec.colorSpace ? ['-colorspace', spec.colorSpace] : [];
  return { pipe: { pixelFormat: 'rgba', width: spec.maskWidth, height: spec.maskHeight }, inputs, filter: parts.join(';'), colorTags };
}
