/**
 * `npm run bench -- scale [--photos 200] [--video-seconds 120] [--segment-seconds 30] [--overhead 20]`:
 * the scale-out on this machine, as users run it (the built dist/): a real redis-server,
 * `backdrop serve --redis --no-work` and 1 or 2 `backdrop worker` processes (`--concurrency 1`
 * each, files in a shared folder).
 *
 * - Photos: `--photos` jobs posted at once; throughput from the first job's creation to the last
 *   one's finish, as the jobs themselves record them.
 * - Video: one `--video-seconds` 720p job (made here from a test clip, with sound): whole on one
 *   worker, and split into `--segment-seconds` segments on one and on two workers.
 * - Queue overhead per photo job: `--overhead` jobs one after another on an idle worker; each
 *   job's enqueue → done (its created_at → finished_at) minus the processing time, which is the
 *   same photo through `backdrop.processFile` in this process (warm, median).
 * CPU is core-seconds of the worker processes (and their ffmpegs), steadier than wall time here.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBackdrop } from '../src/node/facade.js';
import { videoTools } from '../src/node/video/tools.js';
import { startRedis, redisServerBin } from '../test/helpers/redis.js';
import { testdata } from '../test/helpers/testdata.js';
import { median, printTable } from './table.js';

const PHOTO = 'tfjs-models/body-segmentation/test_data/portrait.jpg';
const CLIP = 'volcomix-virtual-background/public/videos/Thoughtful - 35590.mp4';
const CLI = join(import.meta.dirname, '..', 'dist', 'node', 'cli.js');
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

interface Job {
  id: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error?: string;
}

/** CPU time of a process and its reaped children (its ffmpegs), ms; read before it exits. */
async function treeCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return 0;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
}

/** Starts a backdrop command and waits for the line that says it is ready. */
async function start(args: string[], ready: RegExp): Promise<{ proc: ChildProcess; line: string }> {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const line = await new Promise<string>((resolve, reject) => {
    const take = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m[0]);
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
    proc.once('exit', (code) => reject(new Error(`backdrop ${args[0]} exited ${code}:\n${out}`)));
  });
  return { proc, line };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

interface Cluster {
  url: string;
  workers: ChildProcess[];
  close(): Promise<void>;
}

/** A fresh Redis, an API node and `workers` workers sharing a data folder. */
async function cluster(workers: number, segmentSeconds: number): Promise<Cluster> {
  const redis = await startRedis();
  const data = await mkdtemp(join(tmpdir(), 'backdrop-bench-scale-'));
  const api = await start(['serve', '--port', '0', '--data', data, '--redis', redis.url, '--no-work', '--queue-limit', '10000', '--max-upload', '2GB', '--segment-seconds', String(segmentSeconds)], /listening on (http:\S+)/);
  const url = /http:\S+/.exec(api.line)![0];
  const procs: ChildProcess[] = [];
  for (let i = 0; i < workers; i++) procs.push((await start(['worker', '--redis', redis.url, '--data', data, '--concurrency', '1'], /taking jobs/)).proc);
  while ((await fetch(`${url}/readyz`)).status !== 200) await sleep(100);
  return {
    url,
    workers: procs,
    close: async () => {
      for (const p of procs) await stop(p);
      await stop(api.proc);
      await redis.cleanup();
      await rm(data, { recursive: true, force: true });
    },
  };
}

async function post(url: string, file: Buffer, name: string): Promise<string> {
  const fd = new FormData();
  fd.append('file', new Blob([new Uint8Array(file)]), name);
  const r = await fetch(`${url}/v1/jobs`, { method: 'POST', body: fd });
  if (r.status !== 202) throw new Error(`POST /v1/jobs: ${r.status} ${await r.text()}`);
  return ((await r.json()) as Job).id;
}

async function waitAll(url: string, ids: string[], pollMs: number): Promise<Job[]> {
  const done = new Map<string, Job>();
  while (done.size < ids.length) {
    for (const id of ids) {
      if (done.has(id)) continue;
      const job = (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as Job;
      if (job.status === 'failed' || job.status === 'canceled') throw new Error(`job ${id} ${job.status}: ${job.error ?? ''}`);
      if (job.status === 'succeeded') done.set(id, job);
    }
    if (done.size < ids.length) await sleep(pollMs);
  }
  return ids.map((id) => done.get(id)!);
}

const ms = (iso: string | null) => Date.parse(iso!);
const span = (jobs: Job[]) => (Math.max(...jobs.map((j) => ms(j.finished_at))) - Math.min(...jobs.map((j) => ms(j.created_at)))) / 1000;

async function makeClip(seconds: number): Promise<{ file: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-bench-clip-'));
  const file = join(dir, `clip-${seconds}s-720p.mp4`);
  const { ffmpeg } = videoTools();
  // The test clip looped to the length asked for, at 720p with a sound track; x264's default GOP (keyframes every ≤ 10 s).
  await run(ffmpeg, ['-v', 'error', '-stream_loop', '-1', '-i', testdata(CLIP), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(seconds),
    '-map', '0:v', '-map', '1:a', '-vf', 'scale=1280:720', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', '-c:a', 'aac', file]);
  return { file, dir };
}

export async function benchScale(args: string[]): Promise<void> {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first');
  if (!redisServerBin) throw new Error('redis-server not found: apt-get install redis-server');
  const photos = flag(args, '--photos', 200);
  const videoSeconds = flag(args, '--video-seconds', 120);
  const segmentSeconds = flag(args, '--segment-seconds', 30);
  const overheadJobs = flag(args, '--overhead', 20);
  const photo = await readFile(testdata(PHOTO));
  if (photos > 0) {
    // Photos: throughput at 1 and 2 workers.
    const photoRows: (string | number)[][] = [];
    let oneWorker = 0;
    for (const n of [1, 2]) {
      const c = await cluster(n, segmentSeconds);
      try {
        await waitAll(c.url, [await post(c.url, photo, 'warm.jpg')], 50); // first job per worker loads nothing more, but pays the first run
        const cpu0 = await Promise.all(c.workers.map((w) => treeCpuMs(w.pid!)));
        const ids = await Promise.all(Array.from({ length: photos }, (_, i) => post(c.url, photo, `p${i}.jpg`)));
        const jobs = await waitAll(c.url, ids, 200);
        const cpu = (await Promise.all(c.workers.map((w) => treeCpuMs(w.pid!)))).reduce((s, v, i) => s + v - cpu0[i], 0);
        const perSecond = photos / span(jobs);
        if (n === 1) oneWorker = perSecond;
        photoRows.push([`${n} worker${n > 1 ? 's' : ''}`, String(photos), span(jobs).toFixed(1), perSecond.toFixed(2), n === 1 ? '1.00' : (perSecond / oneWorker).toFixed(2), (cpu / photos).toFixed(0)]);
      } finally {
        await c.close();
      }
    }
    printTable('Scale-out, photo jobs (portrait 820×1024, blur defaults), all posted at once; shared folder, each worker --concurrency 1', ['workers', 'photos', 'seconds', 'photos/s', 'vs 1 worker', 'worker CPU ms / photo'], photoRows);
  }

  if (overheadJobs > 0) {
    // Queue overhead per photo job, on an idle worker, against processFile here: the two take turns
    // (a job, then the same photo here), so the machine's load drifts alike for both.
    const backdrop = await createBackdrop();
    const dir = await mkdtemp(join(tmpdir(), 'backdrop-bench-overhead-'));
    const c = await cluster(1, segmentSeconds);
    const latency: number[] = [];
    const waited: number[] = [];
    const local: number[] = [];
    const overhead: number[] = [];
    try {
      const input = join(dir, 'in.jpg');
      await writeFile(input, photo);
      for (let i = 0; i < overheadJobs + 3; i++) {
        const [job] = await waitAll(c.url, [await post(c.url, photo, `o${i}.jpg`)], 5);
        const t = performance.now();
        await backdrop.processFile(input, join(dir, 'out.jpg'), { force: true });
        const here = performance.now() - t;
        if (i < 3) continue;
        latency.push(ms(job.finished_at) - ms(job.created_at));
        waited.push(ms(job.started_at) - ms(job.created_at));
        local.push(here);
        overhead.push(latency[latency.length - 1] - here);
      }
    } finally {
      await c.close();
      await backdrop.close();
      await rm(dir, { recursive: true, force: true });
    }
    printTable(
      'Queue overhead per photo job (target ≤ 20 ms on loopback): enqueue → done as the job records it, minus the same photo through processFile in one process right after (medians)',
      ['jobs', 'enqueue → done ms', 'of which enqueue → started', 'processFile ms', 'overhead ms'],
      [[String(overheadJobs), median(latency).toFixed(1), median(waited).toFixed(1), median(local).toFixed(1), median(overhead).toFixed(1)]],
    );
  }

  // Video: whole on one worker, split on one and two.
  if (videoSeconds > 0) {
    const clip = await makeClip(videoSeconds);
    const videoRows: (string | number)[][] = [];
    try {
      const bytes = await readFile(clip.file);
      let whole = 0;
      for (const [label, n, seconds] of [['whole, 1 worker', 1, videoSeconds * 10], [`split at ${segmentSeconds} s, 1 worker`, 1, segmentSeconds], [`split at ${segmentSeconds} s, 2 workers`, 2, segmentSeconds]] as const) {
        const v = await cluster(n, seconds);
        try {
          const cpu0 = await Promise.all(v.workers.map((w) => treeCpuMs(w.pid!)));
          const [job] = await waitAll(v.url, [await post(v.url, bytes, 'clip.mp4')], 500);
          const cpu = (await Promise.all(v.workers.map((w) => treeCpuMs(w.pid!)))).reduce((s, x, i) => s + x - cpu0[i], 0);
          const wall = (ms(job.finished_at) - ms(job.created_at)) / 1000;
          if (label.startsWith('whole')) whole = wall;
          videoRows.push([label, wall.toFixed(1), (whole / wall).toFixed(2), (cpu / 1000).toFixed(1)]);
        } finally {
          await v.close();
        }
      }
    } finally {
      await rm(clip.dir, { recursive: true, force: true });
    }
    printTable(`Scale-out, one ${videoSeconds} s 720p video job (blur defaults, sound kept): wall time from enqueue to done`, ['run', 'seconds', 'speed-up', 'worker core-s'], videoRows);
  }
}
