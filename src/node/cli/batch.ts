/**
 * Runs a batch of photos: finds the files, plans the outputs, loads the model once, processes
 * each file (a bad one is reported and skipped), shows progress and prints a summary.
 */
import { SingleBar } from 'cli-progress';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { now } from '../../core/clock.js';
import { listImages } from '../imageFolder.js';
import { formatFromPath, type ImageFormat } from '../imageIO.js';
import { Backdrop, type BackdropOptions } from '../photo.js';
import type { CliOptions } from './program.js';
import { planOutputs, type InputFile, type PlannedOutput } from './outputs.js';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Draw a progress bar (stderr is a terminal). */
  interactive: boolean;
  exitCode: number;
}

interface FileReport {
  input: string;
  output?: string;
  ok: boolean;
  error?: string;
  width?: number;
  height?: number;
  ms?: number;
}

export async function runBatch(
  args: string[],
  cli: CliOptions,
  options: BackdropOptions,
  target: { dir: string } | { file: string } | undefined,
  io: CliIO,
): Promise<number> {
  const started = now();
  const say = (line: string) => {
    if (!cli.quiet && !cli.json) io.stderr(line + '\n');
  };
  const reports: FileReport[] = [];
  const inputs = await collectInputs(
    args,
    cli.recursive ?? false,
    (input, error) => {
      reports.push({ input, ok: false, error });
      io.stderr(`error: ${error}\n`);
    },
    say,
  );

  const formatOf = (input: string): ImageFormat => {
    if (cli.format) return cli.format;
    if (target && 'file' in target) return formatFromPath(target.file) ?? 'png';
    const kind = options.effect?.type;
    if (kind === 'transparent' || kind === 'mask') return 'png';
    return formatFromPath(input) ?? 'png';
  };
  const plans: PlannedOutput[] = inputs.length ? planOutputs(inputs, formatOf, target) : [];
  const kind = options.effect?.type;
  if ((kind === 'transparent' || kind === 'mask') && plans.some((p) => formatOf(p.input) === 'jpeg')) {
    throw new Error(`--${kind} needs png, webp or tiff output; JPEG has no ${kind === 'mask' ? 'exact grey channel' : 'transparency'}`);
  }

  let backdrop: Backdrop | undefined;
  if (plans.length) {
    backdrop = await Backdrop.create({ ...options, onWarning: (m) => io.stderr(`warning: ${m}\n`) });
  }
  const bar =
    io.interactive && !cli.quiet && !cli.json && plans.length > 1
      ? new SingleBar({
          format: ' {bar} {value}/{total} photos | {rate}/s | ETA {eta_formatted} | {file}',
          barsize: 30,
          hideCursor: true,
          stream: { write: (s: string) => io.stderr(s), isTTY: true, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, on: () => {} } as unknown as NodeJS.WriteStream,
        })
      : undefined;
  bar?.start(plans.length, 0, { file: '', rate: '0.0' });

  for (const [i, plan] of plans.entries()) {
    backdrop!.setBackgroundIndex(i);
    try {
      if (target && 'dir' in target) await mkdir(dirname(plan.output), { recursive: true }).catch(() => undefined);
      const r = await backdrop!.processFile(plan.input, plan.output, { format: formatOf(plan.input), quality: cli.quality, force: cli.force });
      reports.push({ input: plan.input, output: plan.output, ok: true, width: r.width, height: r.height, ms: round(r.timings.total) });
      if (!bar) say(`${plan.input} -> ${plan.output} (${r.width}×${r.height}, ${Math.round(r.timings.total)} ms)`);
    } catch (e) {
      const error = (e as Error).message;
      reports.push({ input: plan.input, ok: false, error });
      if (bar) bar.stop();
      io.stderr(`error: ${error}\n`);
      if (bar) bar.start(plans.length, i + 1);
    }
    const elapsed = (now() - started) / 1000;
    bar?.update(i + 1, { file: plan.input.slice(-40), rate: ((i + 1) / elapsed).toFixed(1) });
  }
  bar?.stop();
  await backdrop?.close();

  const failed = reports.filter((r) => !r.ok);
  const written = reports.length - failed.length;
  const seconds = (now() - started) / 1000;
  if (cli.json) {
    io.stdout(
      JSON.stringify(
        { ok: failed.length === 0, written, failed: failed.length, seconds: round(seconds), model: backdrop?.model.name ?? options.model, files: reports },
        null,
        2,
      ) + '\n',
    );
  } else if (!cli.quiet) {
    if (reports.length === 0) io.stderr('No images found.\n');
    else if (reports.length > 1 || failed.length) {
      io.stderr(`${written} written, ${failed.length} failed in ${seconds.toFixed(1)} s${written > 1 ? ` (${(written / seconds).toFixed(1)} photos/s, model loaded once)` : ''}\n`);
    }
  }
  return failed.length || reports.length === 0 ? 1 : 0;
}

/** Files as given, folders expanded to their images; a missing path becomes a failed entry. */
async function collectInputs(
  args: string[],
  recursive: boolean,
  fail: (input: string, error: string) => void,
  say: (line: string) => void,
): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const arg of args) {
    const info = await stat(arg).catch(() => undefined);
    if (info?.isDirectory()) {
      const found = await listImages(arg, { recursive });
      if (found.length === 0) say(`${arg}: no images found${recursive ? '' : ' (use --recursive for sub-folders)'}`);
      files.push(...found.map((path) => ({ path, root: arg })));
    } else if (!info) {
      fail(arg, `${arg}: no such file or folder`);
    } else {
      files.push({ path: arg });
    }
  }
  return files;
}

const round = (x: number) => Math.round(x * 10) / 10;
