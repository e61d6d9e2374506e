/**
 * What `backdrop doctor` checks: the inference runtime in use (native or WebAssembly, and why),
 * the model files, ffmpeg (where, which version, which of backdrop's encoders) and Chromium. Each
 * check that finds something missing or slow carries the one command that fixes it.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { builtinSpec, type BuiltinModel } from '../core/modelSpec.js';
import { builtinModelPath, builtinOnnx } from './models.js';
import { installPlace, nativeRuntimeFix } from './nativeRuntimeFix.js';
import { packageRoot } from './packageRoot.js';
import { packageVersion } from './cli/version.js';
import { fallbackReason, nativeRuntimeStatus, onnxNodeBackend, onnxWasmBackend, runtimeChoice, RUNTIME_ENV, WASM_SLOWDOWN } from './onnxBackend.js';
import { ffmpegVersion, findFfmpeg, findFfprobe, FfmpegNotFoundError, whichSync } from './video/ffmpegPath.js';

const run = promisify(execFile);

/** ok: as good as it gets; slow/limited: works, with less; missing: a feature cannot work; optional: not needed to use backdrop. */
export type CheckStatus = 'ok' | 'slow' | 'limited' | 'missing' | 'optional';

export interface Check {
  name: 'runtime' | 'models' | 'ffmpeg' | 'chromium';
  status: CheckStatus;
  detail: string;
  /** The one command that fixes it. */
  fix?: string;
}

/** The encoders backdrop's --codec choices use (src/node/video/sink.ts). */
export const VIDEO_ENCODERS: Record<string, string> = { h264: 'libx264', h265: 'libx265', vp9: 'libvpx-vp9', prores: 'prores_ks' };

export async function runDoctor(): Promise<Check[]> {
  const models = checkModels();
  return [await checkRuntime(models.status === 'ok'), models, await checkFfmpeg(), await checkChromium()];
}

/** The runtime backdrop would pick, proven by running the general model on it. */
export async function checkRuntime(modelsOk: boolean): Promise<Check> {
  let choice;
  try {
    choice = runtimeChoice();
  } catch (e) {
    return { name: 'runtime', status: 'missing', detail: (e as Error).message, fix: `unset ${RUNTIME_ENV}` };
  }
  const native = await nativeRuntimeStatus();
  const useNative = choice === 'native' || (choice === 'auto' && native.ok);
  if (useNative && !native.ok) {
    return { name: 'runtime', status: 'missing', detail: `${RUNTIME_ENV}=native, but ${native.reason}`, fix: nativeRuntimeFix() };
  }
  const backend = useNative ? onnxNodeBackend() : onnxWasmBackend();
  const speed = modelsOk ? await timeModel(backend).catch((e: Error) => e) : undefined;
  if (speed instanceof Error) return { name: 'runtime', status: 'missing', detail: `${backend.name} cannot run the model: ${speed.message}` };
  const runs = speed === undefined ? '' : `: the general model runs in ${speed.toFixed(1)} ms`;
  if (native.ok && useNative) return { name: 'runtime', status: 'ok', detail: `onnxruntime-node ${native.version} (native, CPU)${runs}` };
  const web = wasmVersion();
  const why = choice === 'wasm' || native.ok ? `because ${RUNTIME_ENV}=wasm` : `because ${fallbackReason(native)}`;
  const fix = choice === 'wasm' ? (native.ok ? `unset ${RUNTIME_ENV}` : nativeRuntimeFix()) : nativeRuntimeFix();
  return { name: 'runtime', status: 'slow', detail: `${backend.name}, onnxruntime-web ${web}${runs}, ${why}; ${WASM_SLOWDOWN} than onnxruntime-node`, fix };
}

/** Median ms of a few runs of the general model (after one warm-up). */
async function timeModel(backend: ReturnType<typeof onnxNodeBackend>): Promise<number> {
  const spec = builtinSpec('general');
  const session = await backend.createSession(await builtinOnnx('general'));
  try {
    const input = new Float32Array(spec.inputWidth * spec.inputHeight * 3).fill(0.5);
    const dims = [1, spec.inputHeight, spec.inputWidth, 3];
    const ms: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      await session.run(input, dims);
      if (i > 0) ms.push(performance.now() - t0);
    }
    return ms.sort((a, b) => a - b)[ms.length >> 1];
  } finally {
    await session.release();
  }
}

function wasmVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve('onnxruntime-web');
    return (JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '(version unknown)';
  }
}

/** What reinstalls backdrop's own dependencies where it is installed. */
function reinstallFix(): string {
  const place = installPlace();
  if (place.kind === 'global') return 'npm install -g selfie-backdrop';
  return place.dir === process.cwd() ? 'npm install' : `cd ${place.dir} && npm install`;
}

export function checkModels(): Check {
  const found: string[] = [];
  const missing: string[] = [];
  for (const model of ['general', 'landscape'] as BuiltinModel[]) {
    let path: string | undefined;
    try {
      path = builtinModelPath(model);
    } catch {
      path = undefined;
    }
    if (path && existsSync(path)) found.push(`${model} ${(statSync(path).size / 2 ** 20).toFixed(2)} MB`);
    else missing.push(model);
  }
  if (missing.length) {
    return { name: 'models', status: 'missing', detail: `@mediapipe/selfie_segmentation is not installed (no ${missing.join(', ')} model)`, fix: reinstallFix() };
  }
  const dir = dirname(builtinModelPath('general'));
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return { name: 'models', status: 'ok', detail: `${found.join(', ')} from @mediapipe/selfie_segmentation ${version} (${dir})` };
}

/** One command per platform that installs an ffmpeg with every encoder backdrop uses. */
export function ffmpegInstallCommand(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'brew install ffmpeg';
  if (platform === 'win32') return 'winget install ffmpeg';
  return 'sudo apt install ffmpeg';
}

const SOURCES: Record<string, string> = { env: 'FFMPEG_PATH', path: 'on PATH', npm: 'from @ffmpeg-installer/ffmpeg', option: 'given', 'beside-ffmpeg': 'beside ffmpeg' };

export async function checkFfmpeg(): Promise<Check> {
  let found;
  try {
    found = findFfmpeg();
  } catch (e) {
    const fix = e instanceof FfmpegNotFoundError && e.triedPath ? 'unset FFMPEG_PATH' : ffmpegInstallCommand();
    return { name: 'ffmpeg', status: 'missing', detail: `no ffmpeg, so no video or cameras: ${(e as Error).message.split('. ')[0]}`, fix };
  }
  let version;
  try {
    version = await ffmpegVersion(found.path);
  } catch (e) {
    return { name: 'ffmpeg', status: 'missing', detail: (e as Error).message.split('. ')[0], fix: found.source === 'env' ? 'unset FFMPEG_PATH' : ffmpegInstallCommand() };
  }
  const { stdout } = await run(found.path, ['-hide_banner', '-encoders'], { timeout: 15_000, maxBuffer: 8 * 2 ** 20 }).catch(() => ({ stdout: '' }));
  const names = new Set(String(stdout).split('\n').map((line) => line.trim().split(/\s+/)[1]));
  const have = Object.entries(VIDEO_ENCODERS).filter(([, encoder]) => names.has(encoder));
  const lacking = Object.entries(VIDEO_ENCODERS).filter(([, encoder]) => !names.has(encoder));
  const ffprobe = (() => {
    try {
      return findFfprobe()?.path;
    } catch {
      return undefined;
    }
  })();
  const detail =
    `${version.version} at ${found.path} (${SOURCES[found.source] ?? found.source}); encoders: ${have.map(([c, e]) => `${c} ${e}`).join(', ') || 'none of backdrop\'s'}` +
    (lacking.length ? `; missing: ${lacking.map(([c, e]) => `${c} (${e})`).join(', ')}` : '') +
    `; ffprobe: ${ffprobe ?? 'none (stream facts are read from ffmpeg\'s own output)'}`;
  if (!lacking.length) return { name: 'ffmpeg', status: 'ok', detail };
  return { name: 'ffmpeg', status: lacking.some(([c]) => c === 'h264') ? 'missing' : 'limited', detail, fix: ffmpegInstallCommand() };
}

/** Chromium, which only a checkout's browser tests and `npm run bench:web` use. */
export async function checkChromium(): Promise<Check> {
  const env = process.env.CHROMIUM_PATH;
  const path = env && existsSync(env) ? env : ['/usr/bin/chromium', ...['chromium', 'chromium-browser', 'google-chrome'].map((n) => whichSync(n))].find((p): p is string => !!p && existsSync(p));
  const use = 'only the browser tests and `npm run bench:web` of a checkout use it';
  if (!path) return { name: 'chromium', status: 'optional', detail: `not found (${use})`, fix: process.platform === 'linux' ? 'sudo apt install chromium' : undefined };
  const { stdout } = await run(path, ['--version'], { timeout: 15_000 }).catch(() => ({ stdout: '' }));
  const version = /[\d.]{5,}/.exec(String(stdout))?.[0];
  return { name: 'chromium', status: 'ok', detail: `${version ? `Chromium ${version}` : 'a Chromium'} at ${path} (${use})` };
}

/** backdrop's own version and where it runs from, for the first line. */
export function about(): { version: string; root: string } {
  return { version: packageVersion(), root: packageRoot() };
}
