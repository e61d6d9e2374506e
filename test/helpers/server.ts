/**
 * Starts `backdrop serve` as a real process (the built dist/, as a user runs it) on a free
 * loopback port, and small helpers to talk to it over real HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './processes.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(root, 'dist/node/cli.js');

export interface TestServer {
  url: string;
  data: string;
  proc: ChildProcess;
  stderr: () => string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<number | string>;
}

export async function tempData(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-serve-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function startServer(args: string[], env: Record<string, string> = {}): Promise<TestServer> {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first');
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | string>((res) => proc.once('exit', (code, signal) => res(code ?? signal ?? -1)));
  let done = false;
  void exited.then(() => (done = true));
  await until(() => done || /listening on (http:\S+)/.test(stdout));
  const m = /listening on (http:\S+)/.exec(stdout);
  if (!m) throw new Error(`backdrop serve did not start:\n${stderr}`);
  const data = args[args.indexOf('--data') + 1];
  const server: TestServer = {
    url: m[1],
    data,
    proc,
    stderr: () => stderr,
    exited,
    stop: async () => {
      if (!done) proc.kill('SIGTERM');
      return exited;
    },
  };
  // Ready = every worker has its model loaded.
  await until(async () => (await fetch(`${server.url}/readyz`).catch(() => undefined))?.status === 200);
  return server;
}

export interface JobJson {
  id: string;
  status: string;
  kind: string;
  progress: { done: number; total: number | null; unit: string };
  attempts: number;
  error?: string;
  result?: { url: string; content_type: string; bytes: number };
  callback?: { delivered: boolean; attempts: number };
  links: { self: string; result?: string };
}

/** multipart/form-data with a file part (and fields). */
export async function form(file: string | Buffer, fields: Record<string, string> = {}, extra: Record<string, string | Buffer> = {}): Promise<FormData> {
  const fd = new FormData();
  const bytes = typeof file === 'string' ? await readFile(file) : file;
  fd.append('file', new Blob([new Uint8Array(bytes)]), 'upload.bin');
  for (const [name, value] of Object.entries(extra)) fd.append(name, new Blob([new Uint8Array(typeof value === 'string' ? await readFile(value) : value)]), '../../etc/passwd');
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  return fd;
}

export async function getJob(server: TestServer, id: string, headers: Record<string, string> = {}): Promise<JobJson> {
  const r = await fetch(`${server.url}/v1/jobs/${id}`, { headers });
  if (r.status !== 200) throw new Error(`GET job ${id}: ${r.status} ${await r.text()}`);
  return (await r.json()) as JobJson;
}

/** Polls a job until `check` holds (the test runner's timeout catches a hang). */
export async function waitForJob(server: TestServer, id: string, check: (j: JobJson) => boolean, headers: Record<string, string> = {}): Promise<JobJson> {
  let job = await getJob(server, id, headers);
  while (!check(job)) {
    await new Promise((r) => setTimeout(r, 100));
    job = await getJob(server, id, headers);
  }
  return job;
}

export const finished = (j: JobJson) => ['succeeded', 'failed', 'canceled'].includes(j.status);
