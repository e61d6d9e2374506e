/**
 * Where a video's keyframes are: the only places a long video can be cut into segments that
 * start cheaply (a seek lands there without decoding frames only to throw them away), so the
 * split of a long job (segmentPlan.ts) puts its cuts on them.
 *
 * Read from the packets' keyframe flags (`ffprobe -show_entries packet=pts_time,flags`): nothing
 * is decoded. Measured on a 2-minute 720p H.264 clip with a keyframe every 48 frames: 0.10–0.16
 * core-s, against 0.23–0.34 core-s for `-skip_frame nokey -show_entries frame=pts_time`, which
 * decodes every keyframe (its cost grows with their number, the packets' only with the length).
 * Without an ffprobe (the npm ffmpeg build), ffmpeg decodes the keyframes alone and `showinfo`
 * reports them: slower, same answer.
 *
 * Times are seconds from the start of the file as `-ss`/`--from` count them (the container's
 * start time subtracted), sorted, without duplicates.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ffmpegInputPath, VideoInputError, type VideoInfo } from './probe.js';
import type { VideoTools } from './ffmpegPath.js';
import { abortError } from './ffmpegProcess.js';

export interface KeyframeOptions {
  /** The input's probed facts: the video stream to read and the container's start time (default: the first video stream, start 0 as ffprobe reports it). */
  info?: Pick<VideoInfo, 'streamIndex' | 'formatStartTime'>;
  /** Stops the listing (the promise rejects with the abort reason). */
  signal?: AbortSignal;
}

/** The keyframe times of `input`'s video, seconds from the file's start (see the module comment). */
export async function listKeyframes(input: string, tools: VideoTools, opts: KeyframeOptions = {}): Promise<number[]> {
  const stream = opts.info ? String(opts.info.streamIndex) : 'v:0';
  const start = opts.info?.formatStartTime ?? 0;
  let times: number[];
  if (tools.ffprobe) {
    const args = ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', '-i', ffmpegInputPath(input)];
    times = await collect(tools.ffprobe, args, input, opts.signal, (line) => {
      const [pts, flags] = line.split(',');
      return flags?.includes('K') && pts !== 'N/A' ? Number(pts) - start : null;
    });
  } else {
    // ffmpeg alone, with the file's own timestamps (-copyts) as ffprobe reports them.
    const args = ['-hide_banner', '-nostdin', '-nostats', '-copyts', '-skip_frame', 'nokey', '-i', ffmpegInputPath(input), '-map', `0:${stream}`, '-an', '-sn', '-dn', '-vf', 'showinfo', '-f', 'null', '-'];
    times = await collect(tools.ffmpeg, args, input, opts.signal, (line) => {
      const m = /\bpts_time:\s*(-?[\d.]+)/.exec(line);
      return m && /\biskey:1\b/.test(line) ? Number(m[1]) - start : null;
    }, 'stderr');
  }
  const sorted = times.filter((t) => Number.isFinite(t)).sort((a, b) => a - b);
  return sorted.filter((t, i) => i === 0 || t - sorted[i - 1] > 1e-6);
}

/** Run a tool and keep what `pick` finds in each line of its output. */
function collect(cmd: string, args: string[], input: string, signal: AbortSignal | undefined, pick: (line: string) => number | null, from: 'stdout' | 'stderr' = 'stdout'): Promise<number[]> {
  return new Promise((resolvePromise, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const found: number[] = [];
    const errTail: string[] = [];
    const keep = (line: string): void => {
      if (line.trim()) errTail.splice(0, errTail.length - 3, line.trim());
    };
    createInterface({ input: child[from] }).on('line', (line) => {
      const t = pick(line);
      if (t !== null) found.push(t);
      else if (from === 'stderr') keep(line);
    });
    if (from === 'stdout') createInterface({ input: child.stderr }).on('line', keep);
    else child.stdout.resume();
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(abortError(signal));
      if (code !== 0) return reject(new VideoInputError(input, `${input}: its keyframes could not be listed (${errTail.at(-1) ?? `exit code ${code}`})`, 'unreadable'));
      resolvePromise(found);
    });
  });
}
