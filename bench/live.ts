/**
 * Live memory: a long live session (blur, landscape model) on a synthetic camera — a clip from
 * ../shared played in a loop in real time (`-re -stream_loop -1 -i camera.y4m`) — into the preview
 * server, with a client reading its MJPEG stream, and into an H.264 file in a temporary folder.
 * RSS and heap are sampled every 10 s; the table has one row a minute, then RSS growth from
 * minute 1 to the end (a live session must not grow). CPU is counted per processed frame (core-ms,
 * user + system): the main thread's (where the effect runs, so what bounds the frame rate), the
 * whole Node process's and the ffmpegs' (camera and encoders); at 30 fps two cores give 66.7.
 *
 * `npm run bench -- live [--minutes 10] [--size 1280x720] [--no-file] [--roi off] [--gc] [--heap-snapshots DIR]`
 * (`--no-file`: the preview only; `--roi off`: without ROI zoom, to see what it costs; `--gc`:
 * a full garbage collection before each sample, so the
 * figures show what is still referenced rather than where the collector happened to be.)
 */
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startLive } from '../src/node/live/runLive.js';
import { ROI_MODES, type RoiMode } from '../src/core/roi.js';
import { createBackdrop } from '../src/node/facade.js';
import { loopingInputArgs, makeY4m, openMjpeg } from '../test/helpers/live.js';
import { mainThreadCpuMs, processCpuMs } from './cpu.js';
import { printTable } from './table.js';

const SOURCE = 'volcomix-virtual-background/public/videos/Thoughtful - 35590.mp4';
const SAMPLE_MS = 10_000;
const MB = 2 ** 20;

interface LiveBenchOptions {
  minutes: number;
  size: string;
  /** Record to a file besides the preview (default true). */
  file: boolean;
  /** ROI zoom (default auto, as the CLI). */
  roi: RoiMode;
  /** Collect garbage before each sample. */
  gc: boolean;
  /** Write a heap snapshot here after minute 1 and at the end. */
  heapSnapshots?: string;
}

function parseArgs(argv: string[]): LiveBenchOptions {
  const opts: LiveBenchOptions = { minutes: 10, size: '1280x720', file: true, roi: 'auto', gc: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--minutes') opts.minutes = Number(value());
    else if (flag === '--size') opts.size = value();
    else if (flag === '--no-file') opts.file = false;
    else if (flag === '--roi') opts.roi = value() as RoiMode;
    else if (flag === '--gc') opts.gc = true;
    else if (flag === '--heap-snapshots') opts.heapSnapshots = value();
    else throw new Error(`bench live: unknown option ${argv[i]} (use --minutes N, --size WxH, --no-file, --roi auto|off, --gc, --heap-snapshots DIR)`);
  }
  if (!ROI_MODES.includes(opts.roi)) throw new Error('--roi must be auto or off');
  if (!(opts.minutes > 0)) throw new Error('--minutes must be a positive number');
  if (!/^\d+x\d+$/.test(opts.size)) throw new Error('--size must look like 1280x720');
  return opts;
}

/** The collector, without starting node with --expose-gc. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Resident memory and CPU time so far of this process's child processes (the ffmpegs), Linux only; null elsewhere. */
async function children(): Promise<{ rss: number; cpuMs: number } | null> {
  try {
    const tasks = await readdir(`/proc/${process.pid}/task`);
    let rss = 0;
    let cpuMs = 0;
    for (const t of tasks) {
      const kids = (await readFile(`/proc/${process.pid}/task/${t}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean);
      for (const pid of kids) {
        const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        const m = /VmRSS:\s+(\d+) kB/.exec(status);
        if (m) rss += Number(m[1]) * 1024;
        cpuMs += processCpuMs(Number(pid));
      }
    }
    return { rss, cpuMs };
  } catch {
    return null;
  }
}

interface Sample {
  /** Minutes since the session started. */
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  children: number | null;
  /** CPU so far, ms: the main thread, the whole process, the ffmpegs (null when unknown). */
  mainCpu: number;
  nodeCpu: number;
  ffmpegCpu: number | null;
  frames: number;
  dropped: number;
  previewFrames: number;
}

/** Least-squares slope of y over x, with its standard error. */
function fitSlope(xs: number[], ys: number[]): { slope: number; se: number } {
  const n = xs.length;
  if (n < 3) return { slope: 0, se: Infinity };
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  if (sxx === 0) return { slope: 0, se: Infinity };
  const slope = sxy / sxx;
  let rss = 0;
  for (let i = 0; i < n; i++) rss += (ys[i] - my - slope * (xs[i] - mx)) ** 2;
  return { slope, se: Math.sqrt(rss / (n - 2) / sxx) };
}

const signed = (x: number, digits: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

export async function benchLive(argv: string[] = []): Promise<void> {
  const opts = parseArgs(argv);
  const gc = opts.gc ? exposeGc() : null;
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-bench-live-'));
  try {
    // 4 s of the clip, 30 fps (the clip is 29.97: one frame repeated).
    const camera = await makeY4m(dir, SOURCE, { seconds: 4, size: opts.size, rate: 30 });
    const recording = join(dir, 'live.mp4');
    const backdrop = await createBackdrop({ effect: { type: 'blur', strength: 50 }, model: 'landscape', roi: opts.roi });
    const session = await startLive({
      input: { args: loopingInputArgs(camera), name: `looping ${opts.size} camera` },
      backdrop,
      outputs: { preview: true, file: opts.file ? recording : undefined },
    });
    console.log(
      `\nlive: ${session.width}×${session.height} at ${(session.frameRate.num / session.frameRate.den).toFixed(2)} fps, blur 50, landscape model, ` +
        `preview ${session.previewUrl} with one MJPEG client${opts.file ? ', H.264 file' : ''}; ${opts.minutes} min, sampled every ${SAMPLE_MS / 1000} s${gc ? ' after a full GC' : ''}`,
    );

    // The preview client: reads every part it is sent until the session ends.
    const stream = await openMjpeg(new URL('stream.mjpg', session.previewUrl).href);
    let previewFrames = 0;
    const client = (async () => {
      while (await stream.next()) previewFrames++;
    })();

    const start = performance.now();
    const samples: Sample[] = [];
    const sample = async (): Promise<Sample> => {
      gc?.();
      const m = process.memoryUsage();
      const s = session.stats();
      const kids = await children();
      const cpu = process.cpuUsage();
      const x: Sample = {
        t: (performance.now() - start) / 60_000,
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        children: kids?.rss ?? null,
        mainCpu: mainThreadCpuMs(),
        nodeCpu: (cpu.user + cpu.system) / 1000,
        ffmpegCpu: kids?.cpuMs ?? null,
        frames: s.frames,
        dropped: s.dropped,
        previewFrames,
      };
      samples.push(x);
      return x;
    };
    await sample();
    let snapshotted = false;
    const endAt = start + opts.minutes * 60_000;
    let failed: unknown = null;
    void session.done.catch((e: unknown) => (failed = e));
    while (performance.now() < endAt && failed === null) {
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, endAt - performance.now())));
      const s = await sample();
      if (opts.heapSnapshots && !snapshotted && s.t >= 1) {
        snapshotted = true;
        console.log(`heap snapshot: ${writeHeapSnapshot(join(opts.heapSnapshots, 'live-minute1.heapsnapshot'))}`);
      }
    }
    if (opts.heapSnapshots) console.log(`heap snapshot: ${writeHeapSnapshot(join(opts.heapSnapshots, 'live-end.heapsnapshot'))}`);
    session.stop();
    const summary = await session.done;
    await stream.close();
    await client;
    await backdrop.close();
    const fileMb = opts.file ? (await stat(recording)).size / MB : 0;

    // One row a minute: memory at the end of the minute; fps and drops over the minute.
    const rows: (string | number)[][] = [];
    const at = (minute: number): Sample => samples.reduce((best, s) => (Math.abs(s.t - minute) < Math.abs(best.t - minute) ? s : best));
    const minutes = Math.ceil(opts.minutes - 1e-9);
    let prev = samples[0];
    for (let minute = 1; minute <= minutes; minute++) {
      const s = minute === minutes ? samples[samples.length - 1] : at(minute);
      const dtSec = (s.t - prev.t) * 60;
      const during = samples.filter((x) => x.t > prev.t && x.t <= s.t);
      const frames = s.frames - prev.frames;
      const perFrame = (ms: number): string => (frames > 0 ? (ms / frames).toFixed(1) : '—');
      rows.push([
        String(minute),
        s.rss / MB,
        Math.max(s.rss, ...during.map((x) => x.rss)) / MB,
        s.heapUsed / MB,
        s.arrayBuffers / MB,
        s.children === null ? '—' : (s.children / MB).toFixed(1),
        dtSec > 0 ? (s.frames - prev.frames) / dtSec : 0,
        String(s.dropped - prev.dropped),
        dtSec > 0 ? (s.previewFrames - prev.previewFrames) / dtSec : 0,
        perFrame(s.mainCpu - prev.mainCpu),
        perFrame(s.nodeCpu - prev.nodeCpu),
        // A child's counter restarts if ffmpeg is restarted; a minute with that shows '—'.
        s.ffmpegCpu === null || prev.ffmpegCpu === null || s.ffmpegCpu < prev.ffmpegCpu ? '—' : perFrame(s.ffmpegCpu - prev.ffmpegCpu),
      ]);
      prev = s;
    }
    printTable(
      `Live session memory (${opts.size}, blur, landscape model, preview + client${opts.file ? ' + H.264 file' : ''}${gc ? ', sampled after a full GC' : ''}; values at the end of each minute, fps and drops over it)`,
      ['minute', 'RSS MB', 'max RSS MB', 'heap used MB', 'array buffers MB', 'ffmpeg RSS MB', 'fps', 'dropped frames', 'preview fps', 'main thread core-ms/frame', 'Node core-ms/frame', 'ffmpeg core-ms/frame'],
      rows,
    );

    const first = at(1);
    const last = samples[samples.length - 1];
    const after = samples.filter((s) => s.t >= first.t);
    const growth = (last.rss - first.rss) / MB;
    const perMin = last.t > first.t ? growth / (last.t - first.t) : 0;
    const fit = fitSlope(after.map((s) => s.t), after.map((s) => s.rss / MB));
    const heapFit = fitSlope(after.map((s) => s.t), after.map((s) => s.heapUsed / MB));
    // A slope needs three samples after minute 1 (a run of two minutes or more).
    const slopes = Number.isFinite(fit.se)
      ? `least-squares slope over the ${after.length} samples ${signed(fit.slope, 2)} ± ${fit.se.toFixed(2)} MB/min (heap used ${signed(heapFit.slope, 2)} ± ${heapFit.se.toFixed(2)} MB/min); `
      : `no slope (${after.length} sample${after.length === 1 ? '' : 's'} after minute 1: run --minutes 2 or more); `;
    console.log(
      `\nRSS growth from minute 1 to the end (${(last.t - first.t).toFixed(1)} min): ${signed(growth, 1)} MB (${signed(perMin, 2)} MB/min); ` +
        slopes +
        `RSS range after minute 1: ${(Math.min(...after.map((s) => s.rss)) / MB).toFixed(1)}–${(Math.max(...after.map((s) => s.rss)) / MB).toFixed(1)} MB.`,
    );
    console.log(
      `session: ${summary.frames} frames processed, ${summary.dropped} dropped, ${summary.averageFps.toFixed(1)} fps average, ` +
        `${previewFrames} JPEGs read by the preview client, ${opts.file ? `recording ${summary.outputs[0]?.frames ?? 0} frames (${fileMb.toFixed(0)} MB)` : 'no recording'}, peak RSS ${(summary.peakRssBytes / MB).toFixed(0)} MB`,
    );
    console.log(`ms per frame: ${Object.entries(summary.stages).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
