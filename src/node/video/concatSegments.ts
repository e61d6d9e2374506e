/**
 * The last step of a split video job: the encoded segments (segmentJob.ts) joined into one file
 * by stream copy (ffmpeg's concat demuxer: no decoding, no re-encoding, seconds for an hour of
 * video), with the original sound muxed once over the job's range. Taking the sound from the
 * input rather than from each segment keeps it gapless and in sync: audio packets do not end on
 * video frame boundaries, so per-segment sound would click or drift at every cut.
 *
 * The sound is read and handled exactly as a one-worker run does (sinkPlan.ts: the same
 * `-ss`/`-t` on the input, copied when the container can hold it, else re-encoded; the input's
 * metadata kept; a video that starts after its sound delayed as much). The output is written to
 * a temporary file beside it and moved into place when complete: never over an input or a
 * segment, never over an existing file without `force`; a failure or an abort removes it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { checkOutputPath, moveIntoPlace, tempPathFor, trackTempFile, untrackTempFile } from '../safeWrite.js';
import type { FfmpegOptions } from './ffmpegPath.js';
import { FfmpegProcess, abortError, describeExit } from './ffmpegProcess.js';
import { videoDelayFor } from './job.js';
import { probeVideo, type VideoInfo } from './probe.js';
import { VideoSinkError, audioCodecArgs, audioInputArgs, audioPlan, fileContainer } from './sinkPlan.js';
import { videoTools } from './tools.js';

const execFileAsync = promisify(execFile);

export interface ConcatSegmentsOptions extends FfmpegOptions {
  /** The segments' files, in playing order: same codec and settings (a split job's segments are). */
  segments: readonly string[];
  /** The original video: its sound is muxed in. */
  input: string;
  /** The finished video (.mp4 .mov .mkv .webm, as the segments). */
  output: string;
  /** The job's range, seconds: the sound is read over it, as the segments' frames were. */
  from?: number;
  to?: number;
  /** Keep the input's sound (default true). */
  audio?: boolean;
  /** Facts already probed for `input` (saves probing it again). */
  info?: VideoInfo;
  /** Replace an existing output. */
  force?: boolean;
  /** More ffmpeg output options, placed before the output name. */
  outputArgs?: string[];
  /** Stops ffmpeg and removes the temporary output; rejects with the abort reason. */
  signal?: AbortSignal;
}

export interface ConcatResult {
  output: string;
  segments: number;
  /** What happened to each audio stream (empty: no sound). */
  audio: ('copy' | 'aac' | 'opus')[];
  /** Wall-clock seconds. */
  seconds: number;
}

/** Join the segments and mux the input's sound (see the module comment). Rejects with OutputError, VideoSinkError, VideoInputError or the abort reason. */
export async function concatSegments(opts: ConcatSegmentsOptions): Promise<ConcatResult> {
  const started = performance.now();
  if (opts.segments.length === 0) throw new RangeError('concatSegments needs at least one segment');
  const container = fileContainer(opts.output);
  if (!container) throw new VideoSinkError(`cannot join segments into ${opts.output}: use a file name ending in .mp4, .mov, .mkv or .webm`, 'options');
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const tools = videoTools(opts);
  const info = opts.info ?? (await probeVideo(opts.input, { tools }));
  await checkOutputPath(opts.output, { force: opts.force, inputs: [opts.input, ...opts.segments] });

  const audio = (opts.audio ?? true) ? audioPlan(container, info.audio) : [];
  const delay = audio.length > 0 ? videoDelayFor(info, opts.from) : undefined;
  const work = await mkdtemp(join(tmpdir(), 'backdrop-concat-'));
  const temp = tempPathFor(opts.output);
  trackTempFile(temp);
  let committed = false;
  try {
    // The concat demuxer's list: one quoted absolute path per line (a ' is written '\''), each with
    // its video's exact duration: left to itself, the demuxer places each file after the one before
    // by the container's duration, which MP4 rounds to the millisecond (0.1 ms late per cut at 29.97 fps).
    const durations = tools.ffprobe ? await segmentDurations(tools.ffprobe, opts.segments, opts.signal) : [];
    const list = join(work, 'segments.txt');
    const entry = (f: string, i: number) => `file '${resolve(f).replace(/'/g, "'\\''")}'\n${durations[i] ? `duration ${durations[i]}\n` : ''}`;
    await writeFile(list, opts.segments.map(entry).join(''));
    const args = ['-hide_banner', '-nostdin', '-nostats', '-y'];
    if (delay) args.push('-itsoffset', String(delay));
    args.push('-f', 'concat', '-safe', '0', '-i', list);
    if (audio.length > 0) args.push(...audioInputArgs({ path: opts.input, from: opts.from, to: opts.to }));
    args.push('-map', '0:v', '-c:v', 'copy');
    if (audio.length > 0) args.push('-map', '1:a', '-map_metadata', '1', ...audioCodecArgs(audio));
    if (container === 'mp4' || container === 'mov') args.push('-movflags', '+faststart');
    args.push(...(opts.outputArgs ?? []), '-f', container, temp);
    await runFfmpeg(tools.ffmpeg, args, opts.output, opts.signal);
    await moveIntoPlace(temp, opts.output, opts.force ?? false);
    committed = true;
  } finally {
    if (!committed) await rm(temp, { force: true }).catch(() => undefined);
    untrackTempFile(temp);
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
  return { output: opts.output, segments: opts.segments.length, audio, seconds: (performance.now() - started) / 1000 };
}

/** Run ffmpeg to completion; an abort stops it and rejects with the reason. */
async function runFfmpeg(ffmpeg: string, args: string[], output: string, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw abortError(signal);
  const proc = new FfmpegProcess(ffmpeg, args, { stdin: false, stdout: false });
  const onAbort = (): void => void proc.stop(1000);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await proc.exited;
    if (signal?.aborted) throw abortError(signal);
    if (proc.startError) throw proc.startError;
    if (exit.code !== 0) throw new VideoSinkError(`joining the segments into ${output} failed: ${proc.reason()} (${describeExit(exit)})`, 'encode', proc.lastLines());
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The segments' video durations, a few ffprobes at a time. */
async function segmentDurations(ffprobe: string, files: readonly string[], signal?: AbortSignal): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = new Array(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      try {
        out[i] = await videoDuration(ffprobe, files[i], signal);
      } catch (err) {
        if (signal?.aborted) throw abortError(signal);
        throw new VideoSinkError(`cannot join ${files[i]}: ffprobe could not read it (${(err as Error).message.split('\n')[0]})`, 'encode');
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return out;
}

/** A file's video duration from its own time base (exact, not the container's rounded one), seconds as text; undefined when it does not say. */
async function videoDuration(ffprobe: string, file: string, signal?: AbortSignal): Promise<string | undefined> {
  const { stdout } = await execFileAsync(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=duration_ts,time_base', '-of', 'json', file], { signal });
  const stream = (JSON.parse(stdout) as { streams?: { duration_ts?: number; time_base?: string }[] }).streams?.[0];
  const base = /^(\d+)\/(\d+)$/.exec(stream?.time_base ?? '');
  if (!stream?.duration_ts || !base) return undefined;
  return ((stream.duration_ts * Number(base[1])) / Number(base[2])).toFixed(9);
}
