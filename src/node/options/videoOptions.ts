/**
 * CLI-named video options → the facade's processVideo options, for a probed input: effect range or
 * trim, smoothing, mirror, FPS meter, codec and quality. The server's video jobs use this;
 * cli/video.ts's processVideoFile does the same mapping (it is the video module's, being
 * redesigned; it should call this at the merge).
 */
import type { BackdropVideoOptions } from '../photo.js';
import { expectedFrameCount, rationalValue, type VideoInfo } from '../video/probe.js';
import { effectRange, fpsMeterFrom, parseVideoPoint, type VideoPoint } from '../cli/video.js';
import type { CliOptions } from './cliOptions.js';
import { temporalFrom } from './backdropOptions.js';

// The point parsers and meter options live in cli/video.ts for now; import them from here.
export { CODECS, effectRange, fpsMeterFrom, parseVideoPoint, type VideoPoint } from '../cli/video.js';

const toSeconds = (p: VideoPoint, fps: number) => ('frame' in p ? p.frame / fps : p.seconds);
const toFrame = (p: VideoPoint, fps: number) => ('frame' in p ? p.frame : Math.round(p.seconds * fps));

export type VideoCliOptions = Pick<
  CliOptions,
  'from' | 'to' | 'trim' | 'smoothing' | 'flip' | 'fps' | 'fpsCorner' | 'fpsColor' | 'fpsSize' | 'transparent' | 'codec' | 'crf' | 'preset' | 'audio'
>;

/** The processVideo options for `cli` on the video `info` describes (`input` names it in messages). */
export function videoOptionsFrom(input: string, cli: VideoCliOptions, info: VideoInfo): BackdropVideoOptions {
  const fps = rationalValue(info.frameRate);
  const from = cli.from !== undefined ? toSeconds(parseVideoPoint(cli.from), fps) : undefined;
  const to = cli.to !== undefined ? toSeconds(parseVideoPoint(cli.to), fps) : undefined;
  if (from !== undefined && to !== undefined && !(to > from)) throw new Error(`--to must come after --from`);
  if (cli.from !== undefined) {
    // --from at or past the last frame leaves nothing to do: an error before any decoding.
    const frames = expectedFrameCount(info);
    if (frames !== undefined && toFrame(parseVideoPoint(cli.from), fps) >= frames) {
      const seconds = info.duration ?? frames / fps;
      throw new Error(`${input}: --from ${cli.from} is past the end of the video (${frames} frames, ${seconds.toFixed(2)} s)`);
    }
  }
  return {
    info,
    temporal: temporalFrom(cli.smoothing),
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

/** The output file extension for a video job (cli/video.ts's videoExtension without a named output). */
export function videoExtensionFor(cli: Pick<CliOptions, 'codec' | 'transparent'>): '.mp4' | '.webm' | '.mov' {
  if (cli.codec === 'prores') return '.mov';
  if (cli.codec === 'vp9' || cli.transparent) return '.webm';
  return '.mp4';
}
