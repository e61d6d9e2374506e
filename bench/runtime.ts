/**
 * `npm run bench -- runtime`: onnxruntime-web's WebAssembly build in Node (what runs when npm
 * dropped onnxruntime-node) against onnxruntime-node, in one run: the model alone, a 1080p photo
 * end to end and a 720p video file with the command's defaults. Each configuration is a process of
 * its own (bench/runtimeWorker.ts); the parent alternates them round by round, so every ratio is
 * taken within a round on this shared, drifting machine, and the table shows the median.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { videoTools } from '../src/node/video/tools.js';
import { testdata } from '../test/helpers/testdata.js';
import type { Job, Reply } from './runtimeWorker.js';
import { median, printTable } from './table.js';

const SELFIE = 'tfjs-models/body-segmentation/test_data/portrait.jpg';
const VIDEO = 'volcomix-virtual-background/public/videos/Thoughtful - 35590.mp4';
const ROUNDS = 3;

interface Config {
  label: string;
  env: Record<string, string>;
  /** Only the model-alone rows (a thread count the defaults never pick on this machine). */
  inferOnly?: boolean;
}

class Worker {
  private constructor(private readonly child: ChildProcess) {}

  static start(config: Config): Promise<Worker> {
    const child = fork(fileURLToPath(new URL('./runtimeWorker.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...config.env } });
    return new Promise((resolve, reject) => {
      child.once('message', () => resolve(new Worker(child)));
      child.once('exit', (code) => reject(new Error(`bench worker ${config.label} exited with ${code}`)));
    });
  }

  do(job: Job): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.child.once('message', (m: { ok: boolean; reply?: Reply; error?: string }) => (m.ok ? resolve(m.reply!) : reject(new Error(m.error))));
      this.child.send(job);
    });
  }

  stop(): void {
    this.child.kill();
  }
}

export async function benchRuntime(): Promise<void> {
  const cores = availableParallelism();
  const configs: Config[] = [
    { label: 'onnxruntime-node (native), 1 thread', env: { BACKDROP_RUNTIME: 'native' } },
    { label: 'WebAssembly, default threads', env: { BACKDROP_RUNTIME: 'wasm' } },
    { label: 'WebAssembly, 1 thread', env: { BACKDROP_RUNTIME: 'wasm', WASM_THREADS: '1' }, inferOnly: true },
    { label: `WebAssembly, ${Math.max(2, cores)} threads`, env: { BACKDROP_RUNTIME: 'wasm', WASM_THREADS: String(Math.max(2, cores)) }, inferOnly: true },
  ];
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-bench-runtime-'));
  const workers: Worker[] = [];
  try {
    for (const c of configs) workers.push(await Worker.start(c));
    const names: string[] = [];

    // The model alone.
    const inferRows: (string | number)[][] = [];
    for (const model of ['general', 'landscape'] as const) {
      const runs: Reply[][] = configs.map(() => []);
      for (let round = 0; round < 5; round++) {
        for (const [i, w] of workers.entries()) runs[i].push(await w.do({ job: 'infer', model, runs: 40 }));
      }
      const native = median(runs[0].map((r) => r.wallMs));
      const nativeCpu = median(runs[0].map((r) => r.cpuMs));
      for (const [i, c] of configs.entries()) {
        const wall = median(runs[i].map((r) => r.wallMs));
        const cpu = median(runs[i].map((r) => r.cpuMs));
        names[i] = runs[i][0].backend ?? c.label;
        inferRows.push([model, c.label, runs[i][0].loadMs ?? 0, wall, `${(wall / native).toFixed(2)}×`, cpu, `${(cpu / nativeCpu).toFixed(2)}×`]);
      }
    }
    printTable(
      `Runtime: the model alone, ms per inference (medians of 5 rounds of 40; CPU = user+sys of all the process's threads). WebAssembly's default here: ${names[1]}`,
      ['model', 'runtime', 'load ms', 'wall ms', 'vs native', 'CPU ms', 'vs native'],
      inferRows,
    );

    // A 1080p photo and a 720p video, native against the WebAssembly default.
    const photo = join(dir, 'selfie-1080p.jpg');
    await sharp(testdata(SELFIE)).resize(1920, 1080, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(photo);
    const clip = join(dir, 'clip-720p.mp4');
    await promisify(execFile)(videoTools().ffmpeg, ['-v', 'error', '-t', '10', '-i', testdata(VIDEO), '-f', 'lavfi', '-t', '10', '-i', 'sine=frequency=440:sample_rate=48000',
      '-map', '0:v', '-map', '1:a', '-vf', 'scale=1280:720', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', '-c:a', 'aac', clip]);
    const pair = workers.slice(0, 2);
    const photoRuns: Reply[][] = [[], []];
    const videoRuns: Reply[][] = [[], []];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, w] of pair.entries()) photoRuns[i].push(await w.do({ job: 'photo', input: photo, dir, runs: 5 }));
      for (const [i, w] of pair.entries()) videoRuns[i].push(await w.do({ job: 'video', clip, output: join(dir, `out-${i}.mp4`) }));
    }
    const rows: (string | number)[][] = [];
    const ratio = (runs: Reply[][], key: 'wallMs' | 'cpuMs') => `${median(runs[1].map((r, k) => r[key] / runs[0][k][key])).toFixed(2)}×`;
    for (const [i, c] of configs.slice(0, 2).entries()) {
      const p = photoRuns[i];
      rows.push(['1080p JPEG selfie, blur (ms per photo)', c.label, median(p.map((r) => r.wallMs)), i ? ratio(photoRuns, 'wallMs') : '1.00×', median(p.map((r) => r.cpuMs)), i ? ratio(photoRuns, 'cpuMs') : '1.00×']);
    }
    for (const [i, c] of configs.slice(0, 2).entries()) {
      const v = videoRuns[i];
      const fps = median(v.map((r) => 1000 / r.wallMs));
      rows.push([`720p video, \`backdrop clip.mp4\` (${fps.toFixed(1)} fps)`, c.label, median(v.map((r) => r.wallMs)), i ? ratio(videoRuns, 'wallMs') : '1.00×', median(v.map((r) => r.cpuMs)), i ? ratio(videoRuns, 'cpuMs') : '1.00×']);
    }
    printTable(
      `Runtime end to end: ms per photo or video frame, native vs WebAssembly (medians of ${ROUNDS} alternating rounds; ratios within a round; CPU is Node's only, not ffmpeg's)`,
      ['job', 'runtime', 'wall ms', 'vs native', 'Node CPU ms', 'vs native'],
      rows,
    );
  } finally {
    for (const w of workers) w.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
