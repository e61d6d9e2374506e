/**
 * Runs a batch: finds the files, plans the outputs, loads the model once, then processes photos
 * and videos in turn (a bad file is reported and skipped), shows progress and prints a summary.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { now } from '../../core/clock.js';
import { listFiles } from '../imageFolder.js';
import { DEFAULT_MAX_PIXELS, formatFromPath, isImagePath, type ImageFormat } from '../imageIO.js';
import { Backdrop, type BackdropOptions } from '../facade.js';
import type { CliOptions } from '../options/cliOptions.js';
import type { CliIO } from './io.js';
import { extensionFor, isPhotoInput, isVideoPath, planOutputs, type InputFile, type PlannedOutput, type Target } from './outputs.js';
import { progressBar } from './progress.js';
import { processVideoFile, videoExtension } from './video.js';
import { Interrupted, interruptedExitCode } from '../interrupt.js';
import { preflight } from './preflight.js';

export interface FileReport {
  input: string;
  output?: string;
  ok: boolean;
  error?: string;
  width?: number;
  height?: number;
  frames?: number;
  ms?: number;
}

export async function runBatch(args: string[], cli: CliOptions, options: BackdropOptions, target: Target, io: CliIO): Promise<number> {
  const started = now();
  const say = (line: string) => {
    if (!cli.quiet && !cli.json) io.stderr(line + '\n');
  };
  const reports: FileReport[] = [];
  const fail = (input: string, error: string) => {
    reports.push({ input, ok: false, error });
    io.stderr(`error: ${error}\n`);
  };
  const { files: inputs, empty } = await collectInputs(args, cli.recursive ?? false, fail);
  // An empty folder is an error when it leaves nothing to do (even with -q), else a note.
  for (const line of empty) {
    if (inputs.length === 0) io.stderr(`error: ${line}\n`);
    else say(line);
  }
  const kind = options.effect?.type;

  const formatOf = (input: string): ImageFormat => {
    if (cli.format) return cli.format;
    if (target && 'file' in target) return formatFromPath(target.file) ?? 'png';
    if (kind === 'transparent' || kind === 'mask') return 'png';
    return formatFromPath(input) ?? 'png';
  };
  const extensionOf = (input: string) => (isPhotoInput(input) ? extensionFor(formatOf(input)) : videoExtension(cli, target));
  // Everything that needs no model is checked before it loads.
  const plans = await preflight(inputs.length ? planOutputs(inputs, extensionOf, target) : [], { force: cli.force, maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS }, fail);
  const photos = plans.filter((p) => isPhotoInput(p.input));
  const videos = plans.filter((p) => !isPhotoInput(p.input));
  if ((kind === 'transparent' || kind === 'mask') && photos.some((p) => formatOf(p.input) === 'jpeg')) {
    throw new Error(`--${kind} needs png, webp or tiff output; JPEG has no ${kind === 'mask' ? 'exact grey channel' : 'transparency'}`);
  }

  // -q: errors only, so no warnings either (the WebAssembly fallback's, a skipped background).
  const warn = (m: string) => (cli.quiet ? undefined : io.stderr(`warning: ${m}\n`));
  const backdrop = plans.length ? await Backdrop.create({ ...options, onWarning: warn }) : undefined;
  try {
    if (backdrop && photos.length) await runPhotos(photos, backdrop, cli, formatOf, target, io, reports, say);
    for (const plan of videos) {
      if (io.signal?.aborted) break;
      await mkdir(dirname(plan.output), { recursive: true }).catch(() => undefined);
      try {
        const r = await processVideoFile(plan, backdrop!, cli, io);
        reports.push({ input: plan.input, output: plan.output, ok: true, width: r.width, height: r.height, frames: r.frames, ms: round(r.seconds * 1000) });
        say(`${plan.input} -> ${plan.output} (${r.width}×${r.height}, ${r.frames} frames at ${r.fps.toFixed(1)} fps)`);
      } catch (e) {
        if (io.signal?.aborted) break;
        fail(plan.input, (e as Error).message);
      }
    }
  } finally {
    await backdrop?.close();
  }
  if (io.signal?.aborted) {
    const reason: unknown = io.signal.reason;
    io.stderr(`Interrupted${reason instanceof Interrupted ? ` (${reason.signalName})` : ''}: unfinished outputs were removed.\n`);
    return interruptedExitCode(io.signal);
  }

  const failed = reports.filter((r) => !r.ok);
  const written = reports.length - failed.length;
  const seconds = (now() - started) / 1000;
  if (cli.json) {
    const summary = { ok: failed.length === 0, written, failed: failed.length, seconds: round(seconds), model: backdrop?.model.name ?? options.model, files: reports };
    io.stdout(JSON.stringify(summary, null, 2) + '\n');
  } else if (!cli.quiet) {
    if (reports.length === 0 && empty.length === 0) io.stderr('No images or videos found.\n');
    else if (reports.length > 1 || failed.length) {
      const rate = photos.length > 1 && written > 1 ? ` (${(written / seconds).toFixed(1)} files/s, model loaded once)` : '';
      io.stderr(`${written} written, ${failed.length} failed in ${seconds.toFixed(1)} s${rate}\n`);
    }
  }
  return failed.length || reports.length === 0 ? 1 : 0;
}

async function runPhotos(
  plans: PlannedOutput[],
  backdrop: Backdrop,
  cli: CliOptions,
  formatOf: (input: string) => ImageFormat,
  target: Target,
  io: CliIO,
  reports: FileReport[],
  say: (line: string) => void,
): Promise<void> {
  const started = now();
  const bar = io.interactive && !cli.quiet && !cli.json && plans.length > 1 ? progressBar(io, ' {bar} {value}/{total} photos | {rate}/s | ETA {eta_formatted} | {file}') : undefined;
  bar?.start(plans.length, 0, { file: '', rate: '0.0' });
  for (const [i, plan] of plans.entries()) {
    if (io.signal?.aborted) break;
    backdrop.setBackgroundIndex(i);
    try {
      // -o makes the folders it needs, for a file as for a folder.
      await mkdir(dirname(plan.output), { recursive: true }).catch(() => undefined);
      const r = await backdrop.processFile(plan.input, plan.output, { format: formatOf(plan.input), quality: cli.quality, force: cli.force });
      reports.push({ input: plan.input, output: plan.output, ok: true, width: r.width, height: r.height, ms: round(r.timings.total) });
      if (!bar) say(`${plan.input} -> ${plan.output} (${r.width}×${r.height}, ${Math.round(r.timings.total)} ms)`);
    } catch (e) {
      const error = (e as Error).message;
      reports.push({ input: plan.input, ok: false, error });
      bar?.stop();
      io.stderr(`error: ${error}\n`);
      bar?.start(plans.length, i + 1);
    }
    bar?.update(i + 1, { file: plan.input.slice(-40), rate: ((i + 1) / ((now() - started) / 1000)).toFixed(1) });
  }
  bar?.stop();
}

const isMedia = (name: string) => isImagePath(name) || isVideoPath(name);

/**
 * Files as given, folders expanded to their images and videos; a missing path becomes a failed
 * entry; a folder with nothing to process, one line saying so (and, only when its sub-folders
 * have something, that --recursive finds it).
 */
async function collectInputs(args: string[], recursive: boolean, fail: (input: string, error: string) => void): Promise<{ files: InputFile[]; empty: string[] }> {
  const files: InputFile[] = [];
  const empty: string[] = [];
  for (const arg of args) {
    const info = await stat(arg).catch(() => undefined);
    if (info?.isDirectory()) {
      const found = await listFiles(arg, { recursive, accept: isMedia });
      if (found.length === 0) {
        const deeper = recursive ? 0 : (await listFiles(arg, { recursive: true, accept: isMedia })).length;
        empty.push(`${arg}: no images or videos found${deeper ? `; its sub-folders have ${deeper}: add --recursive` : ''}`);
      }
      files.push(...found.map((path) => ({ path, root: arg })));
    } else if (!info) {
      fail(arg, `${arg}: no such file or folder`);
    } else {
      files.push({ path: arg });
    }
  }
  return { files, empty };
}

export const round = (x: number) => Math.round(x * 10) / 10;
