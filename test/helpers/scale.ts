/** Starts `backdrop worker` as a real process (the built dist/), for the scale-out tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI } from './server.js';
import { until } from './processes.js';

export interface TestWorker {
  proc: ChildProcess;
  pid: number;
  output: () => string;
  exited: Promise<number | string>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<number | string>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<number | string>;
}

export async function startWorker(args: string[], env: Record<string, string> = {}): Promise<TestWorker> {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first');
  const proc = spawn(process.execPath, [CLI, 'worker', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string>((res) => proc.once('exit', (code, signal) => res(code ?? signal ?? -1)));
  let done = false;
  void exited.then(() => (done = true));
  // The line comes once every pool thread has its model loaded and BullMQ is connected.
  await until(() => done || output.includes('backdrop worker: taking jobs'));
  if (done) throw new Error(`backdrop worker did not start:\n${output}`);
  const signal = (s: NodeJS.Signals) => async () => {
    if (!done) proc.kill(s);
    return exited;
  };
  return { proc, pid: proc.pid!, output: () => output, exited, stop: signal('SIGTERM'), kill: signal('SIGKILL') };
}

/** Names in a folder, temporary files included (sorted; [] when it is gone). */
export async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

/** Every file under a folder, as relative paths. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory()) out.push(...(await filesUnder(join(dir, entry.name))).map((f) => join(entry.name, f)));
    else out.push(entry.name);
  }
  return out;
}
