/**
 * Helpers for tests that stop the command with a signal, as a script or a terminal would: wait for
 * a condition (no clock: the test runner's timeout catches a hang), list a process's children and
 * tell whether a process is still alive.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Resolves once `check` is true, polling every 100 ms. */
export async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 100));
}

/** The PIDs of a process's direct children (Linux: `ps --ppid`). */
export function childPids(pid: number): Promise<number[]> {
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'pid=', '--ppid', String(pid)], (_err, stdout) => resolve(String(stdout).split(/\s+/).filter(Boolean).map(Number)));
  });
}

/** Whether a process exists and has not exited (a zombie counts as exited). */
export async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Bytes in the temporary file an output is being written to (`.<name>.backdrop-…tmp` beside it), or 0. */
export async function tempFileBytes(output: string): Promise<number> {
  const prefix = `.${basename(output)}.backdrop-`;
  const names = (await readdir(dirname(output))).filter((n) => n.startsWith(prefix) && n.endsWith('.tmp'));
  let bytes = 0;
  for (const n of names) bytes += (await stat(join(dirname(output), n)).catch(() => ({ size: 0 }))).size;
  return bytes;
}
