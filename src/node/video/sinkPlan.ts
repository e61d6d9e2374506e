/**
 * Planning a video output, pure (no processes, no files): codec, container, pixel format, padding,
 * audio handling and the ffmpeg command line, for a file (.mp4 .mov .mkv .webm), a PNG sequence
 * folder, a stream URL or a virtual camera. Running it is sink.ts's job. A video job plans its
 * output once (job.ts); planVideoSink is also where bad options fail, naming the option.
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
import { extname, join } from 'node:path';
import type { FfmpegOptions } from './ffmpegPath.js';
import { ffmpegInputPath, formatRational, type AudioStreamInfo, type Rational } from './probe.js';

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
  /** The file's audio streams, as probed (the job's probe). */
  streams: AudioStreamInfo[];
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
  audioFrom?: AudioSource;
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
  /**
   * Drop this many frames at the start, after they were sent (ffmpeg `trim`): a segment's lead-in
   * (segmentPlan.ts), which warms the processors up but is not part of the output. Default 0.
   */
  skipFrames?: number;
}

/**
 * The picture is made inside ffmpeg: what is written to the pipe is `pipe`-shaped (e.g. a
 * low-resolution mask), and `filter`, a graph over the inputs in command-line order (`leadInputs`,
 * the pipe, `inputs`: [0:v] is the pipe when there are no lead inputs; each input an argument list
 * ending in `-i X`), ends in a pad labelled [picture] of the output's size
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
  /**
   * One of `inputs` reads raw frames at this ffmpeg's fd 3 (`-i pipe:3`), written straight there
   * by another process (the sink's framePipe is handed to it), never through Node.
   */
  framePipe?: boolean;
  /** Inputs opened before the pipe, which then follows them (e.g. [1:v] after one lead input). */
  leadInputs?: string[][];
}

/**
 * Opening an input, ffmpeg reads frames until it has guessed the frame rate (≈ 20 of them for a
 * rate it finds unreliable, e.g. 120 fps), unless told not to. With a frame pipe (VideoGraph) each
 * pipe input may be read only one frame ahead of the other: their writers depend on each other.
 */
export const PROBE_ONE_FRAME = ['-fpsprobesize', '0'];

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

export type Container = 'mp4' | 'mov' | 'matroska' | 'webm';

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
 * Decide codec, container, pixel format, padding and audio handling for these options (the audio
 * streams are `audioFrom`'s unless given). Throws VideoSinkError('options') naming the bad option.
 */
export function planVideoSink(opts: VideoSinkOptions, audioStreams: AudioStreamInfo[] = opts.audioFrom?.streams ?? []): SinkPlan {
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
  if (opts.skipFrames !== undefined && !(Number.isInteger(opts.skipFrames) && opts.skipFrames >= 0)) throw option('skipFrames', opts.skipFrames, 'a whole number of frames ≥ 0');
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

  return { kind, codec, container, width: w, height: h, padded, videoArgs: args, audio: audioPlan(container, audioStreams) };
}

/** What happens to each audio stream in a container: copied when it can hold the codec, else re-encoded. */
export function audioPlan(container: Container, streams: readonly AudioStreamInfo[]): ('copy' | 'aac' | 'opus')[] {
  return streams.map((s) => (COPYABLE_AUDIO[container](s.codec) ? 'copy' : container === 'webm' ? 'opus' : 'aac'));
}

/** The container a video file name asks for by its extension; undefined for anything else. */
export function fileContainer(output: string): Container | undefined {
  return kindOfOutput(output) === 'file' ? EXT_CONTAINER[extname(output).toLowerCase()] : undefined;
}

/** ffmpeg's options for an audio plan, one entry per output audio stream. */
export function audioCodecArgs(plan: readonly ('copy' | 'aac' | 'opus')[]): string[] {
  return plan.flatMap((how, i) =>
    how === 'copy' ? [`-c:a:${i}`, 'copy'] : how === 'aac' ? [`-c:a:${i}`, 'aac', `-b:a:${i}`, '192k'] : [`-c:a:${i}`, 'libopus', `-b:a:${i}`, '128k'],
  );
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

/** The input options that read a file's sound over a time range, as the video was read from it. */
export function audioInputArgs(audio: { path: string; from?: number; to?: number }): string[] {
  const args: string[] = [];
  if (audio.from) args.push('-ss', String(audio.from));
  if (audio.to !== undefined) args.push('-t', String(audio.to - (audio.from ?? 0)));
  return [...args, '-i', ffmpegInputPath(audio.path)];
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
  for (const input of graph?.leadInputs ?? []) args.push(...input);
  args.push('-f', 'rawvideo', '-pix_fmt', pipe.pixelFormat, '-s', `${pipe.width}x${pipe.height}`, arrival ? '-framerate' : '-r', rate);
  // Read no further ahead than the frame pipe's writer can be (ffmpegGraph.ts PROBE_ONE_FRAME).
  if (graph?.framePipe) args.push(...PROBE_ONE_FRAME);
  args.push('-i', 'pipe:0');
  for (const input of graph?.inputs ?? []) args.push(...input);
  const audioInput = 1 + (graph?.leadInputs?.length ?? 0) + (graph?.inputs.length ?? 0);
  const withAudio = audio !== undefined && plan.audio.length > 0;
  if (withAudio) {
    args.push(...audioInputArgs(audio));
  }
  let videoArgs = plan.videoArgs;
  // A lead-in is dropped before anything else sees the picture, and the rest starts at 0.
  const skip = opts.skipFrames ? [`trim=start_frame=${opts.skipFrames}`, 'setpts=PTS-STARTPTS'] : [];
  if (skip.length && !graph) {
    const vf = videoArgs.indexOf('-vf');
    videoArgs = vf >= 0 ? [...videoArgs.slice(0, vf + 1), [...skip, videoArgs[vf + 1]].join(','), ...videoArgs.slice(vf + 2)] : ['-vf', skip.join(','), ...videoArgs];
  }
  if (graph) {
    // The plan's own -vf chain (padding, pixel format) continues the graph, without the colour
    // conversion: the picture keeps its input's colours and tags (graph.colorTags).
    const vf = videoArgs.indexOf('-vf');
    const chain = vf >= 0 ? videoArgs[vf + 1].split(',').filter((f) => f !== TO_BT709) : [];
    const tail = [...skip, ...(chain.length ? [chain.join(',')] : [])];
    if (vf >= 0) videoArgs = [...videoArgs.slice(0, vf), ...videoArgs.slice(vf + 2)];
    const tags = videoArgs.indexOf(BT709[0]);
    if (tags >= 0 && videoArgs.slice(tags, tags + BT709.length).join(' ') === BT709.join(' ')) {
      videoArgs = [...videoArgs.slice(0, tags), ...graph.colorTags, ...videoArgs.slice(tags + BT709.length)];
    }
    if (delay) tail.push(`setpts=PTS+${delay}/TB`);
    // The graph's filters run on ffmpeg's main thread: slice threads cost more CPU (waking them
    // for every filter of every frame) than they save, and the encoder has threads of its own.
    args.push('-filter_complex_threads', '1', '-filter_complex', `${graph.filter};[picture]${tail.length ? tail.join(',') : 'null'}[out]`, '-map', '[out]');
  } else {
    args.push('-map', '0:v');
  }
  if (withAudio) {
    args.push('-map', `${audioInput}:a`, '-map_metadata', String(audioInput), ...audioCodecArgs(plan.audio));
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
