/**
 * Video speed: 720p and 1080p clips made here from a test video (10 s, with a sound track), file
 * → file with H.264 (x264 veryfast, crf 20) and the sound copied, beside ffmpeg alone with the
 * same encoder settings, in alternating rounds (this machine's speed drifts ±15 % within minutes,
 * so each ratio is taken against ffmpeg alone in its own round and the medians are shown).
 *
 * The budget is in CPU time (user + system per frame, all processes): ffmpeg alone's, and what
 * backdrop adds to it, per process (the decoding ffmpeg that feeds Node, the compositing ffmpeg
 * that also encodes, Node) and per Node stage. The first backdrop row is the product's defaults
 * (general model, blur, ROI zoom, smoothing, guided edges, ffmpeg compositing); faster or other
 * settings have rows of their own. The Python tutorial cannot run here; a stand-in of its per-frame
 * work (bench/tutorialStandIn.py, OpenCV + the landscape model) runs in the same rounds at 720p.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setStageClock } from '../src/core/clock.js';
import type { BackgroundEffect } from '../src/core/effect.js';
import { createBackdrop, type BackdropOptions } from '../src/node/facade.js';
import { findFfmpeg } from '../src/node/video/ffmpegPath.js';
import { compositeVideo } from '../src/node/video/ffmpegRenderer.js';
import { processVideo } from '../src/node/video/nodeRenderer.js';
import { testdata } from '../test/helpers/testdata.js';
import { measureCpu } from './cpu.js';
import { median, printTable } from './table.js';
import { findOpenCvPython, INSTALL_HINT, runTutorialStandIn, writeLandscapeOnnx, type StandInResult } from './tutorialStandIn.js';

const SOURCE = 'volcomix-virtual-background/public/videos/Thoughtful - 35590.mp4';
const FRAMES = 300; // 10 s at 29.97 fps
const ROUNDS = 3;
const run = promisify(execFile);
const STAND_IN = "the tutorial's pipeline, stand-in: OpenCV 4.6 + landscape model via cv2.dnn, mp4v, no audio";

interface Measured {
  fps: number;
  /** CPU ms per frame: all processes, and by process. */
  total: number;
  decoder: number;
  compositor: number;
  node: number;
  peakMb: number;
  /** Node's stages, ms per frame (its main thread). */
  stages: number[];
  standIn?: StandInResult;
}

interface Case {
  name: string;
  rounds: number;
  run: () => Promise<Measured>;
  runs: (Measured & { ratio: number; added: number })[];
}

/** Peak resident memory while `work` runs, sampled every 50 ms. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    const result = await work();
    return { result, peakMb: Math.max(peak, process.memoryUsage().rss) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

/**
 * The compositing ffmpeg reads a filter graph (or, with Node compositing, raw frames from its
 * stdin); the decoding one writes frames to its stdout (and, to a compositing ffmpeg, to its fd 0).
 */
const classify = (argv: string[]) => (argv.includes('-filter_complex') || argv.some((a, i) => a === 'pipe:0' && argv[i - 1] === '-i') ? 'compositor' : 'decoder');

async function measureBackdrop(options: BackdropOptions, how: 'ffmpeg' | 'node', common: { input: string; output: string; preset: string; crf: number; force: boolean }, flip = false): Promise<Measured> {
  const backdrop = await createBackdrop(options);
  const effect: BackgroundEffect = backdrop.streamEffect();
  // Stages in CPU time (this process's, all threads), as the rest of the table.
  setStageClock(() => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  });
  try {
    const { result, cpu } = await measureCpu(
      () => withPeakRss(() => (how === 'ffmpeg' ? compositeVideo({ ...common, effect, flip }) : processVideo({ ...common, processors: [effect], reuseFrameBuffers: true }))),
      classify,
    );
    const n = result.result.frames;
    const t = effect.timings;
    const stages = [t.preprocess + t.postprocess, t.inference, t.temporal, t.refine, t.composite].map((ms) => ms / n);
    const node = cpu.self / n;
    stages.push(node - stages.reduce((a, b) => a + b, 0));
    return {
      fps: result.result.fps,
      total: (cpu.self + cpu.children) / n,
      decoder: (cpu.byChild.get('decoder') ?? 0) / n,
      compositor: (cpu.byChild.get('compositor') ?? 0) / n,
      node,
      peakMb: result.peakMb,
      stages,
    };
  } finally {
    setStageClock(undefined);
    await backdrop.close();
  }
}

export async function benchVideo(): Promise<void> {
  const ffmpeg = findFfmpeg().path;
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-bench-video-'));
  const rows: (string | number)[][] = [];
  const stageRows: (string | number)[][] = [];
  const python = findOpenCvPython();
  if (!python) console.log(`\n!!! SKIPPING the row of the tutorial's stand-in: no python3 here imports cv2. Install OpenCV for Debian's python3 with: ${INSTALL_HINT}`);
  let tutorialLine = `The tutorial's stand-in did not run (${INSTALL_HINT}).`;
  try {
    const model = python ? await writeLandscapeOnnx(dir) : undefined;
    for (const [label, w, h] of [['720p', 1280, 720], ['1080p', 1920, 1080]] as const) {
      const clip = join(dir, `clip-${label}.mp4`);
      await run(ffmpeg, ['-v', 'error', '-t', '10', '-i', testdata(SOURCE), '-f', 'lavfi', '-t', '10', '-i', 'sine=frequency=440:sample_rate=48000',
        '-map', '0:v', '-map', '1:a', '-vf', `scale=${w}:${h}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', '-c:a', 'aac', clip]);
      const common = { input: clip, output: join(dir, 'out.mp4'), preset: 'veryfast', crf: 20, force: true };
      const alone = async (): Promise<Measured> => {
        const t0 = performance.now();
        const { cpu } = await measureCpu(
          () => run(ffmpeg, ['-v', 'error', '-y', '-i', clip, '-map', '0:v', '-map', '0:a', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-c:a', 'copy', join(dir, 'ff.mp4')]),
          () => 'compositor',
        );
        return { fps: FRAMES / ((performance.now() - t0) / 1000), total: cpu.children / FRAMES, decoder: 0, compositor: cpu.children / FRAMES, node: 0, peakMb: 0, stages: [] };
      };
      const cases: Case[] = [];
      const add = (name: string, rounds: number, measure: () => Promise<Measured>) => cases[cases.push({ name, rounds, run: measure, runs: [] }) - 1];
      const defaults = add('backdrop defaults: blur, general model, ROI zoom, smoothing, guided edges', ROUNDS, () => measureBackdrop({}, 'ffmpeg', common));
      // Beside the defaults in every round, so their ratio is taken minutes apart at most.
      const tutorial = label === '720p' && python && model ? add(STAND_IN, ROUNDS, () => measureStandIn(python, model, clip, join(dir, 'tutorial.mp4'))) : undefined;
      if (label === '720p') {
        // A 4 s background video, looped behind the 10 s clip.
        const background = join(dir, 'background-720p.mp4');
        await run(ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-t', '4', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', background]);
        add('same, --every-frame (the model on every frame; by default steady frames skip it)', 1, () => measureBackdrop({ temporal: { predict: false } }, 'ffmpeg', common));
        add('same, --refine bilinear (faster, edges on the mask grid)', 1, () => measureBackdrop({ refine: 'bilinear' }, 'ffmpeg', common));
        add('same, --model landscape', 1, () => measureBackdrop({ model: 'landscape' }, 'ffmpeg', common));
        add('image background (defaults otherwise)', 1, () => measureBackdrop({ effect: { type: 'image', path: 'assets/hubble_deep_field.jpg' } }, 'ffmpeg', common));
        add('video background, 720p 25 fps (defaults otherwise)', 1, () => measureBackdrop({ effect: { type: 'video', path: background } }, 'ffmpeg', common));
        add('same, --flip (mirrored in ffmpeg)', 1, () => measureBackdrop({}, 'ffmpeg', common, true));
        add('blur, Node compositing (what --fps or a folder interval take)', 1, () => measureBackdrop({}, 'node', common));
      }
      const aloneRuns: Measured[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const ff = await alone();
        aloneRuns.push(ff);
        for (const c of cases) {
          if (round >= c.rounds) continue;
          const r = await c.run();
          c.runs.push({ ...r, ratio: r.fps / ff.fps, added: r.total - ff.total });
        }
      }
      const mid = <T extends { ratio?: number; fps: number }>(runs: T[]): T => {
        const key = (r: T) => r.ratio ?? r.fps;
        const m = median(runs.map(key));
        return runs.find((r) => key(r) === m) ?? runs[0];
      };
      const spread = (xs: number[], digits: number, unit: string) => (xs.length > 1 ? `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}${unit}` : '1 run');
      rows.push([label, 'ffmpeg alone (decode + x264 veryfast, audio copied)', median(aloneRuns.map((r) => r.fps)), '1.00×', spread(aloneRuns.map((r) => r.fps), 0, ' fps'), median(aloneRuns.map((r) => r.total)), '—', '—', '—', '—', '—']);
      for (const c of cases) {
        const m = mid(c.runs);
        const ratios = c.runs.map((r) => r.ratio);
        rows.push([
          label, c.name, median(c.runs.map((r) => r.fps)), `${median(ratios).toFixed(2)}×`, spread(ratios, 2, '×'),
          m.total, median(c.runs.map((r) => r.added)), ...[m.decoder, m.compositor, m.node, Math.round(m.peakMb)].map((x) => (Number.isNaN(x) ? '—' : x)),
        ]);
        if (m.stages.length) stageRows.push([label, c.name, ...m.stages]);
      }
      if (tutorial) tutorialLine = describeStandIn(defaults.runs.map((r) => r.fps), tutorial.runs.map((r) => r.standIn!));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  printTable(
    'Video file → file, H.264 veryfast crf 20 + audio copied. Targets (defaults): fps ≥ 0.55× ffmpeg alone; CPU added ≤ 10 core-ms a frame at 720p, ≤ 16 at 1080p. ' +
      'CPU = user + system, core-ms per frame; medians of alternating rounds, ratios against ffmpeg alone in the same round',
    ['clip', 'pipeline', 'fps', 'vs ffmpeg alone', 'spread', 'CPU', 'added', 'decoding ffmpeg', 'compositing ffmpeg (+ x264)', 'Node', 'peak RSS MB'],
    rows,
  );
  printTable(
    'Video, Node\'s CPU per frame by stage, core-ms (the median run): resize + model input, the model (onnxruntime, ROI zoom included), temporal smoothing, guided edges, Node\'s share of compositing (packing; the blur), and the rest (GC, pipes, threads)',
    ['clip', 'pipeline', 'preprocess', 'inference', 'smoothing', 'edges', 'compositing', 'other'],
    stageRows,
    2,
  );
  console.log(`\nThe Python tutorial (OpenCV + MediaPipe's landscape model) cannot run here: MediaPipe's Python package is not in Debian and PyPI is out of reach. ${tutorialLine}`);
}

/** The stand-in's row: its fps, its CPU per frame (the Python process's, all of it). */
async function measureStandIn(python: string, model: string, input: string, output: string): Promise<Measured> {
  const r = await runTutorialStandIn(python, model, input, output);
  if (r.frames !== FRAMES) throw new Error(`the tutorial's stand-in wrote ${r.frames} frames, not ${FRAMES}`);
  return { fps: r.fps, total: r.cpuMs / r.frames, decoder: NaN, compositor: NaN, node: NaN, peakMb: NaN, stages: [], standIn: r };
}

/**
 * What the stand-in is, where its time goes, and backdrop's defaults ÷ it per round; also ÷ the
 * stand-in with its model call taken out: a bound that holds however fast MediaPipe's own
 * inference is (cv2.dnn is likely the slower of the two: alone, on a quiet machine here, onnxruntime-node
 * runs this model in ≈ 2.4 ms, cv2.dnn in ≈ 4.1).
 */
function describeStandIn(backdropFps: number[], runs: StandInResult[]): string {
  const s = [...runs].sort((a, b) => a.fps - b.fps)[runs.length >> 1];
  const steps = Object.entries(s.ms).map(([step, ms]) => `${step} ${ms.toFixed(1)}`).join(', ');
  const total = Object.values(s.ms).reduce((a, b) => a + b, 0);
  const ratios = runs.map((r, i) => backdropFps[i] / r.fps);
  const bound = median(runs.map((r, i) => backdropFps[i] / (1000 / (1000 / r.fps - r.ms.model))));
  return (
    `Its row is a stand-in (bench/tutorialStandIn.py): the tutorial's per-frame work in OpenCV ${s.opencv} + numpy (decode, the landscape model fed BGR, mask upscaled, mask > 0.5, GaussianBlur 35×35, np.where, mp4v), ` +
    `MediaPipe's TFLite/XNNPACK inference replaced by the same model (backdrop's ONNX) on cv2.dnn with OpenCV's default ${s.threads} threads. ` +
    `Its wall ms a frame (median run): ${steps} = ${total.toFixed(1)}; the model call is ${((100 * s.ms.model) / total).toFixed(0)} % of it.\n` +
    `720p, backdrop defaults' fps ÷ the stand-in's in the same round: vs the tutorial's pipeline: ${median(ratios).toFixed(2)}× (rounds ${ratios.map((r) => r.toFixed(2)).join(', ')}; target ≥ 1.5×); ` +
    `÷ the stand-in without its model call at all: ${bound.toFixed(2)}× (a floor whatever MediaPipe's inference costs, if the rest costs the tutorial what it costs here)`
  );
}
