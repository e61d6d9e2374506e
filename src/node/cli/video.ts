/**
 * One video file through the background effect: decode with ffmpeg, run the stream's processors
 * (mirror, effect with temporal smoothing, FPS meter) on every frame or only on a range of them,
 * encode with the sound kept, with a progress bar.
 */
import { extname } from 'node:path';
import { parseColor } from '../../core/color.js';
import type { FrameRange } from '../../core/engine.js';
import type { FpsMeterOptions } from '../../core/fpsMeter.js';
import { temporalFrom } from '../live/liveCli.js';
import type { Backdrop } from '../facade.js';
import type { VideoSummary } from '../video/renderer.js';
import type { VideoCodec } from '../video/sinkPlan.js';
import { expectedFrameCount, probeVideo, rationalValue, type VideoInfo } from '../video/probe.js';
import { pointFrame, pointSeconds, pointText } from '../video/point.js';
import { videoTools } from '../video/tools.js';
import type { PlannedOutput } from './outputs.js';
import type { CliIO, Target } from './batch.js';
import { progressBar } from './batch.js';
import type { CliOptions } from './program.js';

/** The output extension for a video input, from the flags. */
export function videoExtension(cli: CliOptions, target: Target): string {
  if (target && 'file' in target) return extname(target.file);
  if (cli.codec === 'prores') return '.mov';
  if (cli.codec === 'vp9' || cli.transparent) return '.webm';
  return '.mp4';
}

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

export async function processVideoFile(plan: PlannedOutput, backdrop: Backdrop, cli: CliOptions, io: CliIO): Promise<VideoSummary> {
  // The job's one probe: the range is parsed against the rate it reads, and the job takes it (info).
  const info = await probeVideo(plan.input, { tools: videoTools() });
  const fps = rationalValue(info.frameRate);
  const from = cli.from !== undefined ? pointSeconds(cli.from, fps) : undefined;
  const to = cli.to !== undefined ? pointSeconds(cli.to, fps) : undefined;
  if (from !== undefined && to !== undefined && !(to > from)) throw new Error(`--to must come after --from`);
  checkFromInside(plan.input, cli, info, fps);

  const bar = io.interactive && !cli.quiet && !cli.json ? progressBar(io, ' {bar} {value}/{total} frames | {fps} fps | ETA {eta_formatted} | {file}') : undefined;
  let started = false;
  try {
    return await backdrop.processVideo(plan.input, plan.output, {
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
      force: cli.force,
      audio: cli.audio !== false,
      signal: io.signal,
      onProgress: (done, total, rate) => {
        if (!bar) return;
        if (!started) bar.start(total ?? 0, 0, { fps: '0', file: plan.input.slice(-40) });
        started = true;
        bar.update(done, { fps: rate.toFixed(1) });
      },
    });
  } finally {
    if (started) bar?.stop();
  }
}

export const CODECS: VideoCodec[] = ['h264', 'h265', 'vp9', 'prores'];
