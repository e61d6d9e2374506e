/// <reference lib="dom" />
/**
 * The page side of the browser tests: functions the Node side calls with page.evaluate. Pixel data
 * crosses as base64 strings.
 */
import type { Frame, Rect } from '../../src/core/frame.js';
import type { InferenceBackend } from '../../src/core/runtime.js';
import type { Segmenter } from '../../src/core/segmenter.js';
import type { CompositorOptions } from '../../src/browser/compositor.js';
import { createCompositor, type CompositorKind } from '../../src/browser/createCompositor.js';
import { insertableStreams } from '../../src/browser/insertableStreams.js';
import { createSegmenter } from '../../src/browser/models.js';
import { ortWebBackend, type OrtWebBackend, type OrtWebBackendOptions } from '../../src/browser/ortWebBackend.js';
import { createBackgroundProcessor, type BackgroundProcessorOptions } from '../../src/browser/processor.js';
import { hasWebGL2 } from '../../src/browser/webgl/webglCompositor.js';
import { rgbaOf } from '../helpers/pixels.js';

function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function toBase64(bytes: Uint8Array | Float32Array): string {
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
}

let backend: OrtWebBackend | undefined;
let segmenter: Segmenter | undefined;

async function getSegmenter(opts: OrtWebBackendOptions = {}): Promise<Segmenter> {
  backend ??= await ortWebBackend(opts);
  segmenter ??= await createSegmenter(backend, 'general');
  return segmenter;
}

function rgbFrame(b64: string, width: number, height: number): Frame {
  return { width, height, channels: 3, data: fromBase64(b64) };
}

/** A background picture made in the page: a left-to-right red→blue gradient. */
async function gradientImage(width: number, height: number): Promise<ImageBitmap> {
  const c = new OffscreenCanvas(width, height);
  const ctx = c.getContext('2d')!;
  const g = ctx.createLinearGradient(0, 0, width, 0);
  g.addColorStop(0, 'rgb(255,0,0)');
  g.addColorStop(1, 'rgb(0,0,255)');
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, width, height);
  return createImageBitmap(c);
}

type EffectSpec = { type: 'blur'; strength: number } | { type: 'color'; color: [number, number, number, number] } | { type: 'image' } | { type: 'none' } | { type: 'mask' } | { type: 'transparent' };

async function toOptions(effect: EffectSpec | undefined, rest: Partial<CompositorOptions>): Promise<Partial<CompositorOptions>> {
  if (!effect) return rest;
  if (effect.type === 'image') return { ...rest, effect: { type: 'image', image: await gradientImage(400, 400) } };
  return { ...rest, effect };
}

function stats(values: number[]): { median: number; mean: number } {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], mean: values.reduce((a, b) => a + b, 0) / values.length };
}

const harness = {
  info() {
    return { crossOriginIsolated, webgl2: hasWebGL2(), insertableStreams: insertableStreams() !== undefined, cores: navigator.hardwareConcurrency };
  },

  /** What ortWebBackend picks for these options (provider after fallback, threads, why). */
  async backendInfo(opts: OrtWebBackendOptions) {
    const b = await ortWebBackend(opts);
    return { name: b.name, executionProvider: b.executionProvider, numThreads: b.numThreads, fallbackReason: b.fallbackReason ?? null };
  },

  /** The core Segmenter on onnxruntime-web, for RGB bytes: the mask at the model's size (base64 float32). */
  async segmentRgb(b64: string, width: number, height: number, opts: OrtWebBackendOptions = {}) {
    const seg = await getSegmenter(opts);
    const frame = rgbFrame(b64, width, height);
    const mask = await seg.segment(frame);
    return { backend: backend!.name, width: mask.width, height: mask.height, mask: toBase64(mask.data) };
  },

  /** Median ms of the core Segmenter (preprocess + inference + postprocess) over `runs` runs. */
  async timeInference(b64: string, width: number, height: number, runs: number, opts: OrtWebBackendOptions = {}) {
    const seg = await getSegmenter(opts);
    const frame = rgbFrame(b64, width, height);
    for (let i = 0; i < 5; i++) await seg.segment(frame);
    const times: number[] = [];
    const timings = { preprocess: 0, inference: 0, postprocess: 0 };
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await seg.segment(frame, timings);
      times.push(performance.now() - t0);
    }
    return { backend: backend!.name, ...stats(times), inferenceOnly: timings.inference / runs };
  },

  /**
   * One frame through a compositor with the page's own segmentation: upload → model input →
   * segment → mask → render. Returns the output RGBA (base64), the compositor kind and the mask.
   */
  async compositeRgb(b64: string, width: number, height: number, effect: EffectSpec, rest: Partial<CompositorOptions> = {}, kind: CompositorKind = 'auto') {
    const seg = await getSegmenter();
    const { compositor } = createCompositor({ kind, options: await toOptions(effect, { smoothing: 0, ...rest }) });
    try {
      const frame = rgbFrame(b64, width, height);
      compositor.setFrame(frame);
      const input = compositor.readModelInput(seg.spec.inputWidth, seg.spec.inputHeight);
      const mask = await seg.segment(input);
      compositor.setMask(mask);
      compositor.render();
      const pixels = compositor.readPixels();
      return { kind: compositor.kind, pixels: toBase64(pixels), modelInput: toBase64(input.data as Uint8Array), mask: toBase64(mask.data) };
    } finally {
      compositor.dispose();
    }
  },

  /**
   * The model's input read from a compositor: frame `a` in slot 0, then frame `b` in slot 1; returns
   * (RGBA, base64) slot 0's `crop` and whole frame, and the crop of the slot filled last (no slot given).
   */
  readModelInputs(aB64: string, bB64: string, width: number, height: number, kind: CompositorKind, crop: Rect, inputWidth: number, inputHeight: number) {
    const { compositor } = createCompositor({ kind });
    try {
      compositor.setFrame(rgbFrame(aB64, width, height), 0);
      compositor.setFrame(rgbFrame(bB64, width, height), 1);
      const read = (c?: Rect, slot?: 0 | 1) => toBase64(compositor.readModelInput(inputWidth, inputHeight, c, slot).data.slice() as Uint8Array);
      return { kind: compositor.kind, crop: read(crop, 0), whole: read(undefined, 0), last: read(crop) };
    } finally {
      compositor.dispose();
    }
  },

  /**
   * The processor on a track that shows one still picture (RGB bytes) over and over: frame after
   * frame is written to a MediaStreamTrackGenerator and its processed frame read back before the
   * next is written. Returns the last processed frame (RGBA, base64) and the metrics.
   */
  async processStill(b64: string, width: number, height: number, count: number, options: Omit<BackgroundProcessorOptions, 'effect'> & { effect?: EffectSpec } = {}) {
    const streams = insertableStreams();
    if (!streams) throw new Error('no insertable streams');
    const camera = new streams.Generator({ kind: 'video' });
    const writer = camera.writable.getWriter();
    const pixels = rgbaOf(fromBase64(b64));
    const { effect, ...rest } = options;
    const processor = createBackgroundProcessor({ ...rest, ...(await toOptions(effect, {})) });
    const output = await processor.process(camera);
    const reader = new streams.Processor({ track: output }).readable.getReader();
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true })!;
    let last = new Uint8Array(0);
    try {
      for (let k = 0; k < count; k++) {
        await writer.write(new VideoFrame(pixels, { format: 'RGBA', codedWidth: width, codedHeight: height, timestamp: k * 100_000 }));
        const { value: frame, done } = await reader.read();
        if (done || !frame) throw new Error(`the processed track ended after ${k} frames`);
        ctx.drawImage(frame, 0, 0, width, height);
        frame.close();
        last = new Uint8Array(ctx.getImageData(0, 0, width, height).data.buffer);
      }
      return { pixels: toBase64(last), metrics: processor.getMetrics(), compositor: processor.compositor?.kind };
    } finally {
      await reader.cancel();
      processor.stop();
      camera.stop();
    }
  },

  /**
   * Which frame each look of the model reads, with a stand-in model that takes `delayMs` per run
   * and sees a person in the middle of whatever it is shown (so ROI zoom follows a crop there).
   * Each run also lasts until two newer frames came in (or the last was written), so frames
   * arrive while the model reads however slowly a loaded machine writes them.
   * Frame k (width × height) is a green strip on the left (in a look at the whole frame, not in a
   * crop of the middle) and its code k elsewhere (red); `count` frames are written `paceMs` apart.
   * `offMainThread` as onnxruntime-web's worker says: when masks are slow, frames go out at once
   * instead of waiting for their mask. Returns each run's frame code and whether it saw the whole frame.
   */
  async roiReads(width: number, height: number, count: number, paceMs: number, delayMs: number, offMainThread: boolean, compositor: CompositorKind) {
    const streams = insertableStreams();
    if (!streams) throw new Error('no insertable streams');
    const runs: { code: number; whole: boolean }[] = [];
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let written = 0;
    /** From the first frame written to the last (the warm-up run on a blank frame comes before). */
    let writing = false;
    const backend: InferenceBackend & { offMainThread: boolean } = {
      name: 'stand-in',
      offMainThread,
      async createSession() {
        return {
          async run(input: Float32Array, dims: readonly number[]) {
            const [, h, w] = dims; // NHWC
            const at = (x: number, y: number, c: number) => input[(y * w + x) * 3 + c];
            runs.push({ code: Math.round(at(w >> 1, h >> 1, 0) * 255), whole: at(0, 0, 1) > 0.5 });
            const out = new Float32Array(w * h);
            for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = Math.hypot(x - w / 2, y - h / 2) < 12 ? 1 : 0;
            const seen = written;
            await sleep(delayMs);
            while (writing && written < seen + 2) await sleep(2);
            return out;
          },
          async release() {},
        };
      },
    };
    const processor = createBackgroundProcessor({ backend, compositor, effect: { type: 'mask' }, refine: 'none', smoothing: 0 });
    await processor.load();
    runs.length = 0; // the warm-up run on a blank frame
    const camera = new streams.Generator({ kind: 'video' });
    const output = await processor.process(camera);
    const reader = new streams.Processor({ track: output }).readable.getReader();
    let drawn = 0;
    const draining = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || !value) return;
        value.close();
        drawn++;
      }
    })();
    const writer = camera.writable.getWriter();
    const pixels = new Uint8Array(width * height * 4);
    writing = true;
    for (let k = 0; k < count; k++) {
      for (let i = 0; i < width * height; i++) {
        const strip = i % width < width / 8;
        pixels[i * 4] = strip ? 0 : k;
        pixels[i * 4 + 1] = strip ? 255 : 0;
        pixels[i * 4 + 2] = strip ? 0 : 128;
        pixels[i * 4 + 3] = 255;
      }
      await writer.write(new VideoFrame(pixels, { format: 'RGBA', codedWidth: width, codedHeight: height, timestamp: k * paceMs * 1000 }));
      written++;
      await sleep(paceMs);
    }
    writing = false;
    const metrics = processor.getMetrics();
    processor.stop();
    camera.stop();
    await reader.cancel();
    await draining;
    return { runs, drawn, metrics };
  },

  /** ms per compositor stage (profiled: each stage waits for the GPU), median over `runs` frames. */
  async timeCompositor(b64: string, width: number, height: number, effect: EffectSpec, runs: number, rest: Partial<CompositorOptions> = {}, kind: CompositorKind = 'auto', floatTargets = false) {
    const seg = await getSegmenter();
    const { compositor } = createCompositor({ kind, options: await toOptions(effect, rest), floatTargets });
    compositor.profile = true;
    const frame = rgbFrame(b64, width, height);
    compositor.setFrame(frame);
    const mask = await seg.segment(compositor.readModelInput(seg.spec.inputWidth, seg.spec.inputHeight));
    const samples: Record<string, number[]> = {};
    for (let i = 0; i < runs + 3; i++) {
      const t0 = performance.now();
      compositor.setFrame(frame);
      compositor.readModelInput(seg.spec.inputWidth, seg.spec.inputHeight);
      compositor.setMask(mask);
      compositor.render();
      compositor.readPixels();
      const total = performance.now() - t0;
      if (i < 3) continue;
      for (const [k, v] of Object.entries({ ...compositor.times, frameTotal: total })) (samples[k] ??= []).push(v);
    }
    compositor.dispose();
    return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v).median]));
  },

  /**
   * Runs the processor on the fake camera for `seconds` and reads the output track back with a
   * MediaStreamTrackProcessor: sizes and timestamps of the frames that came out.
   */
  async runProcessor(
    seconds: number,
    options: Omit<BackgroundProcessorOptions, 'effect'> & { effect?: EffectSpec } = {},
    warmupSeconds = 0,
    midRun?: Omit<BackgroundProcessorOptions, 'effect' | 'backend' | 'compositor' | 'pipeline'> & { effect?: EffectSpec },
    /** Keep reading past `seconds` until this many frames came out (at most 30 s): slow machines. */
    minFrames = 0,
  ) {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    const input = stream.getVideoTracks()[0];
    const inputSettings = input.getSettings();
    const { effect, ...rest } = options;
    const processor = createBackgroundProcessor({ ...rest, ...(await toOptions(effect, {})) });
    const output = await processor.process(input);
    // The camera's own frames, read from a clone of the input track: their timestamps.
    const streams0 = insertableStreams();
    const inputTimestamps = new Set<number>();
    const inputClone = input.clone();
    let readingInput = true;
    if (streams0) {
      const inputReader = new streams0.Processor({ track: inputClone, maxBufferSize: 30 }).readable.getReader();
      void (async () => {
        while (readingInput) {
          const { value, done } = await inputReader.read();
          if (done || !value) break;
          inputTimestamps.add(value.timestamp);
          value.close();
        }
        await inputReader.cancel().catch(() => undefined);
      })();
    }
    const outputSettings = output.getSettings();
    const streams = insertableStreams();
    if (!streams) throw new Error('no MediaStreamTrackProcessor to read the output with');
    const reader = new streams.Processor({ track: output }).readable.getReader();
    const sizes = new Set<string>();
    const timestamps: number[] = [];
    let nonBlack = 0;
    const canvas = new OffscreenCanvas(8, 8);
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    const w0 = performance.now();
    while (performance.now() - w0 < warmupSeconds * 1000) {
      const { value: frame, done } = await reader.read();
      if (done || !frame) break;
      frame.close();
    }
    const heap = () => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;
    const heapBefore = heap();
    const t0 = performance.now();
    let switched = false;
    let framesAfterSwitch = 0;
    const more = () => {
      const elapsed = performance.now() - t0;
      return elapsed < seconds * 1000 || (timestamps.length < minFrames && elapsed < 30_000);
    };
    while (more()) {
      if (midRun && !switched && performance.now() - t0 > (seconds * 1000) / 2) {
        const { effect: midEffect, ...midRest } = midRun;
        processor.setOptions({ ...midRest, ...(await toOptions(midEffect, {})) });
        switched = true;
      }
      const { value: frame, done } = await reader.read();
      if (done || !frame) break;
      if (switched) framesAfterSwitch++;
      sizes.add(`${frame.displayWidth}x${frame.displayHeight}`);
      timestamps.push(frame.timestamp);
      if (timestamps.length % 10 === 1) {
        ctx.drawImage(frame, 0, 0, 8, 8);
        const d = ctx.getImageData(0, 0, 8, 8).data;
        if (d.some((v, i) => i % 4 !== 3 && v > 8)) nonBlack++;
      }
      frame.close();
    }
    const wall = performance.now() - t0;
    const heapAfter = heap();
    const outputSettingsAfter = output.getSettings();
    const metrics = processor.getMetrics();
    const kind = processor.compositor?.kind;
    const stageTimes = { ...processor.compositor?.times };
    const pipeline = processor.pipeline;
    await reader.cancel();
    readingInput = false;
    processor.stop();
    inputClone.stop();
    input.stop();
    const measured = timestamps.filter((t) => t >= Math.min(...inputTimestamps));
    const spans = timestamps.slice(1).map((t, i) => t - timestamps[i]);
    return {
      inputSettings: { width: inputSettings.width, height: inputSettings.height, frameRate: inputSettings.frameRate },
      outputSettings: { width: outputSettings.width, height: outputSettings.height, frameRate: outputSettings.frameRate },
      outputSettingsAfter: { width: outputSettingsAfter.width, height: outputSettingsAfter.height, frameRate: outputSettingsAfter.frameRate },
      outputEnded: output.readyState === 'ended',
      sizes: [...sizes],
      frames: timestamps.length,
      wallMs: wall,
      medianFrameIntervalUs: spans.length ? stats(spans).median : 0,
      minFrameIntervalUs: spans.length ? Math.min(...spans) : 0,
      sampledNonBlack: nonBlack,
      metrics,
      compositor: kind,
      pipeline,
      stageTimes,
      framesAfterSwitch,
      /** Share of output frames (from when the input reader started) whose timestamp is a camera frame's (±1 ms: tracks round µs differently). */
      timestampsFromInput: measured.length ? measured.filter((t) => [...inputTimestamps].some((u) => Math.abs(u - t) <= 1000)).length / measured.length : 0,
      inputFramesSeen: inputTimestamps.size,
      heapBefore,
      heapAfter,
    };
  },

  /**
   * Runs the processor on the fake camera and keeps `count` consecutive output frames (after
   * `warmupSeconds`), read off the output track as it plays: their pixels as PNG (base64), plus
   * the metrics, pipeline and compositor.
   */
  async captureProcessed(options: Omit<BackgroundProcessorOptions, 'effect'> & { effect?: EffectSpec }, warmupSeconds: number, count: number) {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    const input = stream.getVideoTracks()[0];
    const { effect, ...rest } = options;
    const processor = createBackgroundProcessor({ ...rest, ...(await toOptions(effect, {})) });
    const output = await processor.process(input);
    const streams = insertableStreams();
    if (!streams) throw new Error('no MediaStreamTrackProcessor to read the output with');
    const reader = new streams.Processor({ track: output, maxBufferSize: 30 }).readable.getReader();
    const { width = 0, height = 0 } = input.getSettings();
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    const kept: ImageData[] = [];
    const t0 = performance.now();
    while (kept.length < count) {
      const { value: frame, done } = await reader.read();
      if (done || !frame) break;
      // Copy the pixels out at once (the frame must be closed soon); encode after the run.
      if (performance.now() - t0 >= warmupSeconds * 1000) {
        ctx.drawImage(frame, 0, 0, width, height);
        kept.push(ctx.getImageData(0, 0, width, height));
      }
      frame.close();
    }
    const metrics = processor.getMetrics();
    const pipeline = processor.pipeline;
    const compositor = processor.compositor?.kind;
    await reader.cancel();
    processor.stop();
    input.stop();
    const frames: string[] = [];
    for (const image of kept) {
      ctx.putImageData(image, 0, 0);
      frames.push(toBase64(new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer())));
    }
    return { frames, width, height, metrics, pipeline, compositor };
  },
};

export type Harness = typeof harness;

Object.assign(globalThis, { harness, harnessReady: true });
