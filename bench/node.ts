/**
 * `npm run bench -- node`: the Node process's CPU per frame of a 720p video with the defaults
 * (general model, blur 50, ROI auto, smoothing), stage by stage, as the ffmpeg-composited video
 * path feeds it: frames area-scaled by ffmpeg to the model's input size (256×256), the mask
 * smoothed, the background blurred for the 1280×720 picture. CPU is user+sys of the whole process
 * (process.cpuUsage, so onnxruntime's threads count), per frame, over the clip after a warm-up pass.
 * `-- node threads` also compares onnxruntime's intra-op thread settings per inference.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { blurBackgroundFor } from '../src/core/blur.js';
import { BackgroundEffect } from '../src/core/effect.js';
import { createMask, type Frame, type Mask, type Rect } from '../src/core/frame.js';
import { builtinSpec, type BuiltinModel } from '../src/core/modelSpec.js';
import { tensorToMask } from '../src/core/postprocess.js';
import { frameToTensor, inputDims } from '../src/core/preprocess.js';
import { RoiTracker } from '../src/core/roi.js';
import type { InferenceSession } from '../src/core/runtime.js';
import { Segmenter } from '../src/core/segmenter.js';
import { TemporalSmoother } from '../src/core/temporal.js';
import { loadBuiltinModel } from '../src/node/models.js';
import { onnxNodeBackend } from '../src/node/onnxBackend.js';
import { findFfmpeg } from '../src/node/video/ffmpegPath.js';
import { testdata } from '../test/helpers/testdata.js';
import { printTable } from './table.js';

const SOURCE = 'volcomix-virtual-background/public/videos/Thoughtful - 35590.mp4';
const W = 1280, H = 720;
const STRENGTH = 50;
const run = promisify(execFile);

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

/** The clip's frames as the video path's decoding ffmpeg sends them: area-scaled to w × h RGB. */
async function smallFrames(clip: string, w: number, h: number): Promise<Frame[]> {
  const ff = spawn(findFfmpeg().path, ['-v', 'error', '-nostdin', '-i', clip, '-an', '-vf', `scale=${w}:${h}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  for await (const c of ff.stdout as AsyncIterable<Buffer>) chunks.push(c);
  const all = Buffer.concat(chunks);
  const size = w * h * 3;
  const frames: Frame[] = [];
  for (let o = 0, i = 0; o + size <= all.length; o += size, i++) frames.push({ width: w, height: h, channels: 3, data: new Uint8Array(all.subarray(o, o + size)), timestamp: (i * 1001) / 30 });
  return frames;
}

/** Accumulated CPU ms per stage. */
type Stages = Record<string, number>;

/**
 * One pass over the frames, the pipeline of BackgroundEffect.lowResMask + blurBackgroundFor spelled
 * out so each stage's CPU can be read: the model's look is Segmenter.segment's three steps.
 */
async function stagedPass(frames: Frame[], session: InferenceSession, model: BuiltinModel): Promise<Stages> {
  const spec = builtinSpec(model);
  const input = new Float32Array(spec.inputWidth * spec.inputHeight * 3);
  const dims = inputDims(spec);
  const st: Stages = { frameToTensor: 0, onnxruntime: 0, tensorToMask: 0, 'roi (find, follow, paste)': 0, temporal: 0, blur: 0 };
  const tracker = new RoiTracker();
  const smoother = new TemporalSmoother();
  const smoothed = createMask(spec.outputWidth, spec.outputHeight);
  const tracked = createMask(spec.outputWidth, spec.outputHeight);
  let lookCpu = 0;
  const look = async (crop?: Rect, into?: Mask): Promise<Mask> => {
    let t = process.cpuUsage();
    frameToTensor(current, spec, input, crop);
    const a = cpuMs(t);
    t = process.cpuUsage();
    const out = await session.run(input, dims);
    const b = cpuMs(t);
    t = process.cpuUsage();
    const mask = (tensorToMask as (o: Float32Array, s: typeof spec, into?: Mask) => Mask)(out, spec, into);
    const c = cpuMs(t);
    st.frameToTensor += a;
    st.onnxruntime += b;
    st.tensorToMask += c;
    lookCpu += a + b + c;
    return mask;
  };
  let current = frames[0];
  const track = tracker.track.bind(tracker) as (...args: unknown[]) => Promise<Mask>;
  const apply = smoother.apply.bind(smoother) as (...args: unknown[]) => Mask;
  for (const frame of frames) {
    current = frame;
    lookCpu = 0;
    let t = process.cpuUsage();
    const low = await track(look, frame.width, frame.height, spec, undefined, tracked);
    st['roi (find, follow, paste)'] += cpuMs(t) - lookCpu;
    t = process.cpuUsage();
    const mask = apply(low, frame, smoothed);
    st.temporal += cpuMs(t);
    t = process.cpuUsage();
    blurBackgroundFor(frame, mask, STRENGTH, W, H);
    st.blur += cpuMs(t);
  }
  return st;
}

/** One pass through the product's own path (BackgroundEffect.lowResMask + blurBackgroundFor): CPU and GC per frame. */
async function effectPass(frames: Frame[], segmenter: Segmenter): Promise<{ cpu: number; gc: number }> {
  const effect = new BackgroundEffect(segmenter, { effect: { type: 'blur', strength: STRENGTH }, refine: 'bilinear', temporal: true });
  let gc = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gc += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });
  const t = process.cpuUsage();
  for (const frame of frames) {
    const low = await effect.lowResMask(frame);
    blurBackgroundFor(frame, low, STRENGTH, W, H);
  }
  const cpu = cpuMs(t);
  await new Promise((r) => setTimeout(r, 10));
  obs.disconnect();
  return { cpu: cpu / frames.length, gc: gc / frames.length };
}

/** CPU and wall ms per inference for intra-op thread settings (general 256×256, landscape 256×144). */
async function threadsTable(frames: Frame[]): Promise<void> {
  const rows: (string | number)[][] = [];
  const variants: { name: string; threads: number; spin: boolean }[] = [
    { name: '1 thread', threads: 1, spin: true },
    { name: '2 threads, spinning', threads: 2, spin: true },
    { name: '2 threads, no spinning', threads: 2, spin: false },
  ];
  for (const model of ['general', 'landscape'] as BuiltinModel[]) {
    const { onnx, spec } = await loadBuiltinModel(model);
    const input = new Float32Array(spec.inputWidth * spec.inputHeight * 3);
    const dims = inputDims(spec);
    const sessions = [];
    for (const v of variants) {
      const backend = onnxNodeBackend({ threads: v.threads, spinning: v.spin });
      sessions.push(await backend.createSession(onnx));
    }
    const n = Math.min(frames.length, 150);
    const cpu = variants.map(() => 0), wall = variants.map(() => 0);
    // Alternate the variants frame by frame so drifting load hits them alike.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < n; i++) {
        frameToTensor(frames[i], spec, input);
        for (let k = 0; k < variants.length; k++) {
          const t = process.cpuUsage(), w0 = performance.now();
          await sessions[k].run(input, dims);
          if (round === 1) {
            cpu[k] += cpuMs(t);
            wall[k] += performance.now() - w0;
          }
        }
      }
    }
    for (let k = 0; k < variants.length; k++) rows.push([model, `${spec.inputWidth}×${spec.inputHeight}`, variants[k].name, (cpu[k] / n).toFixed(2), (wall[k] / n).toFixed(2)]);
    for (const s of sessions) await s.release();
  }
  printTable('onnxruntime-node per inference (same inputs, variants alternated)', ['model', 'input', 'intra-op', 'CPU core-ms', 'wall ms'], rows);
}

export async function benchNode(args: string[] = []): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-bench-node-'));
  try {
    const clip = join(dir, 'clip720.mp4');
    await run(findFfmpeg().path, ['-v', 'error', '-y', '-i', testdata(SOURCE), '-an', '-vf', `scale=${W}:${H}`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', clip]);
    const frames = await smallFrames(clip, 256, 256);
    if (args.includes('threads')) {
      await threadsTable(frames);
      return;
    }
    const { onnx, spec } = await loadBuiltinModel('general');
    const backend = onnxNodeBackend();
    const session = await backend.createSession(onnx);
    const segmenter = await Segmenter.create(backend, onnx, spec);
    await stagedPass(frames.slice(0, 60), session, 'general'); // warm-up
    const st = await stagedPass(frames, session, 'general');
    await effectPass(frames.slice(0, 60), segmenter);
    const total = await effectPass(frames, segmenter);
    const n = frames.length;
    const rows: (string | number)[][] = Object.entries(st).map(([k, v]) => [k, (v / n).toFixed(2)]);
    rows.push(['sum of the stages', (Object.values(st).reduce((a, b) => a + b, 0) / n).toFixed(2)]);
    rows.push(['BackgroundEffect.lowResMask + blurBackgroundFor', total.cpu.toFixed(2)]);
    rows.push(['  of which GC pauses (wall)', total.gc.toFixed(2)]);
    printTable(`Node CPU per ${W}×${H} frame (${n} frames fed at 256×256; general model, blur ${STRENGTH}, ROI auto, smoothing): core-ms`, ['stage', 'core-ms / frame'], rows);
    await session.release();
    await segmenter.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
