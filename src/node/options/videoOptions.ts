/**
 * CLI-named video options → the facade's processVideo options, for a probed input: effect range or
 * trim, smoothing (and --every-frame), mirror, FPS meter, codec and quality. The one mapping, used by the command line
 * (cli/video.ts) and the server's video jobs, so both check and read the same flags the same way.
 */
import { parseColor } from '../../core/color.js';
import type { FrameRange } from '../../core/engine.js';
import type { FpsMeterOptions } from '../../core/fpsMeter.js';
import type { BackdropVideoOptions } from '../facade.js';
import { expectedFrameCount, rationalValue, type VideoInfo } from '../video/probe.js';
import { pointFrame, pointSeconds, pointText } from '../video/point.js';
import type { CliOptions } from './cliOptions.js';
import { temporalFrom } from './backdropOptions.js';

export type VideoCliOptions = Pick<
  CliOptions,
  'from' | 'to' | 'trim' | 'smoothing' | 'everyFrame' | 'flip' | 'fps' | 'fpsCorner' | 'fpsColor' | 'fpsSize' | 'transparent' | 'codec' | 'crf' | 'preset' | 'audio'
>;

/** The FPS meter --fps and its style flags ask for; undefined without --fps. */
export function fpsMeterFrom(cli: Pick<CliOptions, 'fps' | 'fpsCorner' | 'fpsColor' | 'fpsSize'>): FpsMeterOptions | undefined {
  if (!cli.fps) return undefined;
  return {
    position: cli.fpsCorner,
    color: cli.fpsColor !== undefined ? parseColor(cli.fpsColor) : undefined,
    scale: cli.fpsSize,
  };
}

/** `--from`/`--to` without `--trim`: the frames the effect runs on (the others pass through untouched). */
export function effectRange(cli: Pick<CliOptions, 'from' | 'to'>, fps: number): FrameRange | undefined {
  if (cli.from === undefined && cli.to === undefined) return undefined;
  const from = cli.from !== undefined ? pointFrame(cli.from, fps) : undefined;
  const to = cli.to !== undefined ? pointFrame(cli.to, fps) : undefined;
  if (from !== undefined && to !== undefined && !(to > from)) throw new Error(`--to must come after --from`);
  return { unit: 'frame', from, to };
}

/**
 * `--from` at or past the last frame leaves nothing to work on: with --trim nothing to keep, without
 * it nothing for the effect (the output would be an untouched copy). Either way it is an error,
 * raised before any decoding.
 */
function checkFromInside(input: string, cli: Pick<CliOptions, 'from'>, info: VideoInfo, fps: number): void {
  if (cli.from === undefined) return;
  const frames = expectedFrameCount(info);
  if (frames === undefined || pointFrame(cli.from, fps) < frames) return;
  const seconds = info.duration ?? frames / fps;
  throw new Error(`${input}: --from ${pointText(cli.from)} is past the end of the video (${frames} frames, ${seconds.toFixed(2)} s)`);
}

/** The processVideo options for `cli` on the video `info` describes (`input` names it in messages). */
export function videoOptionsFrom(input: string, cli: VideoCliOptions, info: VideoInfo): BackdropVideoOptions {
  const fps = rationalValue(info.frameRate);
  const from = cli.from !== undefined ? pointSeconds(cli.from, fps) : undefined;
  const to = cli.to !== undefined ? pointSeconds(cli.to, fps) : undefined;
  if (from !== undefined && to !== undefined && !(to > from)) throw new Error(`--to must come after --from`);
  checkFromInside(input, cli, info, fps);
  return {
    info,
    temporal: temporalFrom(cli.smoothing, cli.everyFrame),
    flip: cli.flip,
    fps: fpsMeterFrom(cli),
    // --trim reads only the range; otherwise the Engine passes the frames outside it through.
    range: cli.trim ? undefined : effectRange(cli, fps),
    from: cli.trim ? from : undefined,
    to: cli.trim ? to : undefined,
    inputChannels: 3,
    transparent: cli.transparent,
    codec: cli.codec,
    crf: cli.crf,
    preset: cli.preset,
    audio: cli.audio !== false,
  };
}

/** The output file extension the flags choose for a video (when no output file is named). */
export function videoExtensionFor(cli: Pick<CliOptions, 'codec' | 'transparent'>): '.mp4' | '.webm' | '.mov' {
  if (cli.codec === 'prores') return '.mov';
  if (cli.codec === 'vp9' || cli.transparent) return '.webm';
  return '.mp4';
}
