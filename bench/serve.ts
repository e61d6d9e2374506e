/**
 * `npm run bench -- serve [--seconds 8] [--rss-minutes 5] [--rounds 5] [--per-round 10]`:
 * `backdrop serve` (the built dist/, as users run it): what the server adds to
 * `backdrop.processBuffer` in one process (time and CPU per photo at one client, alternated round
 * by round); requests/s and p50/p99 latency of POST /v1/images blurs of a 640×480 and a 1080p JPEG
 * at 1, 4 and 16 concurrent clients from a second process; the server's RSS over a sustained run
 * (`--seconds 0` and `--rss-minutes 0` skip the last two).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createBackdrop } from '../src/node/facade.js';
import { DEFAULT_MAX_PIXELS } from '../src/node/imageIO.js';
import { toBackdropOptions } from '../src/node/options/backdropOptions.js';
import { cliOptionsFromFields } from '../src/node/options/fields.js';
import { photoFormat } from '../src/node/server/requestOptions.js';
import { processCpuMs } from './cpu.js';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (ratio: number) => (ratio - 1) * 100;
const spread = (ratios: number[]) => `${pct(median(ratios)).toFixed(1)} [${pct(Math.min(...ratios)).toFixed(0)}, ${pct(Math.max(...ratios)).toFixed(0)}]`;

/**
 * What the server adds to one photo at one client, measured so that a shared machine's changing
 * load falls on both sides alike: in each round, `perRound` times a photo through `processBuffer` in
 * this process (the CLI's options for `blur=50`, the server's output format and quality), then the
 * same photo over HTTP. Per round: the ratio of the median times, and of the CPU
 * per photo (this process's, against the server process's from /proc, all its threads); the
 * client's CPU is shown apart (it is not the server's, but it is in the HTTP time).
 */
async function compareAtOneClient(url: string, pid: number, label: string, bytes: Buffer, rounds: number, perRound: number): Promise<(string | number)[]> {
  const cli = cliOptionsFromFields({ blur: '50' }, { video: false, maxPixels: DEFAULT_MAX_PIXELS });
  const encode = { format: photoFormat(cli, 'jpeg', false), quality: cli.quality };
  const backdrop = await createBackdrop(toBackdropOptions(cli));
  const viaServer = async () => {
    const r = await fetch(`${url}/v1/images?blur=50`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: new Uint8Array(bytes) });
    const out = await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`POST /v1/images answered ${r.status}: ${Buffer.from(out).toString()}`);
  };
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  try {
    for (let i = 0; i < 3; i++) {
      await backdrop.processBuffer(bytes, encode);
      await viaServer();
    }
    const r = { local: [] as number[], served: [] as number[], localCpu: [] as number[], servedCpu: [] as number[], clientCpu: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      // Photo by photo in turn, so a burst of load elsewhere hits both sides of a round alike.
      const local: number[] = [];
      const served: number[] = [];
      let localCpu = 0;
      let clientCpu = 0;
      const server0 = processCpuMs(pid);
      for (let i = 0; i < perRound; i++) {
        let cpu0 = process.cpuUsage();
        let t = performance.now();
        await backdrop.processBuffer(bytes, encode);
        local.push(performance.now() - t);
        localCpu += cpuMs(process.cpuUsage(cpu0));
        cpu0 = process.cpuUsage();
        t = performance.now();
        await viaServer();
        served.push(performance.now() - t);
        clientCpu += cpuMs(process.cpuUsage(cpu0));
      }
      await sleep(100); // the last request's folder is removed after the answer
      // The server idles while this process works, so its CPU over the round is the photos'.
      r.servedCpu.push((processCpuMs(pid) - server0) / perRound);
      r.local.push(median(local));
      r.served.push(median(served));
      r.localCpu.push(localCpu / perRound);
      r.clientCpu.push(clientCpu / perRound);
    }
    const ratios = r.served.map((t, i) => t / r.local[i]);
    const cpuRatios = r.servedCpu.map((t, i) => t / r.localCpu[i]);
    return [label, median(r.local), median(r.served), spread(ratios), median(r.localCpu), median(r.servedCpu), spread(cpuRatios), median(r.clientCpu)];
  } finally {
    await backdrop.close();
  }
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den > 0 ? num / den : 0;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

export async function benchServe(args: string[]): Promise<void> {
  const seconds = flag(args, '--seconds', 8);
  const rssMinutes = flag(args, '--rss-minutes', 5);
  const rounds = flag(args, '--rounds', 5);
  const perRound = flag(args, '--per-round', 10);
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-bench-serve-'));
  try {
    const files: Record<string, string> = {};
    for (const [label, w, h] of SIZES) {
      files[label] = join(dir, `${w}x${h}.jpg`);
      await sharp(testdata(SELFIE)).resize(w, h, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(files[label]);
    }

    const server = await startServe(join(dir, 'data'));
    try {
      const overhead: (string | number)[][] = [];
      for (const [label] of SIZES) overhead.push(await compareAtOneClient(server.url, server.proc.pid!, label, await readFile(files[label]), rounds, perRound));
      printTable(
        `What the server adds at one client (target ≤ 15 %): ${rounds} rounds of ${perRound} photos, each in process (processBuffer) then over HTTP in turn; median of the rounds' ratios [lowest, highest]`,
        ['photo', 'in process ms', 'server ms', 'added time %', 'in process CPU ms', 'server CPU ms', 'added CPU %', 'client CPU ms'],
        overhead,
      );

      const rows: (string | number)[][] = [];
      for (const [label] of seconds > 0 ? SIZES : []) {
        await load(server.url, files[label], 2, 2); // warm-up
        for (const clients of CLIENTS) {
          const r = await load(server.url, files[label], clients, seconds);
          rows.push([label, clients, r.requests / r.seconds, median(r.latencies), percentile(r.latencies, 99), r.failures]);
        }
      }
      if (rows.length) printTable(`POST /v1/images, blur, raw JPEG body; ${seconds} s per row; server with --concurrency = cores`, ['photo', 'clients', 'requests/s', 'p50 ms', 'p99 ms', 'failed'], rows);

      if (rssMinutes > 0) {
        const samples: [number, number][] = [];
        const total = rssMinutes * 60;
        const step = Math.max(5, Math.round(total / 20));
        for (let t = 0; t < total; t += step) {
          await load(server.url, files['640×480'], 4, step);
          samples.push([(t + step) / 60, await rssMb(server.proc.pid!)]);
        }
        printTable(`Server RSS under 4 clients of 640×480 blurs, ${rssMinutes} min (flat after warm-up = no leak)`, ['after', 'RSS MB'], samples.map(([m, mb]) => [`${m.toFixed(2)} min`, mb]));
        // Warm-up: the first fifth of the run (allocators and caches settle).
        const settled = samples.slice(Math.ceil(samples.length / 5));
        const mbs = settled.map(([, mb]) => mb);
        console.log(
          `after warm-up (from ${settled[0][0].toFixed(2)} min): RSS ${Math.min(...mbs).toFixed(1)}–${Math.max(...mbs).toFixed(1)} MB, slope ${slope(
            settled.map(([m]) => m),
            mbs,
          ).toFixed(2)} MB/min`,
        );
      }
    } finally {
      server.proc.kill('SIGTERM');
      await new Promise((r) => server.proc.once('exit', r));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
