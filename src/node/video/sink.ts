/**
 * Writing frames to a video file, a PNG sequence, a stream URL or a virtual camera, through an
 * ffmpeg child process fed raw frames on its stdin
 * (`-f rawvideo -pix_fmt rgb24|rgba -s WxH -r N/D -i pipe:0`).
 *
 * Files: written to a hidden temporary file beside the target (safeWrite.ts naming, tracked so
 * Ctrl-C removes it) and moved into place by finish(); abort() or any failure removes it. The
 * output may not be one of the inputs (compared by real path and inode) nor an existing file
 * unless `force`.
 *
 * Defaults: H.264 in MP4 (`libx264`, yuv420p, crf 20, preset veryfast, `+faststart`). Colours are
 * converted with the BT.709 matrix (limited range) and tagged as such, so players show what the
 * processors produced. Transparent output: VP9 WebM with alpha (default), ProRes 4444 MOV, or PNG
 * frames in a folder.
 *
 * Odd sizes: 4:2:0/4:2:2 H.264, H.265 and ProRes need even sizes, and H.264 cannot crop a single
 * pixel (its crop unit is 2 in 4:2:0), so such output is padded by one pixel on the right and/or
 * bottom, filled by repeating the edge pixels (`pad` + `fillborders=smear`): every original pixel
 * is kept unscaled and the extra line is invisible. VP9 and PNG keep odd sizes as they are.
 *
 * Audio (`audioFrom`): every audio stream of that file is kept. A stream is copied when the
 * container can hold its codec, else re-encoded (AAC for MP4/MOV, Opus for WebM). `-shortest` is
 * never used (the npm ffmpeg build drops the last frames with it); the source reads exactly the
 * same time range, so both end together.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Frame } from '../../core/frame.js';
import { OutputError, checkOutputPath, tempPathFor, trackTempFile, untrackTempFile } from '../safeWrite.js';
import { ffmpegVersion, findFfmpeg, type FfmpegOptions } from './ffmpegPath.js';
import { FfmpegProcess, describeExit } from './ffmpegProcess.js';
import { ffmpegInputPath, formatRational, probeVideo, type AudioStreamInfo, type Rational } from './probe.js';

export type VideoCodec = 'h264' | 'h265' | 'vp9' | 'prores' | 'png-sequence';
export const VIDEO_CODECS: readonly VideoCodec[] = ['h264', 'h265', 'vp9', 'prores', 'png-sequence'];

/** Where the frames go. */
export type SinkKind = 'file' | 'folder' | 'url' | 'device';

export interface AudioSource {
  /** File to take the audio streams from (usually the input video). */
  path: string;
  /** Take audio from this time, seconds (the same range the video was read from). */
  from?: number;
  /** ... up to this time, seconds. */
  to?: number;
  /** The file's audio streams, if already probed (saves a probe). */
  streams?: AudioStreamInfo[];
}

export interface VideoSinkOptions extends FfmpegOptions {
  /** A file (.mp4 .mov .mkv .webm), a folder (PNG sequence), a URL (rtmp://, srt://, udp://, http://) or a V4L2 device (/dev/videoN). */
  output: string;
  width: number;
  height: number;
  /** Exact frame rate, e.g. {num: 30000, den: 1001}. */
  fps: Rational;
  /**
   * `frames` (default): each frame written is the next frame at `fps` (files). `arrival`: each
   * frame shows from the moment it reaches ffmpeg until the next one does — ffmpeg repeats or
   * drops frames to keep `fps` — so a live session slower than its camera still records in real
   * time, with each processed frame converted and sent once.
   */
  timing?: 'frames' | 'arrival';
  /** Channels of the frames that will be written. */
  channels: 3 | 4;
  /** Default: from the output's extension (mp4/mov/mkv → h264, webm → vp9; transparent: webm → vp9, mov → prores, folder → png-sequence). */
  codec?: VideoCodec;
  /** Keep the alpha channel (frames must be RGBA). */
  transparent?: boolean;
  /** Quality (lower is better): default 20 for H.264, 24 for H.265, 32 for VP9. Ignored for ProRes and PNG. */
  crf?: number;
  /** x264/x265 preset (default veryfast); for VP9 mapped to deadline/cpu-used. */
  preset?: string;
  /** Copy (or re-encode) the audio of this file. */
  audioFrom?: string | AudioSource;
  /** Seconds to delay the video against the audio (when the input's video started after its audio). */
  videoDelay?: number;
  /** Replace an existing output. */
  force?: boolean;
  /** Files the output must never replace (the input video is added automatically from audioFrom). */
  inputs?: string[];
  /** ffmpeg muxer for URLs, e.g. `flv`, `mpegts` (default by scheme). */
  format?: string;
  /** More ffmpeg output options, placed before the output name. */
  outputArgs?: string[];
  /** Let ffmpeg build the picture from other inputs instead of receiving it (see VideoGraph). */
  graph?: VideoGraph;
}

/**
 * The picture is made inside ffmpeg: what is written to the pipe is `pipe`-shaped (e.g. a
 * low-resolution mask), and `filter`, a graph over [0:v] (the pipe) and [1:v], [2:v]… (`inputs`,
 * each an argument list ending in `-i X`), ends in a pad labelled [picture] of the output's size
 * and channels. The output's own conversions (padding, colours, pixel format) follow it.
 */
export interface VideoGraph {
  pipe: { pixelFormat: 'gray' | 'rgb24' | 'rgba'; width: number; height: number };
  inputs: string[][];
  filter: string;
  /**
   * The picture is already YUV in its input's colours: it is not converted to BT.709 (a full extra
   * pass over every frame) but tagged with these options instead (e.g. `-colorspace bt709`; none
   * for an untagged input, which stays untagged as ffmpeg alone would leave it).
   */
  colorTags: string[];
}

const PIPE_BYTES_PER_PIXEL = { gray: 1, rgb24: 3, rgba: 4 } as const;

export interface VideoSinkResult {
  output: string;
  /** Frames in the output (with `arrival` timing, ffmpeg's count after its repeats and drops). */
  frames: number;
  /** Size of the frames in the file (differs from the input only when an odd size was padded). */
  width: number;
  height: number;
  codec: VideoCodec | 'rawvideo';
  /** What happened to each audio stream. */
  audio: ('copy' | 'aac' | 'opus')[];
}

export interface VideoSink {
  readonly output: string;
  readonly kind: SinkKind;
  /** The ffmpeg arguments used (for diagnostics). */
  readonly args: readonly string[];
  readonly framesWritten: number;
  /** Send one frame; resolves when ffmpeg has taken it (honours pipe backpressure). Don't change the frame's data before then. */
  write(frame: Frame): Promise<void>;
  /** Send one raw pipe frame of a `graph` sink (its `pipe` shape); otherwise like write(). */
  writeRaw(data: Uint8Array): Promise<void>;
  /** Close the stream, wait for ffmpeg, move the file into place. */
  finish(): Promise<VideoSinkResult>;
  /** Stop ffmpeg and remove the temporary output. Safe to call at any time, more than once. */
  abort(): Promise<void>;
}

export type VideoSinkErrorCode = 'encode' | 'options';

export class VideoSinkError extends Error {
  readonly code: VideoSinkErrorCode;
  readonly ffmpegLog: string[];

  constructor(message: string, code: VideoSinkErrorCode, ffmpegLog: string[] = []) {
    super(message);
    this.name = 'VideoSinkError';
    this.code = code;
    this.ffmpegLog = ffmpegLog;
  }
}

// ---------------------------------------------------------------------------------------------
// Planning (pure: no processes, no files)

type Container = 'mp4' | 'mov' | 'matroska' | 'webm';

const EXT_CONTAINER: Record<string, Container> = {
  '.mp4': 'mp4',
  '.m4v': 'mp4',
  '.mov': 'mov',
  '.mkv': 'matroska',
  '.webm': 'webm',
};

/** Audio codecs each container takes as they are. Anything else is re-encoded. */
const COPYABLE_AUDIO: Record<Container, (codec: string) => boolean> = {
  mp4: (c) => ['aac', 'mp3', 'ac3', 'eac3', 'alac'].includes(c),
  mov: (c) => ['aac', 'mp3', 'ac3', 'eac3', 'alac'].includes(c) || c.startsWith('pcm_'),
  matroska: (c) => c !== 'unknown' && c !== 'none',
  webm: (c) => c === 'opus' || c === 'vorbis',
};

const CODEC_CONTAINERS: Record<Exclude<VideoCodec, 'png-sequence'>, Container[]> = {
  h264: ['mp4', 'mov', 'matroska'],
  h265: ['mp4', 'mov', 'matroska'],
  vp9: ['webm', 'matroska', 'mp4'],
  prores: ['mov', 'matroska'],
};

export function kindOfOutput(output: string): SinkKind {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(output)) return 'url';
  if (/^\/dev\/video\d+$/.test(output)) return 'device';
  return extname(output) === '' || output.endsWith('/') || output.endsWith('\\') ? 'folder' : 'file';
}

/** Everything decided about an output before anything runs. */
export interface SinkPlan {
  kind: SinkKind;
  codec: VideoCodec | 'rawvideo';
  container: Container | 'image2' | string;
  /** Size of the encoded frames (even-padded when needed). */
  width: number;
  height: number;
  padded: boolean;
  /** Output options after the inputs, without the output name. */
  videoArgs: string[];
  /** What to do with each audio stream; empty when no audio. */
  audio: ('copy' | 'aac' | 'opus')[];
}

function option(name: string, value: unknown, allowed: string): VideoSinkError {
  return new VideoSinkError(`invalid ${name} ${JSON.stringify(value)}: expected ${allowed}`, 'options');
}

function vp9Speed(preset: string): string[] {
  switch (preset) {
    case 'ultrafast':
    case 'superfast':
      return ['-deadline', 'realtime', '-cpu-used', '8'];
    case 'veryfast':
      return ['-deadline', 'realtime', '-cpu-used', '7'];
    case 'faster':
      return ['-deadline', 'good', '-cpu-used', '5'];
    case 'fast':
      return ['-deadline', 'good', '-cpu-used', '4'];
    case 'medium':
      return ['-deadline', 'good', '-cpu-used', '2'];
    default:
      return ['-deadline', 'good', '-cpu-used', '1'];
  }
}

const PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'];
const BT709 = ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv'];
const TO_BT709 = 'scale=out_color_matrix=bt709:out_range=tv';

/**
 * Decide codec, container, pixel format, padding and audio handling for these options. Throws
 * VideoSinkError('options') naming the bad option. Exported for tests (no device or server needed).
 */
export function planVideoSink(opts: VideoSinkOptions, audioStreams: AudioStreamInfo[] = []): SinkPlan {
  const { width, height, channels } = opts;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw option('size', `${width}x${height}`, 'positive integers');
  if (channels !== 3 && channels !== 4) throw option('channels', channels, '3 or 4');
  if (!(opts.fps?.num > 0 && opts.fps?.den > 0) || !Number.isInteger(opts.fps.num) || !Number.isInteger(opts.fps.den)) {
    throw option('fps', opts.fps, 'a positive rational {num, den}');
  }
  const transparent = opts.transparent ?? false;
  if (transparent && channels !== 4) throw option('transparent', transparent, 'RGBA frames (channels: 4)');
  const preset = opts.preset ?? 'veryfast';
  if (!PRESETS.includes(preset)) throw option('preset', preset, PRESETS.join(', '));
  if (opts.crf !== undefined && !(Number.isFinite(opts.crf) && opts.crf >= 0 && opts.crf <= 63)) throw option('crf', opts.crf, 'a number 0–63');
  if (opts.codec !== undefined && !VIDEO_CODECS.includes(opts.codec)) throw option('codec', opts.codec, VIDEO_CODECS.join(', '));
  const kind = kindOfOutput(opts.output);

  if (kind === 'device') {
    const args = ['-vf', `${TO_BT709},format=yuv420p`, '-c:v', 'rawvideo', '-pix_fmt', 'yuv420p'];
    return { kind, codec: 'rawvideo', container: 'v4l2', width, height, padded: false, videoArgs: args, audio: [] };
  }

  if (kind === 'url') {
    if (transparent) throw option('transparent', true, 'a file output (streams carry no alpha)');
    const scheme = opts.output.slice(0, opts.output.indexOf(':')).toLowerCase();
    const format = opts.format ?? (scheme.startsWith('rtmp') ? 'flv' : 'mpegts');
    const codec = opts.codec ?? 'h264';
    if (codec !== 'h264') throw option('codec', codec, 'h264 for stream outputs');
    const { filters, padded, w, h } = evenPad(width, height);
    const gop = Math.max(1, Math.round((2 * opts.fps.num) / opts.fps.den));
    const args = [
      '-vf', [...filters, TO_BT709, 'format=yuv420p'].join(','),
      '-c:v', 'libx264', '-preset', preset, '-tune', 'zerolatency', '-crf', String(opts.crf ?? 23),
      '-g', String(gop), '-pix_fmt', 'yuv420p', ...BT709,
    ];
    return { kind, codec: 'h264', container: format, width: w, height: h, padded, videoArgs: args, audio: [] };
  }

  if (kind === 'folder') {
    if (opts.codec !== undefined && opts.codec !== 'png-sequence') throw option('codec', opts.codec, `png-sequence for a folder output (${opts.output}); give a file name with .mp4, .mov, .mkv or .webm for video`);
    const pix = channels === 4 && transparent ? 'rgba' : 'rgb24';
    const args = ['-c:v', 'png', '-pix_fmt', pix, '-start_number', '0'];
    return { kind, codec: 'png-sequence', container: 'image2', width, height, padded: false, videoArgs: args, audio: [] };
  }

  const ext = extname(opts.output).toLowerCase();
  const container = EXT_CONTAINER[ext];
  if (!container) {
    throw new VideoSinkError(`cannot write ${opts.output}: unknown video type "${ext}"; use .mp4, .mov, .mkv or .webm, or a folder name for PNG frames`, 'options');
  }
  let codec: VideoCodec;
  if (opts.codec === 'png-sequence') throw option('codec', 'png-sequence', `a folder output, not ${opts.output}`);
  if (opts.codec) codec = opts.codec;
  else if (container === 'webm') codec = 'vp9';
  else if (transparent) codec = container === 'mov' ? 'prores' : container === 'matroska' ? 'vp9' : 'h264';
  else codec = 'h264';
  if (!CODEC_CONTAINERS[codec].includes(container)) {
    throw new VideoSinkError(`cannot write ${codec} into ${ext}: use ${CODEC_CONTAINERS[codec].map((c) => (c === 'matroska' ? '.mkv' : `.${c}`)).join(', ')}`, 'options');
  }
  if (transparent && (codec === 'h264' || codec === 'h265')) {
    throw new VideoSinkError(
      `${codec === 'h264' ? 'H.264' : 'H.265'} cannot carry transparency (${opts.output}): use a .webm file (VP9 with alpha), a .mov file (ProRes 4444) or a folder (PNG frames)`,
      'options',
    );
  }

  const colour = TO_BT709;
  let args: string[];
  let padded = false;
  let w = width;
  let h = height;
  switch (codec) {
    case 'h264':
    case 'h265': {
      const pad = evenPad(width, height);
      ({ padded, w, h } = pad);
      args = ['-vf', [...pad.filters, colour, 'format=yuv420p'].join(',')];
      if (codec === 'h264') args.push('-c:v', 'libx264', '-preset', preset, '-crf', String(opts.crf ?? 20));
      else args.push('-c:v', 'libx265', '-preset', preset, '-crf', String(opts.crf ?? 24), '-x265-params', 'log-level=error');
      if (codec === 'h265' && (container === 'mp4' || container === 'mov')) args.push('-tag:v', 'hvc1');
      args.push('-pix_fmt', 'yuv420p', ...BT709);
      break;
    }
    case 'vp9': {
      const pix = transparent ? 'yuva420p' : 'yuv420p';
      args = ['-vf', [colour, `format=${pix}`].join(','), '-c:v', 'libvpx-vp9', '-pix_fmt', pix, '-crf', String(opts.crf ?? 32), '-b:v', '0', '-row-mt', '1', ...vp9Speed(preset), ...BT709];
      break;
    }
    case 'prores': {
      const pix = transparent ? 'yuva444p10le' : 'yuv422p10le';
      let filters: string[] = [];
      if (!transparent) {
        const pad = evenPad(width, height, true);
        ({ padded, w, h, filters } = pad);
      }
      args = ['-vf', [...filters, colour, `format=${pix}`].join(','), '-c:v', 'prores_ks', '-profile:v', transparent ? '4444' : '3', '-vendor', 'apl0', '-pix_fmt', pix, ...BT709];
      break;
    }
  }
  if (container === 'mp4' || container === 'mov') args.push('-movflags', '+faststart');

  const audio = audioStreams.map((s) => (COPYABLE_AUDIO[container](s.codec) ? 'copy' : container === 'webm' ? 'opus' : 'aac') as 'copy' | 'aac' | 'opus');
  return { kind, codec, container, width: w, height: h, padded, videoArgs: args, audio };
}

/** Filters that pad an odd size to even by repeating the last column/row. */
function evenPad(width: number, height: number, widthOnly = false): { filters: string[]; padded: boolean; w: number; h: number } {
  const w = width + (width % 2);
  const h = widthOnly ? height : height + (height % 2);
  if (w === width && h === height) return { filters: [], padded: false, w, h };
  return {
    filters: [`pad=${w}:${h}:0:0`, `fillborders=right=${w - width}:bottom=${h - height}:mode=smear`],
    padded: true,
    w,
    h,
  };
}

/** The full ffmpeg command line for a plan. Exported for tests. */
export function buildSinkArgs(
  opts: VideoSinkOptions,
  plan: SinkPlan,
  target: string,
  audio?: { path: string; from?: number; to?: number },
  ffmpeg: { hasFpsMode: boolean } = { hasFpsMode: true },
): string[] {
  const args = ['-hide_banner', '-nostdin', '-nostats', '-y'];
  const { graph } = opts;
  const delay = opts.videoDelay && Math.abs(opts.videoDelay) > 1e-6 ? opts.videoDelay : 0;
  // With a graph, the pipe must keep the timestamps the graph's other inputs are matched to: the delay moves the result instead.
  if (delay && !graph) args.push('-itsoffset', String(delay));
  const pipe = graph?.pipe ?? { pixelFormat: opts.channels === 4 ? 'rgba' : 'rgb24', width: opts.width, height: opts.height };
  const rate = formatRational(opts.fps);
  const arrival = opts.timing === 'arrival' && !graph;
  // Arrival: stamped by ffmpeg's clock (`-framerate` only sets the time base; `-r` would renumber).
  if (arrival) args.push('-use_wallclock_as_timestamps', '1');
  args.push('-f', 'rawvideo', '-pix_fmt', pipe.pixelFormat, '-s', `${pipe.width}x${pipe.height}`, arrival ? '-framerate' : '-r', rate, '-i', 'pipe:0');
  for (const input of graph?.inputs ?? []) args.push(...input);
  const audioInput = 1 + (graph?.inputs.length ?? 0);
  const withAudio = audio !== undefined && plan.audio.length > 0;
  if (withAudio) {
    if (audio.from) args.push('-ss', String(audio.from));
    if (audio.to !== undefined) args.push('-t', String(audio.to - (audio.from ?? 0)));
    args.push('-i', ffmpegInputPath(audio.path));
  }
  let videoArgs = plan.videoArgs;
  if (graph) {
    // The plan's own -vf chain (padding, pixel format) continues the graph, without the colour
    // conversion: the picture keeps its input's colours and tags (graph.colorTags).
    const vf = videoArgs.indexOf('-vf');
    const chain = vf >= 0 ? videoArgs[vf + 1].split(',').filter((f) => f !== TO_BT709) : [];
    const tail = chain.length ? [chain.join(',')] : [];
    if (vf >= 0) videoArgs = [...videoArgs.slice(0, vf), ...videoArgs.slice(vf + 2)];
    const tags = videoArgs.indexOf(BT709[0]);
    if (tags >= 0 && videoArgs.slice(tags, tags + BT709.length).join(' ') === BT709.join(' ')) {
      videoArgs = [...videoArgs.slice(0, tags), ...graph.colorTags, ...videoArgs.slice(tags + BT709.length)];
    }
    if (delay) tail.push(`setpts=PTS+${delay}/TB`);
    args.push('-filter_complex', `${graph.filter};[picture]${tail.length ? tail.join(',') : 'null'}[out]`, '-map', '[out]');
  } else {
    args.push('-map', '0:v');
  }
  if (withAudio) {
    args.push('-map', `${audioInput}:a`, '-map_metadata', String(audioInput));
    plan.audio.forEach((how, i) => {
      if (how === 'copy') args.push(`-c:a:${i}`, 'copy');
      else if (how === 'aac') args.push(`-c:a:${i}`, 'aac', `-b:a:${i}`, '192k');
      else args.push(`-c:a:${i}`, 'libopus', `-b:a:${i}`, '128k');
    });
  }
  args.push(...videoArgs, ...(arrival ? [ffmpeg.hasFpsMode ? '-fps_mode' : '-vsync', 'cfr', '-r', rate] : []), ...(opts.outputArgs ?? []));
  switch (plan.kind) {
    case 'device':
      args.push('-f', 'v4l2', target);
      break;
    case 'url':
      args.push('-f', plan.container, target);
      break;
    case 'folder':
      // image2 reads % as a pattern: double any in the folder name.
      args.push('-f', 'image2', join(target.replace(/%/g, '%%'), '%06d.png'));
      break;
    case 'file':
      args.push('-f', plan.container, target);
      break;
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// Running

async function statOrNull(path: string): Promise<import('node:fs').Stats | null> {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

function writeError(path: string, err: unknown): OutputError {
  const code = (err as NodeJS.ErrnoException).code;
  const dir = dirname(resolve(path));
  const reason =
    code === 'EACCES' || code === 'EPERM'
      ? `permission denied (is the folder ${dir} writable?)`
      : code === 'ENOENT'
        ? `the folder ${dir} does not exist`
        : code === 'EROFS'
          ? 'the file system is read-only'
          : code === 'ENOSPC'
            ? 'no space left on the device'
            : code === 'ENOTDIR'
              ? `part of the path ${dir} is a file, not a folder`
              : (err as Error).message.split('\n')[0];
  return new OutputError(path, `cannot write ${path}: ${reason}`, 'cannot-write');
}

/**
 * Open an output: check it (not an input, not existing unless `force`, folder writable), start
 * ffmpeg. Throws OutputError for path problems, VideoSinkError('options') for bad options,
 * FfmpegNotFoundError when there is no ffmpeg.
 */
export async function openVideoSink(opts: VideoSinkOptions): Promise<VideoSink> {
  const audioSrc: AudioSource | undefined = typeof opts.audioFrom === 'string' ? { path: opts.audioFrom } : opts.audioFrom;
  const kind = kindOfOutput(opts.output);
  // Validate the options before touching anything.
  planVideoSink(opts, []);
  const ffmpeg = findFfmpeg(opts).path;

  const inputs = [...(opts.inputs ?? []), ...(audioSrc ? [audioSrc.path] : [])];
  let target = opts.output;
  let temp: string | null = null;
  if (kind === 'file' || kind === 'folder') {
    target = resolve(opts.output);
    await checkVideoOutput(opts.output, { force: opts.force, inputs });
  }

  let audioStreams: AudioStreamInfo[] = [];
  if (audioSrc && kind === 'file') audioStreams = audioSrc.streams ?? (await probeVideo(audioSrc.path, opts)).audio;
  const plan = planVideoSink(opts, audioStreams);

  if (kind === 'file' || kind === 'folder') {
    temp = kind === 'file' ? tempPathFor(target) : join(dirname(target), `.${basename(target)}.backdrop-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      if (kind === 'file') await (await open(temp, 'wx', 0o666)).close();
      else await mkdir(temp);
    } catch (err) {
      throw writeError(opts.output, err);
    }
    trackTempFile(temp);
  }
  const caps = opts.timing === 'arrival' ? await ffmpegVersion(ffmpeg) : undefined;
  const args = buildSinkArgs(opts, plan, temp ?? target, plan.audio.length > 0 ? audioSrc : undefined, caps);
  return new FfmpegVideoSink(ffmpeg, args, opts, plan, target, temp);
}

/**
 * Check an output before any work: a file must not be an input (real path / inode) nor exist
 * unless `force`; a folder (PNG sequence) likewise. URLs and devices are not checked. Throws OutputError.
 */
export async function checkVideoOutput(output: string, opts: { force?: boolean; inputs?: string[] } = {}): Promise<void> {
  const kind = kindOfOutput(output);
  if (kind === 'file') await checkOutputPath(output, { force: opts.force, inputs: opts.inputs });
  else if (kind === 'folder') await checkFolderOutput(output, opts.force ?? false, opts.inputs ?? []);
}

async function checkFolderOutput(path: string, force: boolean, inputs: string[]): Promise<void> {
  const st = await statOrNull(path);
  for (const input of inputs) {
    if (resolve(input) === resolve(path)) throw new OutputError(path, `refusing to overwrite the input ${path}`, 'same-as-input');
  }
  if (st && !st.isDirectory()) throw new OutputError(path, `${path} is a file; a PNG sequence needs a folder name`, 'exists');
  if (st && !force) throw new OutputError(path, `${path} exists; use --force to overwrite`, 'exists');
}

/** Remove an earlier PNG sequence (only a folder holding nothing but NNNNNN.png frames) before replacing it. */
async function removeFrameFolder(output: string, folder: string): Promise<void> {
  const entries = await readdir(folder);
  if (entries.some((name) => !/^\d+\.png$/.test(name))) {
    throw new OutputError(output, `${output} holds files other than PNG frames; not replacing it even with --force`, 'exists');
  }
  await rm(folder, { recursive: true, force: true });
}

class FfmpegVideoSink implements VideoSink {
  readonly output: string;
  readonly kind: SinkKind;
  readonly args: readonly string[];
  framesWritten = 0;

  private readonly proc: FfmpegProcess;
  private readonly opts: VideoSinkOptions;
  private readonly plan: SinkPlan;
  private readonly target: string;
  private readonly temp: string | null;
  private readonly frameBytes: number;
  private state: 'open' | 'finishing' | 'done' | 'aborted' | 'failed' = 'open';
  private pipeError: Error | null = null;
  private pendingWrite: ((ok: boolean) => void) | null = null;
  /** Frames in the output by ffmpeg's final report (it repeats or drops frames with `arrival` timing). */
  private encodedFrames: number | null = null;

  constructor(ffmpeg: string, args: string[], opts: VideoSinkOptions, plan: SinkPlan, target: string, temp: string | null) {
    this.output = opts.output;
    this.kind = plan.kind;
    this.args = args;
    this.opts = opts;
    this.plan = plan;
    this.target = target;
    this.temp = temp;
    const pipe = opts.graph?.pipe;
    this.frameBytes = pipe ? pipe.width * pipe.height * PIPE_BYTES_PER_PIXEL[pipe.pixelFormat] : opts.width * opts.height * opts.channels;
    this.proc = new FfmpegProcess(ffmpeg, args, { stdin: true, stdout: false }, {
      onLine: (line) => {
        const done = /^frame=\s*(\d+)/.exec(line);
        if (done) this.encodedFrames = Number(done[1]);
      },
    });
    this.proc.child.stdin!.on('error', (err) => {
      // EPIPE when ffmpeg quits early: the exit status and log say why.
      this.pipeError ??= err;
    });
    void this.proc.exited.then(() => this.pendingWrite?.(false));
  }

  private async failure(): Promise<Error> {
    const exit = await this.proc.exited;
    if (this.proc.startError) return this.proc.startError;
    return new VideoSinkError(
      `encoding ${this.output} failed after ${this.framesWritten} frames: ${this.proc.reason()} (${describeExit(exit)})`,
      'encode',
      this.proc.lastLines(),
    );
  }

  async write(frame: Frame): Promise<void> {
    if (this.opts.graph || frame.width !== this.opts.width || frame.height !== this.opts.height || frame.channels !== this.opts.channels || frame.data.length !== this.frameBytes) {
      throw new RangeError(
        this.opts.graph
          ? `${this.output} makes its picture in ffmpeg: send its pipe frames with writeRaw()`
          : `frame ${frame.width}×${frame.height}×${frame.channels} (${frame.data.length} bytes) does not match the output ${this.opts.width}×${this.opts.height}×${this.opts.channels}`,
      );
    }
    await this.writeRaw(frame.data instanceof Uint8Array ? frame.data : new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.length));
  }

  async writeRaw(data: Uint8Array): Promise<void> {
    if (this.state !== 'open') throw new VideoSinkError(`cannot write to ${this.output}: the output is ${this.state === 'finishing' || this.state === 'done' ? 'finished' : 'closed'}`, 'options');
    if (data.length !== this.frameBytes) throw new RangeError(`${data.length} bytes written to ${this.output}, whose frames are ${this.frameBytes} bytes`);
    const stdin = this.proc.child.stdin!;
    if (this.proc.exit || this.pipeError || stdin.destroyed) {
      const err = await this.failure();
      await this.discard();
      throw err;
    }
    const ok = await new Promise<boolean>((resolvePromise) => {
      let settled = false;
      const settle = (v: boolean): void => {
        if (settled) return;
        settled = true;
        this.pendingWrite = null;
        resolvePromise(v);
      };
      this.pendingWrite = settle;
      // The callback runs once the whole frame is in the pipe; an early exit of ffmpeg also settles.
      stdin.write(data, (err) => settle(!err));
    });
    if (!ok) {
      const err = await this.failure();
      await this.discard();
      throw err;
    }
    this.framesWritten++;
  }

  async finish(): Promise<VideoSinkResult> {
    if (this.state !== 'open') throw new VideoSinkError(`${this.output} is already ${this.state}`, 'options');
    this.state = 'finishing';
    const stdin = this.proc.child.stdin!;
    stdin.end();
    const exit = await this.proc.exited;
    if (exit.code !== 0 || this.proc.startError) {
      const err = await this.failure();
      await this.discard();
      throw err;
    }
    if (this.framesWritten === 0) {
      await this.discard();
      throw new VideoSinkError(`nothing written to ${this.output}: no frames`, 'encode');
    }
    try {
      await this.commit();
    } catch (err) {
      await this.discard();
      throw err;
    }
    this.state = 'done';
    return {
      output: this.output,
      frames: this.opts.timing === 'arrival' ? (this.encodedFrames ?? this.framesWritten) : this.framesWritten,
      width: this.plan.width,
      height: this.plan.height,
      codec: this.plan.codec,
      audio: this.plan.audio,
    };
  }

  /** Move the temporary file/folder into place: without force, never over something that appeared meanwhile. */
  private async commit(): Promise<void> {
    const temp = this.temp;
    if (!temp) return;
    const force = this.opts.force ?? false;
    try {
      if (this.kind === 'folder') {
        const st = await statOrNull(this.target);
        if (st && !force) throw new OutputError(this.output, `${this.output} exists; use --force to overwrite`, 'exists');
        if (st) await removeFrameFolder(this.output, this.target);
        await rename(temp, this.target);
      } else if (force) {
        await rename(temp, this.target);
      } else {
        try {
          await link(temp, this.target);
          await unlink(temp).catch(() => undefined);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OutputError(this.output, `${this.output} exists; use --force to overwrite`, 'exists');
          if (await statOrNull(this.target)) throw new OutputError(this.output, `${this.output} exists; use --force to overwrite`, 'exists');
          await rename(temp, this.target);
        }
      }
    } catch (err) {
      throw err instanceof OutputError ? err : writeError(this.output, err);
    } finally {
      untrackTempFile(temp);
    }
  }

  private async discard(): Promise<void> {
    if (this.state !== 'aborted') this.state = 'failed';
    if (!this.proc.exit) await this.proc.stop(1000);
    if (this.temp) {
      await rm(this.temp, { recursive: true, force: true }).catch(() => undefined);
      untrackTempFile(this.temp);
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'done') return;
    this.state = 'aborted';
    await this.discard();
  }
}
