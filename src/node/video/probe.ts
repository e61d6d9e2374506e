/**
 * Facts about a video file: display size, rotation, exact frame rate, duration, frame count, codec,
 * pixel format, alpha, audio streams. From ffprobe's JSON when there is an ffprobe, otherwise
 * parsed from `ffmpeg -hide_banner -i FILE` (the npm ffmpeg build ships without ffprobe).
 *
 * Frame rate: ffprobe reports `r_frame_rate` (the base rate the timestamps are a multiple of) and
 * `avg_frame_rate` (frames ÷ duration). When they agree (within 0.2 %) the file is constant-rate and
 * `r_frame_rate` is used, as an exact rational (29.97 is 30000/1001). When they disagree the file is
 * variable-rate: `r_frame_rate` is used if it is a plausible video rate (≤ 120 fps and not an exact
 * multiple of the average, which would mean field-rate reporting of interlaced video), else the
 * average snapped to a standard rate. A variable-rate file is later read as constant-rate at that
 * rate, which keeps every frame at its time (see source.ts).
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { findFfmpeg, findFfprobe, type FfmpegOptions } from './ffmpegPath.js';

export interface Rational {
  num: number;
  den: number;
}

export interface AudioStreamInfo {
  /** Stream index in the file. */
  index: number;
  codec: string;
  channels: number;
  sampleRate: number;
  /** Seconds, when known. */
  duration?: number;
  /** Seconds, when known. */
  startTime?: number;
}

export interface VideoInfo {
  path: string;
  /** Container (demuxer) name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`. */
  container: string;
  /** Index of the video stream used. */
  streamIndex: number;
  /** Display size: the coded size with width and height swapped for 90°/270° rotation. */
  width: number;
  height: number;
  codedWidth: number;
  codedHeight: number;
  /** Clockwise degrees a player rotates the stored picture by (ffmpeg applies it when decoding). */
  rotation: 0 | 90 | 180 | 270;
  /** The rate frames are read at: exact for constant-rate files (see the module comment). */
  frameRate: Rational;
  /** The file's timestamps are not evenly spaced at `frameRate`. */
  variableFrameRate: boolean;
  /** Average rate over the file (frames ÷ duration), when known. */
  averageFrameRate?: Rational;
  /** Seconds (the video stream's, else the container's), when known. */
  duration?: number;
  /** Frames stored in the stream, when the container says (MP4/MOV do; Matroska/WebM usually not). */
  frameCount?: number;
  /** Start of the video stream, seconds. */
  startTime: number;
  /** Start of the whole file (earliest stream), seconds: audio and video are aligned relative to it. */
  formatStartTime: number;
  codec: string;
  pixelFormat: string;
  /** YUV matrix the file is tagged with (bt709, smpte170m, bt470bg, …), when it says. */
  colorSpace?: string;
  hasAlpha: boolean;
  audio: AudioStreamInfo[];
  /** Which tool gave these facts. */
  probedWith: 'ffprobe' | 'ffmpeg';
}

export type VideoInputErrorCode = 'missing' | 'folder' | 'empty' | 'no-video' | 'unsupported' | 'unreadable' | 'corrupt';

/** A bad input video. `message` names the file and the reason, one line (plus ffmpeg's words when useful). */
export class VideoInputError extends Error {
  readonly file: string;
  readonly code: VideoInputErrorCode;

  constructor(file: string, message: string, code: VideoInputErrorCode) {
    super(message);
    this.name = 'VideoInputError';
    this.file = file;
    this.code = code;
  }
}

export interface ProbeOptions extends FfmpegOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Rationals and frame rates

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

/** `30000/1001` → {30000, 1001} (reduced); `25` → {25, 1}; null for 0/0, N/A, garbage. */
export function parseRational(text: string | undefined): Rational | null {
  if (!text) return null;
  const m = /^\s*(\d+)(?:\s*[/:]\s*(\d+))?\s*$/.exec(text);
  if (!m) return null;
  const num = Number(m[1]);
  const den = m[2] === undefined ? 1 : Number(m[2]);
  if (!num || !den) return null;
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

export function rationalValue(r: Rational): number {
  return r.num / r.den;
}

export function formatRational(r: Rational): string {
  return r.den === 1 ? String(r.num) : `${r.num}/${r.den}`;
}

const STANDARD_RATES: Rational[] = [
  { num: 24000, den: 1001 },
  { num: 30000, den: 1001 },
  { num: 60000, den: 1001 },
  { num: 120000, den: 1001 },
  { num: 48000, den: 1001 },
];

/**
 * The nearest "nice" rate to a decimal frame rate: an integer or an NTSC rate (N·1000/1001) when
 * within 0.1 %, else the value to 1/100 (the precision ffmpeg prints). 29.97 → 30000/1001.
 */
export function snapFrameRate(value: number): Rational {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`frame rate must be positive, got ${value}`);
  const close = (r: Rational): boolean => Math.abs(rationalValue(r) - value) / value < 0.001;
  const integer = { num: Math.round(value), den: 1 };
  if (integer.num > 0 && Math.abs(integer.num - value) < 0.005 * Math.max(1, value / 100)) return integer;
  for (const r of STANDARD_RATES) if (close(r)) return r;
  const ntsc = { num: Math.round((value * 1001) / 1000) * 1000, den: 1001 };
  if (ntsc.num > 0 && close(ntsc)) return ntsc;
  if (integer.num > 0 && close(integer)) return integer;
  return parseRational(`${Math.round(value * 100)}/100`) ?? integer;
}

/** The better-looking of two equal rates: the smaller denominator (25/1 over 2500/100). */
function simpler(a: Rational, b: Rational): Rational {
  return b.den < a.den ? b : a;
}

/** Pick the rate to read at and whether the file is variable-rate (see the module comment). */
export function chooseFrameRate(r: Rational | null, avg: Rational | null): { rate: Rational; variable: boolean } {
  if (r && avg) {
    const rv = rationalValue(r);
    const av = rationalValue(avg);
    if (Math.abs(rv - av) / rv < 0.002) return { rate: snapIfClose(simpler(r, avg)), variable: false };
    const ratio = rv / av;
    if (ratio > 1.5 && Math.abs(ratio - Math.round(ratio)) < 0.002) return { rate: snapIfClose(avg), variable: false };
    if (rv <= 120 && rv >= av) return { rate: snapIfClose(r), variable: true };
    return { rate: snapFrameRate(av), variable: true };
  }
  const only = r ?? avg;
  if (only && rationalValue(only) <= 1000) return { rate: snapIfClose(only), variable: false };
  throw new RangeError('no frame rate');
}

/** Replace an ugly rational (e.g. 2997/100) by the standard rate it stands for; exact rates stay. */
function snapIfClose(r: Rational): Rational {
  if (r.den === 1 || r.den === 1001) return r;
  const snapped = snapFrameRate(rationalValue(r));
  return Math.abs(rationalValue(snapped) - rationalValue(r)) / rationalValue(r) < 0.001 ? snapped : r;
}

/** Frames a reader at `info.frameRate` yields for the whole file (or the range), when it can be told. */
export function expectedFrameCount(info: VideoInfo, from = 0, to?: number): number | undefined {
  const full = info.duration;
  const end = to === undefined ? full : full === undefined ? to : Math.min(to, full);
  if (from === 0 && end === full && !info.variableFrameRate && info.frameCount !== undefined) return info.frameCount;
  if (end === undefined) return undefined;
  return Math.max(0, Math.round(((end - from) * info.frameRate.num) / info.frameRate.den));
}

// ---------------------------------------------------------------------------------------------
// Pixel formats

const ALPHA_PIX_FMT = /^(yuva|rgba|bgra|argb|abgr|gbrap|ya\d|pal8$|rgba64|bgra64)/;

export function pixelFormatHasAlpha(pixFmt: string): boolean {
  return ALPHA_PIX_FMT.test(pixFmt);
}

/** Normalise ffmpeg's/ffprobe's rotation (counter-clockwise display-matrix degrees) to clockwise 0/90/180/270. */
function clockwiseFromMatrix(ccw: number): VideoInfo['rotation'] {
  const cw = (((-Math.round(ccw / 90) * 90) % 360) + 360) % 360;
  return cw as VideoInfo['rotation'];
}

function clockwiseFromTag(tag: number): VideoInfo['rotation'] {
  return ((((Math.round(tag / 90) * 90) % 360) + 360) % 360) as VideoInfo['rotation'];
}

function displaySize(w: number, h: number, rotation: number): { width: number; height: number } {
  return rotation === 90 || rotation === 270 ? { width: h, height: w } : { width: w, height: h };
}

/** The rate frames are read at (chooseFrameRate), or a VideoInputError when the stream has none. */
function frameRateOf(path: string, r: Rational | null, avg: Rational | null): { rate: Rational; variable: boolean } {
  try {
    return chooseFrameRate(r, avg);
  } catch {
    throw new VideoInputError(path, `${path}: the video stream has no frame rate (a still image, or a damaged file)`, 'corrupt');
  }
}

/** Size, rotation and rate, as both probes (ffprobe's JSON, ffmpeg's report) put them in VideoInfo. */
function picture(
  codedWidth: number,
  codedHeight: number,
  rotation: VideoInfo['rotation'],
  rate: { rate: Rational; variable: boolean },
  avg: Rational | null,
): Pick<VideoInfo, 'width' | 'height' | 'codedWidth' | 'codedHeight' | 'rotation' | 'frameRate' | 'variableFrameRate' | 'averageFrameRate'> {
  return { ...displaySize(codedWidth, codedHeight, rotation), codedWidth, codedHeight, rotation, frameRate: rate.rate, variableFrameRate: rate.variable, averageFrameRate: avg ?? undefined };
}

/** `00:01:02.50` or `00:00:01.080000000` → seconds. */
function parseClock(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const m = /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

function positiveNumber(text: unknown): number | undefined {
  const n = typeof text === 'number' ? text : typeof text === 'string' ? Number(text) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function finiteNumber(text: unknown): number | undefined {
  const n = typeof text === 'number' ? text : typeof text === 'string' && text !== '' ? Number(text) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

// ---------------------------------------------------------------------------------------------
// Running the tools

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, windowsHide: true }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
      if (e && typeof e.code === 'string') {
        reject(e);
        return;
      }
      if (e?.killed) {
        reject(new Error(`${cmd} did not finish within ${timeoutMs} ms`));
        return;
      }
      resolvePromise({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * A local file path as ffmpeg should be given it: absolute, so that a name like `clip:1.mp4` is not
 * taken for a protocol and one starting with `-` not for an option.
 */
export function ffmpegInputPath(path: string): string {
  return resolve(path);
}

/** The most telling line of ffmpeg's error output (the last non-empty one), without the `file: ` prefix. */
function ffmpegReason(stderr: string, file: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^At least one output file must be specified/.test(l));
  let line = lines[lines.length - 1] ?? 'unknown error';
  for (const name of [file, resolve(file)]) if (line.startsWith(`${name}: `)) line = line.slice(name.length + 2);
  return line;
}

async function checkFile(path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new VideoInputError(path, `${path} does not exist`, 'missing');
    throw new VideoInputError(path, `${path} cannot be read (${(err as Error).message})`, 'unreadable');
  }
  if (st.isDirectory()) throw new VideoInputError(path, `${path} is a folder, not a video file`, 'folder');
  if (st.isFile() && st.size === 0) throw new VideoInputError(path, `${path} is empty (0 bytes)`, 'empty');
}

/** Read a video file's facts. Throws VideoInputError (bad file) or FfmpegNotFoundError. */
export async function probeVideo(path: string, opts: ProbeOptions = {}): Promise<VideoInfo> {
  await checkFile(path);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const ffprobe = opts.tools ? opts.tools.ffprobe : (findFfprobe(opts)?.path ?? null);
  if (ffprobe) {
    const res = await run(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-i', ffmpegInputPath(path)], timeoutMs);
    if (res.code !== 0) throw unreadable(path, ffmpegReason(res.stderr, path));
    let json: FfprobeJson;
    try {
      json = JSON.parse(res.stdout) as FfprobeJson;
    } catch {
      throw unreadable(path, 'ffprobe gave no readable answer');
    }
    return fromFfprobeJson(path, json);
  }
  const ffmpeg = opts.tools?.ffmpeg ?? findFfmpeg(opts).path;
  const res = await run(ffmpeg, ['-hide_banner', '-nostdin', '-i', ffmpegInputPath(path)], timeoutMs);
  return parseFfmpegInfo(path, res.stderr);
}

function unreadable(path: string, reason: string): VideoInputError {
  if (/permission denied/i.test(reason)) return new VideoInputError(path, `${path} cannot be read: ${reason}`, 'unreadable');
  return new VideoInputError(path, `${path} is not a video ffmpeg can read (${reason})`, 'unsupported');
}

function noVideo(path: string): VideoInputError {
  return new VideoInputError(path, `${path} has no video stream`, 'no-video');
}

function unsupportedCodec(path: string, what: string): VideoInputError {
  return new VideoInputError(path, `${path}: unsupported video codec (${what}); this ffmpeg cannot decode it`, 'unsupported');
}

// ---------------------------------------------------------------------------------------------
// ffprobe JSON

interface FfprobeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  codec_tag_string?: string;
  width?: number;
  height?: number;
  coded_width?: number;
  coded_height?: number;
  pix_fmt?: string;
  color_space?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  duration?: string;
  start_time?: string;
  nb_frames?: string;
  sample_rate?: string;
  channels?: number;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

interface FfprobeJson {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string; start_time?: string };
}

function tag(tags: Record<string, string> | undefined, name: string): string | undefined {
  if (!tags) return undefined;
  const key = Object.keys(tags).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : tags[key];
}

/** Build VideoInfo from `ffprobe -show_format -show_streams -print_format json`. Exported for tests. */
export function fromFfprobeJson(path: string, json: FfprobeJson): VideoInfo {
  const streams = json.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video) throw noVideo(path);
  if (!video.codec_name || video.codec_name === 'none') {
    const fourcc = video.codec_tag_string && !video.codec_tag_string.includes('[0]') ? `tag ${video.codec_tag_string}` : 'unknown to ffmpeg';
    throw unsupportedCodec(path, fourcc);
  }
  const codedWidth = video.width ?? 0;
  const codedHeight = video.height ?? 0;
  if (!codedWidth || !codedHeight) throw new VideoInputError(path, `${path}: the video stream has no picture size (damaged or unsupported file)`, 'corrupt');

  let rotation: VideoInfo['rotation'] = 0;
  const matrix = video.side_data_list?.find((d) => typeof d.rotation === 'number');
  if (matrix && typeof matrix.rotation === 'number') rotation = clockwiseFromMatrix(matrix.rotation);
  else {
    const rotateTag = finiteNumber(tag(video.tags, 'rotate'));
    if (rotateTag !== undefined) rotation = clockwiseFromTag(rotateTag);
  }

  const r = parseRational(video.r_frame_rate);
  const avg = parseRational(video.avg_frame_rate);
  const rate = frameRateOf(path, r, avg);

  const duration =
    positiveNumber(video.duration) ?? parseClock(tag(video.tags, 'DURATION')) ?? positiveNumber(json.format?.duration);
  const frameCount = positiveNumber(video.nb_frames) ?? positiveNumber(tag(video.tags, 'NUMBER_OF_FRAMES'));
  const pixelFormat = video.pix_fmt ?? 'unknown';
  const alphaTag = tag(video.tags, 'alpha_mode');
  const formatStartTime = finiteNumber(json.format?.start_time) ?? 0;

  const audio: AudioStreamInfo[] = streams
    .filter((s) => s.codec_type === 'audio')
    .map((s) => ({
      index: s.index,
      codec: s.codec_name ?? 'unknown',
      channels: s.channels ?? 0,
      sampleRate: positiveNumber(s.sample_rate) ?? 0,
      duration: positiveNumber(s.duration) ?? parseClock(tag(s.tags, 'DURATION')),
      startTime: finiteNumber(s.start_time),
    }));

  return {
    path,
    container: json.format?.format_name ?? 'unknown',
    streamIndex: video.index,
    ...picture(codedWidth, codedHeight, rotation, rate, avg),
    duration,
    frameCount: frameCount === undefined ? undefined : Math.round(frameCount),
    startTime: finiteNumber(video.start_time) ?? formatStartTime,
    formatStartTime,
    codec: video.codec_name,
    pixelFormat,
    colorSpace: video.color_space && video.color_space !== 'unknown' ? video.color_space : undefined,
    hasAlpha: pixelFormatHasAlpha(pixelFormat) || alphaTag === '1',
    audio,
    probedWith: 'ffprobe',
  };
}

// ---------------------------------------------------------------------------------------------
// ffmpeg's own report (no ffprobe)

/** Split at commas that are not inside parentheses or brackets. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') parts.push(cur.trim());
  return parts;
}

/** `29.97` / `30k` / `25` → number. */
function parseFfmpegNumber(text: string): number {
  return text.endsWith('k') ? Number(text.slice(0, -1)) * 1000 : Number(text);
}

const LAYOUT_CHANNELS: Record<string, number> = {
  mono: 1,
  stereo: 2,
  downmix: 2,
  '2.1': 3,
  '3.0': 3,
  '3.0(back)': 3,
  quad: 4,
  'quad(side)': 4,
  '4.0': 4,
  '4.1': 5,
  '5.0': 5,
  '5.0(side)': 5,
  '5.1': 6,
  '5.1(side)': 6,
  '6.0': 6,
  '6.1': 7,
  '7.0': 7,
  '7.1': 8,
  '7.1(wide)': 8,
};

interface ParsedStream {
  index: number;
  type: string;
  desc: string;
  metadata: Record<string, string>;
  sideData: string[];
}

/**
 * Build VideoInfo from the stderr of `ffmpeg -hide_banner -i FILE` (exit status 1 and "At least one
 * output file must be specified" are normal). Exported for tests.
 */
export function parseFfmpegInfo(path: string, stderr: string): VideoInfo {
  const lines = stderr.split(/\r?\n/);
  const inputIdx = lines.findIndex((l) => /^Input #0, /.test(l));
  if (inputIdx < 0) throw unreadable(path, ffmpegReason(stderr, path));
  const container = /^Input #0, (.*), from /.exec(lines[inputIdx])?.[1] ?? 'unknown';
  let formatDuration: number | undefined;
  let formatStartTime = 0;
  const streams: ParsedStream[] = [];
  let section: 'none' | 'metadata' | 'side' = 'none';
  for (let i = inputIdx + 1; i < lines.length; i++) {
    const line = lines[i];
    if (/^\S/.test(line)) break; // next top-level block (Output #0, errors)
    const dur = /^\s+Duration: ([^,]+), start: (-?[\d.]+)/.exec(line) ?? /^\s+Duration: ([^,]+)/.exec(line);
    if (dur) {
      formatDuration = parseClock(dur[1]);
      if (dur[2] !== undefined) formatStartTime = Number(dur[2]);
      continue;
    }
    const st = /^\s+Stream #0:(\d+)[^:]*: (\w+): (.*)$/.exec(line);
    if (st) {
      streams.push({ index: Number(st[1]), type: st[2], desc: st[3], metadata: {}, sideData: [] });
      section = 'none';
      continue;
    }
    const cur = streams[streams.length - 1];
    if (!cur) continue;
    if (/^\s+Metadata:\s*$/.test(line)) section = 'metadata';
    else if (/^\s+Side data:\s*$/.test(line)) section = 'side';
    else if (section === 'metadata') {
      const kv = /^\s+([^:]+?)\s*: (.*)$/.exec(line);
      if (kv) cur.metadata[kv[1].toLowerCase()] = kv[2].trim();
    } else if (section === 'side') cur.sideData.push(line.trim());
  }

  const video = streams.find((s) => s.type === 'Video' && !/\(attached pic\)/.test(s.desc));
  if (!video) throw noVideo(path);
  const parts = splitTopLevel(video.desc);
  const codecWords = parts[0] ?? '';
  const codec = codecWords.split(/\s+/)[0] ?? 'none';
  if (codec === 'none' || codec === '') {
    const fourcc = /\((\w{4}) \/ 0x/.exec(codecWords)?.[1];
    throw unsupportedCodec(path, fourcc ? `tag ${fourcc}` : 'unknown to ffmpeg');
  }
  const pixelFormat = (parts[1] ?? 'unknown').replace(/\(.*$/, '').trim() || 'unknown';
  const sizePart = parts.find((p) => /^\d+x\d+/.test(p));
  const size = sizePart ? /^(\d+)x(\d+)/.exec(sizePart) : null;
  if (!size) throw new VideoInputError(path, `${path}: the video stream has no picture size (damaged or unsupported file)`, 'corrupt');
  const codedWidth = Number(size[1]);
  const codedHeight = Number(size[2]);
  const fpsPart = parts.map((p) => /^([\d.]+k?) fps$/.exec(p)).find((m) => m);
  const tbrPart = parts.map((p) => /^([\d.]+k?) tbr$/.exec(p)).find((m) => m);
  const avgValue = fpsPart ? parseFfmpegNumber(fpsPart[1]) : undefined;
  const tbrValue = tbrPart ? parseFfmpegNumber(tbrPart[1]) : undefined;
  const avg = avgValue ? snapFrameRate(avgValue) : null;
  const r = tbrValue ? snapFrameRate(tbrValue) : null;
  let rate = frameRateOf(path, r, avg);
  // ffmpeg prints rates to 2 decimals, so agreement is judged at that precision.
  if (avgValue && tbrValue && Math.abs(avgValue - tbrValue) <= 0.011) rate = { rate: r ?? rate.rate, variable: false };

  let rotation: VideoInfo['rotation'] = 0;
  const matrix = video.sideData.map((l) => /displaymatrix: rotation of (-?[\d.]+) degrees/.exec(l)).find((m) => m);
  if (matrix) rotation = clockwiseFromMatrix(Number(matrix[1]));
  else if (video.metadata.rotate !== undefined) rotation = clockwiseFromTag(Number(video.metadata.rotate));

  const audio: AudioStreamInfo[] = streams
    .filter((s) => s.type === 'Audio')
    .map((s) => {
      const ap = splitTopLevel(s.desc);
      const hz = ap.map((p) => /^(\d+) Hz$/.exec(p)).find((m) => m);
      const layout = ap[2] ?? '';
      const n = /^(\d+) channels/.exec(layout);
      return {
        index: s.index,
        codec: (ap[0] ?? 'unknown').split(/\s+/)[0],
        channels: n ? Number(n[1]) : (LAYOUT_CHANNELS[layout] ?? 0),
        sampleRate: hz ? Number(hz[1]) : 0,
        duration: parseClock(s.metadata.duration),
      };
    });

  return {
    path,
    container,
    streamIndex: video.index,
    ...picture(codedWidth, codedHeight, rotation, rate, avg),
    duration: parseClock(video.metadata.duration) ?? formatDuration,
    frameCount: positiveNumber(video.metadata.number_of_frames),
    startTime: formatStartTime,
    formatStartTime,
    codec,
    pixelFormat,
    // "yuv420p(tv, bt709, progressive)": the matrix is one of the words in brackets.
    colorSpace: /\((?:[^)]*,\s*)?(bt709|bt470bg|smpte170m|bt2020nc|smpte240m)\b/.exec(parts[1] ?? '')?.[1],
    hasAlpha: pixelFormatHasAlpha(pixelFormat) || video.metadata.alpha_mode === '1',
    audio,
    probedWith: 'ffmpeg',
  };
}
