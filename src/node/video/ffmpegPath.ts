/**
 * Finding the ffmpeg (and, when there is one, ffprobe) executable.
 *
 * ffmpeg: `FFMPEG_PATH`, else `ffmpeg` on PATH, else the binary inside the npm package
 * `@ffmpeg-installer/ffmpeg` (so a fresh `npm install` is enough). ffprobe: `FFPROBE_PATH`, else
 * `ffprobe` on PATH, else an `ffprobe` beside the chosen ffmpeg; the npm build has none, and then
 * stream facts are parsed from ffmpeg's own output instead (see probe.ts).
 *
 * Every function here that takes `FfmpegOptions` lets a caller (or a test) name the executables
 * explicitly instead of going through the environment.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';

/** Explicit executables; each falls back to the search described above when left out. */
export interface FfmpegOptions {
  /** Path of the ffmpeg executable. */
  ffmpegPath?: string;
  /** Path of the ffprobe executable, or `null` to never use ffprobe (parse ffmpeg's output instead). */
  ffprobePath?: string | null;
  /** Both already found (a video job's, see tools.ts videoTools): used as they are, without looking again. */
  tools?: VideoTools;
}

/** The executables a video job uses, found once. */
export interface VideoTools {
  readonly ffmpeg: string;
  /** null: there is no ffprobe, and facts are parsed from ffmpeg's output. */
  readonly ffprobe: string | null;
}

/** No usable ffmpeg. The message says how to get one. */
export class FfmpegNotFoundError extends Error {
  /** The path that was tried and is missing, when one was named explicitly (FFMPEG_PATH or an option). */
  readonly triedPath?: string;

  constructor(reason: string, triedPath?: string) {
    super(
      `${reason}. backdrop needs ffmpeg for video: run \`npm install\` (it brings @ffmpeg-installer/ffmpeg), ` +
        'or install one (Debian/Ubuntu: `sudo apt install ffmpeg`; macOS: `brew install ffmpeg`; ' +
        'Windows: `winget install ffmpeg`), or set FFMPEG_PATH to an ffmpeg executable.',
    );
    this.name = 'FfmpegNotFoundError';
    this.triedPath = triedPath;
  }
}

/** Where an executable was found. */
export type ToolSource = 'option' | 'env' | 'path' | 'npm' | 'beside-ffmpeg';

export interface FoundTool {
  path: string;
  source: ToolSource;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    if (process.platform !== 'win32') accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first `name` on PATH (with PATHEXT on Windows), or null. */
export function whichSync(name: string, pathEnv: string | undefined = process.env.PATH): string | null {
  const dirs = (pathEnv ?? '').split(delimiter).filter((d) => d !== '');
  const exts = process.platform === 'win32' ? ['', ...(process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return null;
}

/** The ffmpeg binary shipped in the npm package @ffmpeg-installer/ffmpeg, or null when it is not installed. */
export function npmFfmpegPath(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@ffmpeg-installer/ffmpeg') as { path?: unknown };
    return typeof mod.path === 'string' && isExecutableFile(mod.path) ? mod.path : null;
  } catch {
    // Not installed, or no build for this platform (the package throws a string then).
    return null;
  }
}

function checkNamed(path: string, what: string, source: ToolSource): FoundTool {
  const abs = isAbsolute(path) || path.includes('/') || path.includes('\\') ? resolve(path) : whichSync(path);
  if (abs === null || !isExecutableFile(abs)) {
    throw new FfmpegNotFoundError(`${what} points to ${path}, which is not an executable file`, path);
  }
  return { path: abs, source };
}

/** Locate ffmpeg (see the module comment for the order). Throws FfmpegNotFoundError. */
export function findFfmpeg(opts: FfmpegOptions = {}): FoundTool {
  if (opts.ffmpegPath !== undefined) return checkNamed(opts.ffmpegPath, 'the ffmpeg path option', 'option');
  const env = process.env.FFMPEG_PATH;
  if (env !== undefined && env !== '') return checkNamed(env, 'FFMPEG_PATH', 'env');
  const onPath = whichSync('ffmpeg');
  if (onPath) return { path: onPath, source: 'path' };
  const npm = npmFfmpegPath();
  if (npm) return { path: npm, source: 'npm' };
  throw new FfmpegNotFoundError('ffmpeg was not found (not on PATH, FFMPEG_PATH unset, @ffmpeg-installer/ffmpeg not installed)');
}

/**
 * Locate ffprobe, or return null when there is none (callers then parse ffmpeg's output). An
 * explicit path (option or FFPROBE_PATH) that does not exist is an error, not a silent fallback.
 */
export function findFfprobe(opts: FfmpegOptions = {}): FoundTool | null {
  if (opts.ffprobePath === null) return null;
  if (opts.ffprobePath !== undefined) return checkNamed(opts.ffprobePath, 'the ffprobe path option', 'option');
  const env = process.env.FFPROBE_PATH;
  if (env !== undefined && env !== '') return checkNamed(env, 'FFPROBE_PATH', 'env');
  // An ffmpeg named explicitly wins over PATH for ffprobe too: use the ffprobe beside it if any.
  let ffmpeg: FoundTool | null = null;
  try {
    ffmpeg = findFfmpeg(opts);
  } catch {
    ffmpeg = null;
  }
  const exe = process.platform === 'win32' ? 'ffprobe.exe' : 'ffprobe';
  if (ffmpeg && ffmpeg.source !== 'path') {
    const beside = join(dirname(ffmpeg.path), exe);
    if (isExecutableFile(beside)) return { path: beside, source: 'beside-ffmpeg' };
    if (ffmpeg.source === 'option' || ffmpeg.source === 'env') return null;
  }
  const onPath = whichSync('ffprobe');
  return onPath ? { path: onPath, source: 'path' } : null;
}

/** What an ffmpeg build can do, as far as backdrop cares. */
export interface FfmpegVersion {
  path: string;
  /** The version word from `ffmpeg -version`, e.g. `5.1.9-0+deb12u1` or `N-47683-g0e8eb07980-static`. */
  version: string;
  /** Major.minor when the version is a release number; null for git builds. */
  release: { major: number; minor: number } | null;
  /** `-fps_mode` exists (ffmpeg ≥ 5.1); older builds spell it `-vsync`. */
  hasFpsMode: boolean;
}

const versionCache = new Map<string, Promise<FfmpegVersion>>();

/** Parse the output of `ffmpeg -version`. Exported for tests. */
export function parseFfmpegVersion(path: string, output: string): FfmpegVersion {
  const m = /version\s+(\S+)/.exec(output);
  const version = m ? m[1] : 'unknown';
  const rel = /^n?(\d+)\.(\d+)/.exec(version);
  const release = rel ? { major: Number(rel[1]), minor: Number(rel[2]) } : null;
  // Decide by libavcodec's version (git builds have no release number): 59.37 is ffmpeg 5.1.
  const lavc = /libavcodec\s+(\d+)\.\s*(\d+)/.exec(output);
  let hasFpsMode: boolean;
  if (lavc) hasFpsMode = Number(lavc[1]) > 59 || (Number(lavc[1]) === 59 && Number(lavc[2]) >= 37);
  else hasFpsMode = release !== null && (release.major > 5 || (release.major === 5 && release.minor >= 1));
  return { path, version, release, hasFpsMode };
}

/** Run `ffmpeg -version` once per path (cached) and report the version. */
export function ffmpegVersion(path: string): Promise<FfmpegVersion> {
  let cached = versionCache.get(path);
  if (!cached) {
    cached = new Promise<FfmpegVersion>((resolvePromise, reject) => {
      execFile(path, ['-hide_banner', '-version'], { timeout: 15_000, windowsHide: true }, (err, stdout) => {
        if (err && !stdout) {
          reject(new FfmpegNotFoundError(`${path} could not be run (${err.message.split('\n')[0]})`, path));
          return;
        }
        resolvePromise(parseFfmpegVersion(path, String(stdout)));
      });
    });
    versionCache.set(path, cached);
    cached.catch(() => versionCache.delete(path));
  }
  return cached;
}

/** The ffmpeg to use, with its version, and the ffprobe (or null). */
export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string | null;
  version: FfmpegVersion;
}

/** findFfmpeg + findFfprobe + ffmpegVersion in one call. Throws FfmpegNotFoundError. */
export async function resolveFfmpegTools(opts: FfmpegOptions = {}): Promise<FfmpegTools> {
  const ffmpeg = findFfmpeg(opts).path;
  const ffprobe = findFfprobe(opts)?.path ?? null;
  const version = await ffmpegVersion(ffmpeg);
  return { ffmpeg, ffprobe, version };
}
