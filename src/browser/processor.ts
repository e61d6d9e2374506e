/// <reference lib="dom" />
/**
 * MediaStreamTrack in, processed MediaStreamTrack out — the drop-in a WebRTC app uses the way it
 * would Twilio's or SkyWay's background processors:
 *
 *   const processor = createBackgroundProcessor({ effect: { type: 'blur', strength: 50 } });
 *   const output = await processor.process(cameraTrack);   // send or show `output`
 *   processor.setOptions({ effect: { type: 'color', color: [0, 128, 0, 255] } });
 *   processor.getMetrics();                                 // fps, ms per stage
 *   processor.stop();
 *
 * Insertable streams (MediaStreamTrackProcessor → TransformStream → MediaStreamTrackGenerator)
 * where the browser has them, keeping every input frame's timestamp, so size and frame rate stay
 * the input's; elsewhere a hidden <video> read on each new frame (requestVideoFrameCallback, or
 * requestAnimationFrame) into a canvas whose captureStream(inputFrameRate) is the output.
 *
 * When the model keeps up with the camera (a mask takes no longer than a frame interval), each
 * frame is held in one of the compositor's two frame slots until its own mask is back, so the
 * mask never trails a moving head (an earlier frame's mask leaves a strip of wall beside it). A
 * frame that arrives meanwhile waits in the other slot; its mask starts as soon as the model is
 * free, before the held frame is drawn, so the model (in its worker) and the drawing overlap. A
 * frame that arrives while one is already waiting is dropped: nothing queues.
 *
 * When the model cannot keep up, holding would cut the frame rate to the mask rate (npm run
 * bench:web: about a quarter fewer frames), so frames go out at once with the newest mask (which
 * then trails by a frame or more) and the model takes the next frame whenever it is free. With the
 * model on the page's own thread every frame waits for its own mask: nothing else could run
 * meanwhile anyway.
 *
 * ROI zoom (option `roi`, default 'auto'): a person who is small in the frame gets the model's
 * closer look, as in core (roi.ts). A RoiTracker follows the people from frame to frame; the
 * compositor draws each crop it asks for at the model's input size, from the slot that frame is
 * in (the model may still be reading it while the next frame comes in), so it costs about one
 * inference per person and frame, and the mask keeps the model's output size over the whole frame.
 */
import type { InferenceBackend } from '../core/runtime.js';
import type { Mask } from '../core/frame.js';
import { ROI_MODES, RoiTracker, type Look, type RoiMode } from '../core/roi.js';
import type { Segmenter } from '../core/segmenter.js';
import {
  DEFAULT_COMPOSITOR_OPTIONS,
  mergeOptions,
  sourceSize,
  type Compositor,
  type CompositorOptions,
  type FrameSlot,
  type FrameSource,
  type RefineMode,
} from './compositor.js';
import { createCompositor, type CompositorKind } from './createCompositor.js';
import { graphicsInfo } from './graphics.js';
import { insertableStreams } from './insertableStreams.js';
import { RollingMetrics, type ProcessorMetrics } from './metrics.js';
import { createSegmenter, type ModelSource } from './models.js';
import { ortWebBackend, type OrtWebBackend, type OrtWebBackendOptions } from './ortWebBackend.js';

export interface BackgroundProcessorOptions extends Partial<CompositorOptions> {
  /**
   * How the mask's edge is refined. Default: 'bilateral' (the joint bilateral filter: edges follow
   * the picture) where a GPU draws; 'bilinear' (plain bilinear + the soft edge) where WebGL is
   * software-rendered (SwiftShader, llvmpipe) or missing, where the filter costs about a third of
   * the frame rate (measured at 640×360 with SwiftShader on 2 cores).
   */
  refine?: RefineMode;
  /** 'general' (default, 256×256), 'landscape' (256×144, faster), or { url, spec } for your own model. */
  model?: ModelSource;
  /**
   * ROI zoom. 'auto' (default): a person who is small in the frame gets a second, closer look by
   * the model (a crop around them, followed from frame to frame: about one inference per person
   * and frame); selfies are left as they are. 'off': the model sees the whole frame only.
   */
  roi?: RoiMode;
  /** An inference backend, or options for the default onnxruntime-web one (default `{ proxy: true }`: in a worker). */
  backend?: InferenceBackend | OrtWebBackendOptions;
  /** 'auto' (default): WebGL2, else canvas 2D. */
  compositor?: CompositorKind;
  /** 'auto' (default): insertable streams when available. 'canvas': always <video> + canvas.captureStream. */
  pipeline?: 'auto' | 'insertable-streams' | 'canvas';
  /** Wait for the GPU after each stage so per-stage times are real (slower; for benchmarks). */
  profile?: boolean;
}

export interface BackgroundProcessor {
  /** Starts processing `track` (stopping any track processed before) and returns the processed track. */
  process(track: MediaStreamTrack): Promise<MediaStreamTrack>;
  /** Changes the effect, mask options or model; takes effect on the next frame. */
  setOptions(options: Partial<Omit<BackgroundProcessorOptions, 'backend' | 'compositor' | 'pipeline'>>): void;
  getMetrics(): ProcessorMetrics;
  /** Loads the backend and model now instead of on the first `process`. */
  load(): Promise<void>;
  /** Stops the output track and releases the GPU and model. */
  stop(): void;
  /** The compositor in use (after `process`), e.g. to read its pixels or per-stage times. */
  readonly compositor: Compositor | undefined;
  /** 'insertable-streams' or 'canvas' after `process`. */
  readonly pipeline: 'insertable-streams' | 'canvas' | undefined;
}

const COMPOSITOR_KEYS = Object.keys(DEFAULT_COMPOSITOR_OPTIONS) as (keyof CompositorOptions)[];

function compositorPart(options: Partial<BackgroundProcessorOptions>): Partial<CompositorOptions> {
  const part: Partial<CompositorOptions> = {};
  for (const key of COMPOSITOR_KEYS) {
    if (options[key] !== undefined) (part as Record<string, unknown>)[key] = options[key];
  }
  return part;
}

function isBackend(b: unknown): b is InferenceBackend {
  return typeof (b as InferenceBackend | undefined)?.createSession === 'function';
}

interface Pipeline {
  output: MediaStreamTrack;
  stop(): void;
}

/** A frame taken into a compositor slot, to be drawn; `emit` hands the drawn canvas on. */
interface Taken {
  c: Compositor;
  slot: FrameSlot;
  /** The frame's size. */
  width: number;
  height: number;
  emit(): void;
  /** When it arrived, and how long its upload took (ms). */
  start: number;
  upload: number;
}

/** The edge refinement when none is asked for (see BackgroundProcessorOptions.refine). */
export function defaultRefine(kind: CompositorKind = 'auto'): RefineMode {
  if (kind === 'canvas2d') return 'bilinear';
  const g = graphicsInfo();
  return g.webgl2 && !g.software ? 'bilateral' : 'bilinear';
}

function checkRoi(roi: unknown): RoiMode {
  if (!ROI_MODES.includes(roi as RoiMode)) throw new RangeError(`roi must be one of ${ROI_MODES.join(', ')}, got ${JSON.stringify(roi)}`);
  return roi as RoiMode;
}

export function createBackgroundProcessor(options: BackgroundProcessorOptions = {}): BackgroundProcessor {
  let compositorOptions = mergeOptions(DEFAULT_COMPOSITOR_OPTIONS, { refine: defaultRefine(options.compositor), ...compositorPart(options) });
  let model: ModelSource = options.model ?? 'general';
  let roi = checkRoi(options.roi ?? 'auto');
  /** ROI zoom's crops, followed from frame to frame: a new tracker for each model, track and ROI mode. */
  let tracker = new RoiTracker();
  const metrics = new RollingMetrics(60);
  const fallbacks: string[] = [];
  let backend: InferenceBackend | undefined;
  let backendLoad: Promise<InferenceBackend> | undefined;
  let segmenter: Segmenter | undefined;
  let segmenterLoad: Promise<Segmenter> | undefined;
  let segmenterModel: ModelSource | undefined;
  let compositor: Compositor | undefined;
  let pipeline: Pipeline | undefined;
  let pipelineKind: BackgroundProcessor['pipeline'];
  let stopped = false;
  let frames = 0;
  let dropped = 0;
  let inferences = 0;
  /** The model's run, while it runs. */
  let inference: Promise<void> | undefined;
  /** The frame that run is reading: its slot is not taken for new frames until the run is over. */
  let reading: Taken | undefined;
  /** The frame waiting for that run's mask, when it is held for it. */
  let held: Taken | undefined;
  /** A frame that came in while `held` waits: next in line. */
  let pending: Taken | undefined;
  /** The camera's frame interval (ms). */
  let frameInterval = 1000 / 30;

  function loadBackend(): Promise<InferenceBackend> {
    backendLoad ??= (async () => {
      // By default the model runs in onnxruntime-web's worker, so it works while frames are
      // drawn (measured ≈ 1.5× the frame rate of inference on the page's thread, 640×360 on
      // 2 cores with software GL).
      const b = isBackend(options.backend) ? options.backend : await ortWebBackend({ proxy: true, ...options.backend });
      const reason = (b as Partial<OrtWebBackend>).fallbackReason;
      if (reason) fallbacks.push(reason);
      backend = b;
      return b;
    })();
    return backendLoad;
  }

  /** Loads `model` (once per model); the old segmenter keeps working until the new one is ready. */
  function loadSegmenter(): Promise<Segmenter> {
    if (segmenterLoad && segmenterModel === model) return segmenterLoad;
    const wanted = model;
    segmenterModel = wanted;
    segmenterLoad = (async () => {
      let next: Segmenter;
      try {
        next = await createSegmenter(await loadBackend(), wanted);
      } catch (e) {
        throw new Error(`could not load the segmentation model: ${(e as Error).message}`);
      }
      // One run on a blank frame: the first inference compiles and allocates, and should not
      // cost the first camera frame.
      const { inputWidth: w, inputHeight: h } = next.spec;
      await next.segment({ width: w, height: h, channels: 4, data: new Uint8Array(w * h * 4) }).catch(() => undefined);
      if (stopped || segmenterModel !== wanted) {
        void next.close();
        return next;
      }
      const old = segmenter;
      segmenter = next;
      tracker = new RoiTracker();
      if (old) void (inference ?? Promise.resolve()).then(() => old.close());
      return next;
    })();
    segmenterLoad.catch(() => {
      if (segmenterModel === wanted) segmenterLoad = undefined;
    });
    return segmenterLoad;
  }

  /** Whether `c`'s frames need a mask now (not for no effect, nor before a model is loaded). */
  function wantsMask(c: Compositor): boolean {
    return c.options.effect.type !== 'none' && segmenter !== undefined;
  }

  /**
   * Runs the model on `f` (from its slot): on the whole frame, or with ROI zoom on the crops the
   * tracker asks for. Resolves with the mask (undefined when it failed). The first look at the
   * frame is read before this returns.
   */
  async function segment(f: Taken, seg: Segmenter): Promise<Mask | undefined> {
    const { c, slot } = f;
    const { inputWidth: w, inputHeight: h } = seg.spec;
    const t0 = performance.now();
    let input = 0;
    let runs = 0;
    const look: Look = (crop) => {
      const start = performance.now();
      const pixels = c.readModelInput(w, h, crop, slot);
      input += performance.now() - start;
      runs++;
      inferences++;
      return seg.segment(pixels);
    };
    const t = tracker;
    try {
      const mask = roi === 'auto' ? await t.track(look, f.width, f.height, seg.spec) : await look();
      const end = performance.now();
      metrics.mask(input, end - t0 - input, runs, end);
      return mask;
    } catch (e) {
      t.reset();
      console.error('backdrop: inference failed', e);
      return undefined;
    }
  }

  function offMainThread(): boolean {
    return (backend as Partial<OrtWebBackend> | undefined)?.offMainThread === true;
  }

  /**
   * Whether to hold a frame until its own mask is back: when masks take no longer than the
   * camera's frame interval (holding then costs no frames), before the first mask, and always
   * when the model runs on the page's thread. (The camera's interval, not the one between frames
   * coming in: when the page is busy, frames come in further apart and would look kept up with.)
   * The first runs after a start are slow (the worker and the GPU warm up), so the model counts as
   * keeping up until a few masks are in, then by the median mask time, which one slow run does not
   * move: no run of frames goes out with stale masks because of a hiccup.
   */
  function keepsUp(): boolean {
    const times = metrics.inference;
    return !offMainThread() || times.samples < 4 || times.median() <= frameInterval;
  }

  /** Draws a frame and hands it on (not when its pipeline was replaced or stopped meanwhile). */
  function draw(f: Taken): void {
    const { c } = f;
    if (compositor !== c) return;
    const t0 = performance.now();
    let t1: number;
    try {
      c.render(f.slot);
      t1 = performance.now();
      f.emit();
    } catch (e) {
      console.error('backdrop: frame failed', e);
      return;
    }
    const end = performance.now();
    metrics.frame(f.upload + t1 - t0, end - f.start, end);
    frames++;
  }

  /**
   * Starts the model on `f` when it is free and holds `f` for that mask when it keeps up;
   * otherwise draws `f` now with the newest mask (or none, for no effect).
   */
  function advance(f: Taken): void {
    const seg = segmenter;
    if (!seg || !wantsMask(f.c) || inference) return draw(f);
    const hold = keepsUp();
    if (hold) held = f;
    reading = f;
    inference = segment(f, seg).then((mask) => {
      inference = undefined;
      reading = undefined;
      if (mask && compositor === f.c) f.c.setMask(mask);
      if (!hold) return;
      held = undefined;
      const next = pending;
      pending = undefined;
      if (next && wantsMask(next.c) && keepsUp()) {
        advance(next); // its mask starts before this frame is drawn: the model works meanwhile
        draw(f);
      } else {
        draw(f);
        if (next) advance(next);
      }
    });
    if (!hold) draw(f);
  }

  /**
   * Takes a new frame into `c`, in the slot the model is not reading (the held frame's, or one
   * already drawn whose crops the model still looks at); it waits when a frame is held, and is
   * dropped when one is already waiting.
   */
  function take(c: Compositor, source: FrameSource, emit: () => void): void {
    const now = performance.now();
    if (pending) {
      dropped++;
      return;
    }
    const slot: FrameSlot = reading?.c === c && reading.slot === 0 ? 1 : 0;
    c.setFrame(source, slot);
    const { width, height } = sourceSize(source);
    const f: Taken = { c, slot, width, height, emit, start: now, upload: performance.now() - now };
    if (held) pending = f;
    else advance(f);
  }

  function makeCompositor(canvas?: HTMLCanvasElement): Compositor {
    const made = createCompositor({ kind: options.compositor, canvas, options: compositorOptions });
    if (made.fallbackReason) fallbacks.push(`canvas 2D instead of WebGL2: ${made.fallbackReason}`);
    made.compositor.profile = options.profile ?? false;
    return made.compositor;
  }

  function insertablePipeline(track: MediaStreamTrack): Pipeline {
    const streams = insertableStreams();
    if (!streams) throw new Error('insertable streams are not available');
    const c = makeCompositor();
    compositor = c;
    const reader = new streams.Processor({ track, maxBufferSize: 1 });
    const generator = new streams.Generator({ kind: 'video' });
    const abort = new AbortController();
    const transform = new TransformStream<VideoFrame, VideoFrame>({
      // Returns once the frame is uploaded, so the next one can come in while this one waits for
      // its mask; it is handed on, with its own timestamp, when drawn.
      transform(frame, controller) {
        const init: VideoFrameInit = { timestamp: frame.timestamp, alpha: 'discard' };
        if (frame.duration !== null) init.duration = frame.duration;
        try {
          take(c, frame, () => {
            const out = new VideoFrame(c.canvas, init);
            try {
              controller.enqueue(out);
            } catch {
              out.close(); // the stream was stopped meanwhile
            }
          });
        } finally {
          frame.close();
        }
      },
    });
    reader.readable
      .pipeThrough(transform, { signal: abort.signal })
      .pipeTo(generator.writable, { signal: abort.signal })
      .catch((e: unknown) => {
        if (!abort.signal.aborted) console.error('backdrop: processing stopped', e);
      });
    return {
      output: generator,
      stop() {
        abort.abort();
        generator.stop();
      },
    };
  }

  async function canvasPipeline(track: MediaStreamTrack): Promise<Pipeline> {
    const canvas = document.createElement('canvas');
    const c = makeCompositor(canvas);
    compositor = c;
    const settings = track.getSettings();
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([track]);
    await video.play();
    canvas.width = video.videoWidth || settings.width || 640;
    canvas.height = video.videoHeight || settings.height || 480;
    if (c.canvas !== canvas) throw new Error('the canvas fallback needs a <canvas> it can capture; this browser gave neither WebGL2 nor a 2D context for it');
    const drawTarget = canvas;
    const stream = drawTarget.captureStream(settings.frameRate ?? 30);
    const output = stream.getVideoTracks()[0];
    let running = true;
    let lastTime = -1;
    const useVfc = typeof video.requestVideoFrameCallback === 'function';
    const tick = (): void => {
      if (!running) return;
      schedule();
      if (!useVfc && video.currentTime === lastTime) return;
      lastTime = video.currentTime;
      try {
        take(c, video, () => undefined); // the captured canvas is the output
      } catch (e) {
        console.error('backdrop: frame failed', e);
      }
    };
    const schedule = (): void => {
      if (useVfc) video.requestVideoFrameCallback(tick);
      else requestAnimationFrame(tick);
    };
    schedule();
    track.addEventListener('ended', () => output.stop(), { once: true });
    return {
      output,
      stop() {
        running = false;
        output.stop();
        video.pause();
        video.srcObject = null;
      },
    };
  }

  function teardown(): void {
    pipeline?.stop();
    pipeline = undefined;
    compositor?.dispose();
    compositor = undefined;
    // A frame still in the model is not drawn (its compositor is gone); one waiting is dropped.
    held = pending = reading = undefined;
    tracker = new RoiTracker();
    metrics.reset();
  }

  return {
    get compositor() {
      return compositor;
    },
    get pipeline() {
      return pipelineKind;
    },

    async load() {
      await loadSegmenter();
    },

    async process(track) {
      if (stopped) throw new Error('this processor was stopped; create a new one');
      if (track.kind !== 'video') throw new RangeError(`process() needs a video track, got a ${track.kind} track`);
      await loadSegmenter();
      teardown();
      frameInterval = 1000 / (track.getSettings().frameRate || 30);
      const mode = options.pipeline ?? 'auto';
      const useInsertable = mode === 'insertable-streams' || (mode === 'auto' && insertableStreams() !== undefined);
      pipeline = useInsertable ? insertablePipeline(track) : await canvasPipeline(track);
      pipelineKind = useInsertable ? 'insertable-streams' : 'canvas';
      return pipeline.output;
    },

    setOptions(update) {
      const nextRoi = update.roi === undefined ? roi : checkRoi(update.roi);
      const next = mergeOptions(compositorOptions, compositorPart(update));
      if (nextRoi !== roi) {
        roi = nextRoi;
        tracker = new RoiTracker();
      }
      compositorOptions = next;
      compositor?.setOptions(compositorPart(update));
      if (update.profile !== undefined) {
        options.profile = update.profile;
        if (compositor) compositor.profile = update.profile;
      }
      if (update.model !== undefined && update.model !== model) {
        model = update.model;
        loadSegmenter().catch((e: unknown) => console.error('backdrop:', e));
      }
    },

    getMetrics() {
      return {
        fps: metrics.fps(),
        maskFps: metrics.inference.rate(),
        ms: {
          inference: metrics.inference.mean(),
          modelInput: metrics.modelInput.mean(),
          composite: metrics.mean('composite'),
          total: metrics.mean('total'),
        },
        frames,
        dropped,
        inferences,
        inferencesPerMask: metrics.runs.mean(),
        compositor: compositor?.kind ?? 'none',
        backend: backend?.name ?? 'none',
        fallbacks: [...fallbacks],
      };
    },

    stop() {
      if (stopped) return;
      stopped = true;
      teardown();
      const seg = segmenter;
      segmenter = undefined;
      if (seg) void (inference ?? Promise.resolve()).then(() => seg.close());
    },
  };
}
