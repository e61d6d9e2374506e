/**
 * `npm run bench -- serve [--seconds 8] [--rss-minutes 5]`: `backdrop serve` (the built dist/, as
 * users run it) under load from a second process: requests/s and p50/p99 latency of POST
 * /v1/images blurs of a 640×480 and a 1080p JPEG at 1, 4 and 16 concurrent clients; the
 * server's RSS over a sustained run; and what the server adds to `backdrop.processBuffer` in one
 * process (per-image time at one client).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createBackdrop } from '../src/node/facade.js';
import { testdata } from '../test/helpers/testdata.js';
import { median, printTable } from './table.js';

const SELFIE = 'tfjs-models/body-segmentation/test_data/portrait.jpg';
const SIZES: [string, number, number][] = [
  ['640×480', 640, 480],
  ['1080p', 1920, 1080],
];
const CLIENTS = [1, 4, 16];

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function startServe(data: string): Promise<{ url: string; proc: ChildProcess }> {
  const cli = join(import.meta.dirname, '..', 'dist', 'node', 'cli.js');
  if (!existsSync(cli)) throw new Error('dist/ is missing: run `npm run build` first');
  const proc = spawn(process.execPath, [cli, 'serve', '--port', '0', '--data', data], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.once('exit', () => reject(new Error('backdrop serve exited')));
  });
  while ((await fetch(`${url}/readyz`)).status !== 200) await new Promise((r) => setTimeout(r, 200));
  return { url, proc };
}

function load(url: string, file: string, clients: number, seconds: number): Promise<{ requests: number; failures: number; seconds: number; latencies: number[] }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'serveLoad.ts'), url, file, String(clients), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { requests: number; failures: number; seconds: number; latencies: number[] }) : reject(new Error(`load generator exited ${code}`))));
  });
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

export async function benchServe(args: string[]): Promise<void> {
  const seconds = flag(args, '--seconds', 8);
  const rssMinutes = flag(args, '--rss-minutes', 5);
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-bench-serve-'));
  try {
    const files: Record<string, string> = {};
    for (const [label, w, h] of SIZES) {
      files[label] = join(dir, `${w}x${h}.jpg`);
      await sharp(testdata(SELFIE)).resize(w, h, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(files[label]);
    }

    // In one process: the facade alone, the floor the server adds to.
    const inProcess: Record<string, number> = {};
    const backdrop = await createBackdrop({ effect: { type: 'blur', strength: 50 } });
    for (const [label] of SIZES) {
      const bytes = await readFile(files[label]);
      const times: number[] = [];
      for (let i = 0; i < 16; i++) {
        const t = performance.now();
        await backdrop.processBuffer(bytes);
        if (i > 0) times.push(performance.now() - t);
      }
      inProcess[label] = median(times);
    }
    await backdrop.close();

    const server = await startServe(join(dir, 'data'));
    try {
      const rows: (string | number)[][] = [];
      const overhead: (string | number)[][] = [];
      for (const [label] of SIZES) {
        await load(server.url, files[label], 2, 2); // warm-up
        for (const clients of CLIENTS) {
          const r = await load(server.url, files[label], clients, seconds);
          rows.push([label, clients, r.requests / r.seconds, median(r.latencies), percentile(r.latencies, 99), r.failures]);
          if (clients === 1) overhead.push([label, inProcess[label], median(r.latencies), (median(r.latencies) / inProcess[label] - 1) * 100]);
        }
      }
      printTable(`POST /v1/images, blur, raw JPEG body; ${seconds} s per row; server with --concurrency = cores`, ['photo', 'clients', 'requests/s', 'p50 ms', 'p99 ms', 'failed'], rows);
      printTable('What the server adds at one client (target ≤ 15 %)', ['photo', 'processBuffer ms (in process)', 'server p50 ms', 'added %'], overhead);

      const samples: (string | number)[][] = [];
      const total = rssMinutes * 60;
      const step = Math.max(5, Math.round(total / 12));
      for (let t = 0; t < total; t += step) {
        await load(server.url, files['640×480'], 4, step);
        samples.push([`${((t + step) / 60).toFixed(2)} min`, await rssMb(server.proc.pid!)]);
      }
      printTable(`Server RSS under 4 clients of 640×480 blurs, ${rssMinutes} min (flat after warm-up = no leak)`, ['after', 'RSS MB'], samples);
    } finally {
      server.proc.kill('SIGTERM');
      await new Promise((r) => server.proc.once('exit', r));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
