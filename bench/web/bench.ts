/// <reference lib="dom" />
/**
 * The page side of `npm run bench:web`: the same camera track (Chromium's fake camera playing a
 * shared test clip) through backdrop's track processor and through the official MediaPipe
 * selfie-segmentation web solution composited on a 2D canvas as its documentation does. The Node
 * side (bench/web.ts) starts, samples and stops runs; every run counts output frames.
 */
import { createBackgroundProcessor, blurSigma, defaultRefine, graphicsInfo, type BackgroundProcessor, type BackgroundProcessorOptions, type ProcessorMetrics } from '../../src/browser/index.js';

type Effect = 'blur' | 'image';

export interface Sample {
  /** Output frames since the run started, and when this sample was taken (ms). */
  frames: number;
  at: number;
  /** New masks since the run started. */
  masks: number;
  /** Mean ms per stage since the previous sample. */
  ms: Record<string, number>;
  /** backdrop's own rolling metrics. */
  metrics?: ProcessorMetrics;
  /** Official solution: frames read back from its canvas's captured track. */
  captured?: number;
  heap: number;
}

interface Run {
  sample(): Sample;
  stop(): Promise<void>;
}

const W = 640, H = 360;
const STRENGTH = 50;

let cameraStream: MediaStream | undefined;
async function cameraTrack(): Promise<MediaStreamTrack> {
  cameraStream ??= await navigator.mediaDevices.getUserMedia({ video: { width: W, height: H }, audio: false });
  return cameraStream.getVideoTracks()[0];
}

let background: ImageBitmap | undefined;
async function backgroundImage(): Promise<ImageBitmap> {
  background ??= await createImageBitmap(await (await fetch('/assets/hubble_deep_field.jpg')).blob());
  return background;
}

const heap = (): number => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;

/** Sums of ms per stage between samples. */
class Stages {
  private sums: Record<string, number> = {};
  private counts: Record<string, number> = {};
  add(stage: string, ms: number): void {
    this.sums[stage] = (this.sums[stage] ?? 0) + ms;
    this.counts[stage] = (this.counts[stage] ?? 0) + 1;
  }
  take(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of Object.keys(this.sums)) out[k] = this.sums[k] / this.counts[k];
    this.sums = {};
    this.counts = {};
    return out;
  }
}

interface TrackProcessorCtor {
  new (init: { track: MediaStreamTrack }): { readable: ReadableStream<VideoFrame> };
}

/** Reads (and drops) every frame of `track`, calling `onFrame` for each. */
function consume(track: MediaStreamTrack, onFrame: (frame: VideoFrame) => void): { stop(): Promise<void> } {
  const Processor = (globalThis as unknown as { MediaStreamTrackProcessor: TrackProcessorCtor }).MediaStreamTrackProcessor;
  const reader = new Processor({ track }).readable.getReader();
  let running = true;
  const done = (async () => {
    while (running) {
      const { value, done } = await reader.read();
      if (done || !value) break;
      onFrame(value);
      value.close();
    }
  })();
  return {
    async stop() {
      running = false;
      await reader.cancel().catch(() => undefined);
      await done.catch(() => undefined);
    },
  };
}

/** backdrop: camera track → createBackgroundProcessor → output track, read frame by frame. */
async function startBackdrop(effect: Effect | 'none', profile = false, model: 'general' | 'landscape' = 'general', extra: Partial<BackgroundProcessorOptions> = {}): Promise<Run> {
  const track = await cameraTrack();
  const processor: BackgroundProcessor = createBackgroundProcessor({
    model,
    effect: effect === 'blur' ? { type: 'blur', strength: STRENGTH } : effect === 'none' ? { type: 'none' } : { type: 'image', image: await backgroundImage() },
    profile,
    ...extra,
  });
  await processor.load();
  const output = await processor.process(track);
  let frames = 0;
  const stages = new Stages();
  const reader = consume(output, () => {
    frames++;
    if (profile) for (const [k, v] of Object.entries(processor.compositor?.times ?? {})) stages.add(k, v);
  });
  return {
    sample() {
      const metrics = processor.getMetrics();
      return { frames, at: performance.now(), masks: metrics.inferences, ms: stages.take(), metrics, heap: heap() };
    },
    async stop() {
      await reader.stop();
      processor.stop();
    },
  };
}

interface OfficialResults {
  image: CanvasImageSource;
  segmentationMask: CanvasImageSource;
}

interface OfficialSolution {
  setOptions(options: Record<string, unknown>): void;
  onResults(listener: (results: OfficialResults) => void): void;
  initialize(): Promise<void>;
  send(input: { image: HTMLVideoElement }): Promise<void>;
}

let official: Promise<OfficialSolution> | undefined;
const OFFICIAL_BASE = '/node_modules/@mediapipe/selfie_segmentation/';

/** The official solution, its files served from node_modules (no CDN). One instance, one input size. */
function officialSolution(): Promise<OfficialSolution> {
  official ??= (async () => {
    await new Promise<void>((resolve, reject) => {
      const script = document.createElement('script');
      script.src = `${OFFICIAL_BASE}selfie_segmentation.js`;
      script.crossOrigin = 'anonymous';
      script.onload = () => resolve();
      script.onerror = () => reject(new Error('could not load selfie_segmentation.js'));
      document.head.append(script);
    });
    const Ctor = (globalThis as unknown as { SelfieSegmentation: new (config: { locateFile(file: string): string }) => OfficialSolution }).SelfieSegmentation;
    const solution = new Ctor({ locateFile: (file) => `${OFFICIAL_BASE}${file}` });
    solution.setOptions({ modelSelection: 0, selfieMode: false, useCpuInference: true });
    await solution.initialize();
    return solution;
  })();
  return official;
}

/**
 * The official solution as its documentation composites it: draw the mask (alpha), `source-in` the
 * frame (the person), `destination-atop` the blurred frame (ctx.filter) or `destination-over` the
 * background picture, on a 2D canvas. The canvas is captured as a track and read, as an app sending
 * it would, so the drawing really happens.
 */
async function startOfficial(effect: Effect, model: 'general' | 'landscape' = 'general'): Promise<Run> {
  const solution = await officialSolution();
  solution.setOptions({ modelSelection: model === 'general' ? 0 : 1, selfieMode: false, useCpuInference: true });
  const track = await cameraTrack();
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  await video.play();
  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext('2d')!;
  const image = effect === 'image' ? await backgroundImage() : undefined;
  const blur = `blur(${blurSigma(STRENGTH, W, H).toFixed(1)}px)`;
  // Cover fit of the background picture, computed once.
  const cover = image ? Math.max(W / image.width, H / image.height) : 1;
  const stages = new Stages();
  let frames = 0, sent = 0, busy = false, running = true;
  let segmentStart = 0;

  solution.onResults((results) => {
    const t1 = performance.now();
    stages.add('segmentation', t1 - segmentStart);
    ctx.save();
    ctx.clearRect(0, 0, W, H);
    ctx.drawImage(results.segmentationMask, 0, 0, W, H);
    ctx.globalCompositeOperation = 'source-in';
    ctx.drawImage(results.image, 0, 0, W, H);
    if (image) {
      ctx.globalCompositeOperation = 'destination-over';
      const w = image.width * cover, h = image.height * cover;
      ctx.drawImage(image, (W - w) / 2, (H - h) / 2, w, h);
    } else {
      ctx.globalCompositeOperation = 'destination-atop';
      ctx.filter = blur;
      ctx.drawImage(results.image, 0, 0, W, H);
    }
    ctx.restore();
    stages.add('composite', performance.now() - t1);
    frames++;
  });

  const output = canvas.captureStream().getVideoTracks()[0];
  let captured = 0;
  const reader = consume(output, () => captured++);

  const tick = (): void => {
    if (!running) return;
    video.requestVideoFrameCallback(tick);
    if (busy) return;
    busy = true;
    segmentStart = performance.now();
    sent++;
    solution.send({ image: video }).catch((e: unknown) => console.error('official solution:', e)).finally(() => {
      stages.add('total', performance.now() - segmentStart);
      busy = false;
    });
  };
  video.requestVideoFrameCallback(tick);

  return {
    sample() {
      return { frames, at: performance.now(), masks: sent, ms: stages.take(), captured, heap: heap() };
    },
    async stop() {
      running = false;
      while (busy) await new Promise((r) => setTimeout(r, 10));
      await reader.stop();
      output.stop();
      video.pause();
      video.srcObject = null;
    },
  };
}

const runs = new Map<number, Run>();
let nextId = 1;

const bench = {
  info() {
    return { crossOriginIsolated, cores: navigator.hardwareConcurrency, userAgent: navigator.userAgent, graphics: graphicsInfo(), defaultRefine: defaultRefine() };
  },
  async start(pipeline: 'backdrop' | 'official', effect: Effect, profile = false, model: 'general' | 'landscape' = 'general', extra: Partial<BackgroundProcessorOptions> = {}): Promise<number> {
    const run = pipeline === 'backdrop' ? await startBackdrop(effect, profile, model, extra) : await startOfficial(effect, model);
    const id = nextId++;
    runs.set(id, run);
    return id;
  },
  sample(id: number): Sample {
    const run = runs.get(id);
    if (!run) throw new Error(`no run ${id}`);
    return run.sample();
  },
  async stop(id: number): Promise<void> {
    await runs.get(id)?.stop();
    runs.delete(id);
  },
};

export type Bench = typeof bench;

Object.assign(globalThis, { bench, benchReady: true });
