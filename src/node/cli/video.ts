/**
 * One video file through the background effect: decode with ffmpeg, run the effect on every frame
 * (or only on a range of them), encode with the sound kept, with a progress bar.
 */
import { extname } from 'node:path';
import type { Frame } from '../../core/frame.js';
import type { FrameProcessor } from '../../core/processor.js';
import type { Backdrop } from '../photo.js';
import { processVideo, type VideoSummary } from '../video/transcode.js';
import type { VideoCodec } from '../video/sink.js';
import { probeVideo, rationalValue } from '../video/probe.js';
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

/** A point in a video: a frame number ("120"), seconds ("4.5s") or a timestamp ("1:02.5"). */
export type VideoPoint = { frame: number } | { seconds: number };

export function parseVideoPoint(text: string): VideoPoint {
  const t = text.trim();
  if (/^\d+$/.test(t)) return { frame: Number(t) };
  const s = /^(\d+(?:\.\d+)?)s$/.exec(t);
  if (s) return { seconds: Number(s[1]) };
  const parts = t.split(':');
  if (parts.length >= 2 && parts.length <= 3 && parts.every((p) => /^\d+(\.\d+)?$/.test(p))) {
    return { seconds: parts.reduce((acc, p) => acc * 60 + Number(p), 0) };
  }
  throw new Error(`"${text}" is not a frame number (120), seconds (4.5s) or a timestamp (1:02.5)`);
}

const toSeconds = (p: VideoPoint, fps: number) => ('frame' in p ? p.frame / fps : p.seconds);

/**
 * Applies `inner` only to frames whose time is within [from, to); others pass through untouched
 * (as the seed's start/end frame did).
 */
export function onlyBetween(inner: FrameProcessor, fromMs: number, toMs: number, channels: 3 | 4): FrameProcessor {
  return {
    init: () => inner.init?.(),
    close: () => inner.close?.(),
    process: (frame: Frame) => {
      const t = frame.timestamp ?? 0;
      if (t >= fromMs && t < toMs) return inner.process(frame);
      // Untouched, but in the channel layout the output stream has (opaque when it has alpha).
      return frame.channels === channels ? frame : opaque(frame);
    },
  };
}

function opaque(frame: Frame): Frame {
  const n = frame.width * frame.height;
  const data = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    data[4 * i] = frame.data[3 * i];
    data[4 * i + 1] = frame.data[3 * i + 1];
    data[4 * i + 2] = frame.data[3 * i + 2];
    data[4 * i + 3] = 255;
  }
  return { ...frame, channels: 4, data };
}

export async function processVideoFile(plan: PlannedOutput, backdrop: Backdrop, cli: CliOptions, io: CliIO): Promise<VideoSummary> {
  const info = await probeVideo(plan.input);
  const fps = rationalValue(info.frameRate);
  const from = cli.from !== undefined ? toSeconds(parseVideoPoint(cli.from), fps) : undefined;
  const to = cli.to !== undefined ? toSeconds(parseVideoPoint(cli.to), fps) : undefined;
  if (from !== undefined && to !== undefined && !(to > from)) throw new Error(`--to must come after --from`);

  let effect: FrameProcessor = backdrop.effect;
  if (!cli.trim && (from !== undefined || to !== undefined)) {
    // Half a frame of slack so a frame number selects exactly that frame despite rounding.
    const half = 500 / fps;
    effect = onlyBetween(effect, from === undefined ? -Infinity : from * 1000 - half, to === undefined ? Infinity : to * 1000 - half, cli.transparent ? 4 : 3);
  }
  const bar = io.interactive && !cli.quiet && !cli.json ? progressBar(io, ' {bar} {value}/{total} frames | {fps} fps | ETA {eta_formatted} | {file}') : undefined;
  let started = false;
  try {
    return await processVideo({
      input: plan.input,
      output: plan.output,
      info,
      processors: [effect],
      manageProcessors: false,
      inputChannels: 3,
      transparent: cli.transparent,
      codec: cli.codec,
      crf: cli.crf,
      preset: cli.preset,
      force: cli.force,
      audio: cli.audio !== false,
      from: cli.trim ? from : undefined,
      to: cli.trim ? to : undefined,
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
