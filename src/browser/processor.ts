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
 * Inference never queues up: while one is in flight, frames reuse the last mask (or, where the
 * model runs on the page's own thread, each frame waits for its own mask — nothing else could run
 * meanwhile anyway). Frames that arrive while the previous frame is still being drawn are dropped.
 */
import type { InferenceBackend } from '../core/runtime.js';
import type { Mask } from '../core/frame.js';
import type { Segmenter } from '../core/segmenter.js';
import {
  DEFAULT_COMPOSITOR_OPTIONS,
  mergeOptions,
  type Compositor,
  type CompositorOptions,
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

/** The edge refinement when none is asked for (see BackgroundProcessorOptions.refine). */
export function defaultRefine(kind: CompositorKind = 'auto'): RefineMode {
  if (kind === 'canvas2d') return 'bilinear';
  const g = graphicsInfo();
  return g.webgl2 && !g.software ? 'bilateral' : 'bilinear';
}

export function createBackgroundProcessor(options: BackgroundProcessorOptions = {}): BackgroundProcessor {
  let compositorOptions = mergeOptions(DEFAULT_COMPOSITOR_OPTIONS, { refine: defaultRefine(options.compositor), ...compositorPart(options) });
  let model: ModelSource = options.model ?? 'general';
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
  let busy = false;
  let inFlight: Promise<void> | undefined;
  let haveMask = false;

  function loadBackend(): Promise<InferenceBackend> {
    backendLoad ??= (async () => {
      // By default the model runs in onnxruntime-web's worker: inference overlaps drawing, and
      // frames reuse the last mask while it runs (measured ≈ 1.5× the frame rate of inference on
      // the page's thread, 640×360 on 2 cores with software GL).
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
      haveMask = false;
      if (old) void (inFlight ?? Promise.resolve()).then(() => old.close());
      return next;
    })();
    segmenterLoad.catch(() => {
      if (segmenterModel === wanted) segmenterLoad = undefined;
    });
    return segmenterLoad;
  }

  function offMainThread(): boolean {
    return (backend as Partial<OrtWebBackend> | undefined)?.offMainThread === true;
  }

  function startInference(c: Compositor, seg: Segmenter): Promise<void> {
    const t0 = performance.now();
    const input = c.readModelInput(seg.spec.inputWidth, seg.spec.inputHeight);
    const t1 = performance.now();
    metrics.modelInput.push(t1 - t0, t1);
    inferences++;
    return seg.segment(input).then(
      (mask: Mask) => {
        const t2 = performance.now();
        metrics.inference.push(t2 - t1, t2);
        if (!stopped && compositor === c) {
          c.setMask(mask);
          haveMask = true;
        }
      },
      (e: unknown) => {
        console.error('backdrop: inference failed', e);
      },
    ).finally(() => {
      inFlight = undefined;
    });
  }

  /** Draws one frame into the compositor's canvas; false when the pipeline was replaced or stopped meanwhile. */
  async function drawFrame(c: Compositor, source: FrameSource): Promise<boolean> {
    const start = performance.now();
    c.setFrame(source);
    let composite = performance.now() - start;
    const seg = segmenter;
    if (c.options.effect.type !== 'none' && seg) {
      if (!inFlight) {
        inFlight = startInference(c, seg);
        if (!haveMask || !offMainThread()) await inFlight;
        if (compositor !== c) return false;
      }
    }
    const t = performance.now();
    c.render();
    const end = performance.now();
    composite += end - t;
    metrics.frame(composite, end - start, end);
    frames++;
    return true;
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
      async transform(frame, controller) {
        try {
          if (!(await drawFrame(c, frame))) return;
          const init: VideoFrameInit = { timestamp: frame.timestamp, alpha: 'discard' };
          if (frame.duration !== null) init.duration = frame.duration;
          controller.enqueue(new VideoFrame(c.canvas, init));
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
      if (busy) {
        dropped++;
        return;
      }
      busy = true;
      drawFrame(c, video)
        .catch((e: unknown) => console.error('backdrop: frame failed', e))
        .finally(() => {
          busy = false;
        });
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
    haveMask = false;
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
      const mode = options.pipeline ?? 'auto';
      const useInsertable = mode === 'insertable-streams' || (mode === 'auto' && insertableStreams() !== undefined);
      pipeline = useInsertable ? insertablePipeline(track) : await canvasPipeline(track);
      pipelineKind = useInsertable ? 'insertable-streams' : 'canvas';
      return pipeline.output;
    },

    setOptions(update) {
      const next = mergeOptions(compositorOptions, compositorPart(update));
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
      if (seg) void (inFlight ?? Promise.resolve()).then(() => seg.close());
    },
  };
}
