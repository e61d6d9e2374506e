/**
 * Writing output files without ever damaging anything: never over an input, never over an existing
 * file unless asked (--force), and never leaving a half-written file behind. Data goes to a hidden
 * temporary file in the target folder (`.<name>.backdrop-<pid>-<random>.tmp`), is fsynced, and is
 * then renamed over the target in one step. Temporary files in flight are tracked so that Ctrl-C
 * (see removeTempFilesOnExit) leaves nothing behind either.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { link, lstat, open, realpath, rename, stat, unlink, chmod } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** A problem with an output path. `message` is one line naming the path. */
export class OutputError extends Error {
  readonly path: string;
  readonly code: 'same-as-input' | 'exists' | 'is-folder' | 'cannot-write';

  constructor(path: string, message: string, code: OutputError['code']) {
    super(message);
    this.name = 'OutputError';
    this.path = path;
    this.code = code;
  }
}

export interface SafeWriteOptions {
  /** Replace an existing output file (never an input). */
  force?: boolean;
  /** Files this output must never replace. */
  inputs?: string[];
}

/** Matches the names of our temporary files, so folder listings can skip them. */
export const TEMP_FILE_PATTERN = /^\..+\.backdrop-\d+-[0-9a-f]+\.tmp$/;

const inFlight = new Set<string>();

/** Track a temporary file so it is deleted if the process is interrupted before it is committed. */
export function trackTempFile(path: string): void {
  inFlight.add(resolve(path));
}

/** Stop tracking a temporary file (after it was renamed into place or removed). */
export function untrackTempFile(path: string): void {
  inFlight.delete(resolve(path));
}

/** The temporary files currently being written (a copy, for tests and diagnostics). */
export function tempFilesInFlight(): string[] {
  return [...inFlight];
}

/** A fresh temporary path beside `target`: `.<name>.backdrop-<pid>-<random>.tmp`. */
export function tempPathFor(target: string): string {
  const abs = resolve(target);
  return join(dirname(abs), `.${basename(abs)}.backdrop-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

async function statOrNull(path: string): Promise<import('node:fs').Stats | null> {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

/** realpath of a path that may not exist yet: realpath of the nearest existing ancestor plus the rest. */
async function realpathLoose(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await realpath(abs);
  } catch {
    const parent = dirname(abs);
    if (parent === abs) return abs;
    return join(await realpathLoose(parent), basename(abs));
  }
}

function describeWriteError(path: string, err: unknown): OutputError {
  const code = errnoCode(err);
  const dir = dirname(resolve(path));
  let reason: string;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      reason = `permission denied (is the folder ${dir} writable?)`;
      break;
    case 'EROFS':
      reason = 'the file system is read-only';
      break;
    case 'ENOENT':
      reason = `the folder ${dir} does not exist`;
      break;
    case 'ENOTDIR':
      reason = `part of the path ${dir} is a file, not a folder`;
      break;
    case 'ENOSPC':
      reason = 'no space left on the device';
      break;
    case 'EDQUOT':
      reason = 'disk quota exceeded';
      break;
    case 'EISDIR':
      reason = 'it is a folder';
      break;
    default: {
      const msg = err instanceof Error ? err.message : String(err);
      reason = msg.split('\n')[0];
    }
  }
  return new OutputError(path, `cannot write ${path}: ${reason}`, 'cannot-write');
}

/**
 * Check an output path before any work is done: it must not be one of the inputs (same real path,
 * or same device and inode — catches symlinks, hard links and `./a/../x.png` spellings), must not
 * be a folder, and must not exist unless `force`. writeFileAtomic runs the same checks again.
 */
export async function checkOutputPath(path: string, opts: SafeWriteOptions = {}): Promise<void> {
  const outReal = await realpathLoose(path);
  const outStat = await statOrNull(path);
  for (const input of opts.inputs ?? []) {
    const inStat = await statOrNull(input);
    const sameInode = outStat !== null && inStat !== null && outStat.dev === inStat.dev && outStat.ino === inStat.ino;
    if (sameInode || (await realpathLoose(input)) === outReal) {
      throw new OutputError(path, `refusing to overwrite the input ${path}`, 'same-as-input');
    }
  }
  if (outStat?.isDirectory()) throw new OutputError(path, `${path} is a folder; give a file name`, 'is-folder');
  let exists = outStat !== null;
  if (!exists) {
    // A dangling symlink also "exists": renaming over it would replace it.
    try {
      await lstat(path);
      exists = true;
    } catch {
      exists = false;
    }
  }
  if (exists && !opts.force) throw new OutputError(path, `${path} exists; use --force to overwrite`, 'exists');
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // already gone
  }
}

/**
 * Write `data` to `path` atomically (temp file in the same folder, fsync, rename). Refuses to
 * replace an input, or an existing file unless `force`. On any failure the temp file is removed and
 * an OutputError with a one-line message is thrown. Without `force` the final step is a hard link,
 * which fails if a file appeared at `path` in the meantime; file systems without hard links fall
 * back to a rename.
 */
export async function writeFileAtomic(path: string, data: Buffer | Uint8Array, opts: SafeWriteOptions = {}): Promise<void> {
  await checkOutputPath(path, opts);
  const target = resolve(path);
  const existing = await statOrNull(target);
  const tmp = tempPathFor(target);
  trackTempFile(tmp);
  let committed = false;
  try {
    const fh = await open(tmp, 'wx', 0o666);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (existing) await chmod(tmp, existing.mode & 0o7777).catch(() => undefined);
    await moveIntoPlace(tmp, path, opts.force ?? false);
    committed = true;
  } catch (err) {
    if (!committed) await removeQuietly(tmp);
    throw err instanceof OutputError ? err : describeWriteError(path, err);
  } finally {
    untrackTempFile(tmp);
  }
}

/**
 * Move a finished temporary file (tempPathFor) to `path`. Without `force` the step is a hard
 * link, which fails with OutputError('exists') if a file appeared at `path` meanwhile (file
 * systems without hard links fall back to a rename after checking again). The caller removes
 * `tmp` if this throws; once it resolves, `tmp` is gone.
 */
export async function moveIntoPlace(tmp: string, path: string, force: boolean): Promise<void> {
  const target = resolve(path);
  if (force) {
    await rename(tmp, target);
  } else {
    let linked = false;
    try {
      await link(tmp, target);
      linked = true;
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') throw new OutputError(path, `${path} exists; use --force to overwrite`, 'exists');
      // No hard links here (FAT, some network shares): check again and rename.
      if (await statOrNull(target)) throw new OutputError(path, `${path} exists; use --force to overwrite`, 'exists');
      await rename(tmp, target);
    }
    if (linked) await removeQuietly(tmp);
  }
  await syncFolder(dirname(target));
}

/** Make the rename durable; not possible on every platform (Windows), so errors are ignored. */
async function syncFolder(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort
  }
}

/** Delete every tracked temporary file now, synchronously. Returns how many were removed. */
export function removeTempFilesSync(): number {
  let removed = 0;
  for (const tmp of inFlight) {
    try {
      // A temporary output may be a folder (a PNG sequence being written).
      rmSync(tmp, { recursive: true });
      removed++;
    } catch {
      // already renamed or removed
    }
  }
  inFlight.clear();
  return removed;
}

let installed = false;

/**
 * Install (once) handlers that delete in-flight temporary files when the process is interrupted or
 * exits. On SIGINT/SIGTERM/SIGHUP with no other handler for that signal: delete them and re-raise
 * the signal with the default action so the exit status is the usual one (130 for Ctrl-C). If the
 * application has its own handler (e.g. to finish a live recording) it is left in charge.
 * On `exit` (process.exit() anywhere) the files are deleted too.
 */
export function removeTempFilesOnExit(): void {
  if (installed) return;
  installed = true;
  const signals: NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const exitCodes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  for (const signal of signals) {
    const handler = (): void => {
      // An application handler (e.g. finishing a live recording) decides what to keep; whatever is
      // still in flight when the process exits is removed by the 'exit' handler below.
      if (process.listenerCount(signal) > 1) return;
      removeTempFilesSync();
      process.removeListener(signal, handler);
      try {
        process.kill(process.pid, signal);
      } catch {
        process.exit(exitCodes[signal] ?? 1);
      }
    };
    process.on(signal, handler);
  }
  process.on('exit', () => {
    removeTempFilesSync();
  });
}
