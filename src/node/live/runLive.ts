/**
 * A live session: a camera (or device, URL, synthetic source) → the stream's processors (mirror,
 * background effect, yours, FPS meter) on the core Engine → a preview page, a file, a stream URL
 * and/or a virtual camera.
 *
 * A live source must never fall behind: the Engine runs one frame at a time and is always handed
 * the camera's newest frame; older frames that arrive meanwhile are dropped (counted in `dropped`)
 * instead of queued; the camera is read in a worker thread, so it keeps being drained while the
 * main thread processes a frame (newestFrameSource.ts). File and stream outputs keep real time
 * (liveSink.ts).
 *
 * Stopping (the signal, `q` in the terminal or page, Ctrl-C in the terminal's raw mode, stop(),
 * or reaching `to`) ends the stream and finishes every output properly, so a recorded file is
 * complete. A camera
 * that stops delivering ends the session with the source's clear error (VideoSourceError
 * `stalled`) after `stallTimeoutMs`; what was recorded until then is kept.
 */
import { performance } from 'node:perf_hooks';
import type { StageTimings } from '../../core/effect.js';
import { Engine, type FrameSource, type FrameStats } from '../../core/engine.js';
import type { FpsMeter } from '../../core/fpsMeter.js';
import type { Frame } from '../../core/frame.js';
import type { FrameProcessor } from '../../core/processor.js';
import { streamChain, type StreamOptions } from '../../core/streamChain.js';
import type { TemporalOptions } from '../../core/temporal.js';
import type { FfmpegOptions } from '../video/ffmpegPath.js';
import type { Rational } from '../video/probe.js';
import { pointMs, type VideoPoint } from '../video/point.js';
import { checkVideoOutput, type VideoSinkResult } from '../video/sink.js';
import { kindOfInputSpec, resolveLiveInput, type CameraInputOptions } from './cameraInput.js';
import { KEY_HELP, keyAction, listenTerminalKeys, type KeyAction, type KeyInput } from './keys.js';
import { LiveSink } from './liveSink.js';
import { NewestFrameSource } from './newestFrameSource.js';
import { startPreviewServer, type PreviewServer } from './previewServer.js';

/** The background effect of a live stream: a processor whose backgrounds the a/d keys cycle. */
export interface LiveEffect extends FrameProcessor {
  next(): void;
  previous(): void;
  /** Accumulated ms per stage (BackgroundEffect), reported per frame in the stats. */
  timings?: StageTimings;
  /** Forget earlier frames (BackgroundEffect): called after the warm-up frame. */
  resetTemporal?(): void;
  /** Composite into the incoming frame (BackgroundEffect): set, as a camera's frames are the session's own. */
  inPlace?: boolean;
}

/** What runLive needs from a Backdrop (createBackdrop's result fits). */
export interface LiveBackdrop {
  /** A fresh effect for this stream; `temporal` undefined = the Backdrop's default for streams (smoothing on). */
  streamEffect(temporal?: TemporalOptions | boolean): LiveEffect;
}

export interface LiveOutputs {
  /** Serve the preview page: a port, or true for any free port. */
  preview?: number | boolean;
  /** Record to a video file (.mp4, .mkv, .webm, .mov). */
  file?: string;
  /** Stream to a URL (rtmp:// → FLV, others MPEG-TS). */
  url?: string;
  /** A v4l2loopback device, e.g. /dev/video10 (Linux). */
  virtualCamera?: string;
}

/**
 * The stream options (StreamOptions): `temporal` smoothing is on unless false, `flip` mirrors the
 * camera, `fps` shows the FPS meter from the start (the `f` key shows and hides it either way),
 * `processors` run after the effect.
 */
export interface LiveOptions extends FfmpegOptions, CameraInputOptions, StreamOptions {
  /** `camera[:N]`, `/dev/videoN`, a URL, `lavfi:GRAPH`, a file (played in real time) — or raw ffmpeg input args. */
  input: string | { args: string[]; name?: string };
  backdrop: LiveBackdrop;
  /** Default: a preview on any free port. */
  outputs?: LiveOutputs;
  /** End with an error when the camera delivers nothing for this long (default 10 000 ms). */
  stallTimeoutMs?: number;
  /** ... or has delivered nothing this long after starting (default 20 000 ms). */
  startTimeoutMs?: number;
  /** Stop cleanly. */
  signal?: AbortSignal;
  /** Called every `statsIntervalMs` (default 1000). */
  onStats?: (stats: LiveStats) => void;
  statsIntervalMs?: number;
  /** Read keys from the terminal (true = process.stdin when it is a TTY). */
  keys?: boolean | KeyInput;
  /** `f` was pressed: the FPS meter is now shown (true) or hidden. */
  onToggleFps?: (shown: boolean) => void;
  /** The source is open and the outputs are ready (the preview URL is known). */
  onReady?: (info: LiveReadyInfo) => void;
  /**
   * Bounds in the session's time (from the camera's first frame; a frame number counts at the
   * camera's rate): the session ends by itself at `to`, as at the end of an input, finishing the
   * outputs. Before `from` the frames pass through without the processors, or with `trim` are
   * not shown or recorded at all.
   */
  from?: VideoPoint;
  to?: VideoPoint;
  trim?: boolean;
  /** Replace an existing output file. */
  force?: boolean;
  /** File/stream encoder settings. */
  crf?: number;
  preset?: string;
}

/**
 * The camera's frames restamped in session time by `clock` (given the camera's own timestamp,
 * counted from the first frame taken: frames that arrived before the session asked for one are
 * not part of it). The stream ends, as an input that ended, at the first frame `ended` refuses.
 */
function inSessionTime(camera: NewestFrameSource, clock: (sinceFirst: number) => number, ended: (timestamp: number) => boolean): FrameSource {
  return {
    frames: () => ({
      [Symbol.asyncIterator]: () => {
        const frames = camera.frames()[Symbol.asyncIterator]();
        let zero: number | undefined;
        return {
          next: async (): Promise<IteratorResult<Frame>> => {
            const r = await frames.next();
            if (r.done) return r;
            const at = r.value.timestamp ?? performance.now();
            zero ??= at;
            const timestamp = clock(at - zero);
            if (ended(timestamp)) return { done: true, value: undefined };
            return { done: false, value: { ...r.value, timestamp } };
          },
        };
      },
    }),
    close: () => camera.close(),
  };
}

export interface LiveReadyInfo {
  input: string;
  width: number;
  height: number;
  frameRate: Rational;
  previewUrl?: string;
  keyHelp: string;
}

export interface LiveStats {
  /** Frames processed and sent to the outputs. */
  frames: number;
  /** Camera frames skipped because processing was busy. */
  dropped: number;
  /** Processed frames per second over the last 30 frames (at most 5 s). */
  fps: number;
  /** Since the first frame came out processed (in the summary: from the first out to the last). */
  seconds: number;
  width: number;
  height: number;
  /** Milliseconds per frame, recent average: the effect's stages, `effect`, `processors`, `outputs`. */
  stages: Record<string, number>;
  rssBytes: number;
  peakRssBytes: number;
}

export interface LiveSummary extends LiveStats {
  /** Average processed frames per second over the whole session. */
  averageFps: number;
  stoppedBy: 'signal' | 'key' | 'stop' | 'end';
  /** Finished file/stream/device outputs. */
  outputs: VideoSinkResult[];
}

export interface LiveSession {
  readonly previewUrl: string | undefined;
  /** The FPS meter drawn on the frames when shown (`f`). */
  readonly fpsMeter: FpsMeter;
  readonly width: number;
  readonly height: number;
  readonly frameRate: Rational;
  stats(): LiveStats;
  /** Do what a key does. */
  action(action: KeyAction): void;
  /** Stop cleanly (same as `q`). */
  stop(): void;
  /** Resolves when the session has ended and every output is finished; rejects on a stall or failure. */
  readonly done: Promise<LiveSummary>;
}

const EMA = 0.1;

/** Start a live session; resolves once the source is open and the outputs are ready. */
export async function startLive(opts: LiveOptions): Promise<LiveSession> {
  const outputs = opts.outputs ?? { preview: true };
  const wantsPreview = outputs.preview !== undefined && outputs.preview !== false;
  if (!wantsPreview && !outputs.file && !outputs.url && !outputs.virtualCamera) throw new RangeError('a live session needs an output: preview, file, url or virtualCamera');
  // A video file played as a camera is an input the recording must not replace.
  const inputFile = typeof opts.input === 'string' && kindOfInputSpec(opts.input) === 'file' ? [opts.input] : [];
  if (outputs.file) await checkVideoOutput(outputs.file, { force: opts.force, inputs: inputFile });

  const input = typeof opts.input === 'string' ? await resolveLiveInput(opts.input, opts) : { args: opts.input.args, name: opts.input.name ?? opts.input.args.join(' ') };
  // Read in a worker thread, so the camera is drained while a frame is processed (newestFrameSource.ts).
  const camera = await NewestFrameSource.open(
    { args: input.args, name: input.name },
    { channels: 3, stallTimeoutMs: opts.stallTimeoutMs, startTimeoutMs: opts.startTimeoutMs, ffmpegPath: opts.ffmpegPath, ffprobePath: opts.ffprobePath },
  );
  const { width, height, frameRate } = camera.info;
  const fromMs = opts.from !== undefined ? pointMs(opts.from, frameRate) : undefined;
  const toMs = opts.to !== undefined ? pointMs(opts.to, frameRate) : undefined;
  if (fromMs !== undefined && toMs !== undefined && !(toMs > fromMs)) {
    await camera.close();
    throw new RangeError('--to must come after --from');
  }

  // --- stats
  let frames = 0;
  let firstAt: number | null = null;
  /** Session time of the first frame out. */
  let firstOutTimestamp = 0;
  let lastAt = 0;
  let effectMs = 0;
  const recent: number[] = [];
  const stages: Record<string, number> = {};
  let rss = process.memoryUsage.rss();
  let peakRss = rss;
  const sampleRss = (): void => {
    rss = process.memoryUsage.rss();
    if (rss > peakRss) peakRss = rss;
  };
  const stage = (name: string, ms: number): void => {
    // The first frame pays for warm-up and for starting the encoders: leave it out.
    if (frames === 0) return;
    stages[name] = stages[name] === undefined ? ms : stages[name] + EMA * (ms - stages[name]);
  };
  const stats = (): LiveStats => {
    sampleRss();
    const t = performance.now();
    // The last frames of the last 5 s (slow machines still get a figure; a stopped camera reads 0).
    const window = recent.filter((x) => t - x <= 5000).slice(-30);
    let fps = 0;
    if (window.length >= 2) fps = ((window.length - 1) * 1000) / Math.max(1, window[window.length - 1] - window[0]);
    return {
      frames,
      dropped: camera.dropped,
      fps: Math.round(fps * 100) / 100,
      seconds: firstAt === null ? 0 : Math.round((performance.now() - firstAt) / 10) / 100,
      width,
      height,
      stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, Math.round(v * 100) / 100])),
      rssBytes: rss,
      peakRssBytes: peakRss,
    };
  };

  // --- processors: the effect is timed on its own (with its stages), the rest together
  const effect = opts.backdrop.streamEffect(opts.temporal);
  // Each camera frame arrives in a buffer of its own (transferred from the camera's worker, or the
  // mirror's copy) that nothing reads after the effect: compositing into it saves copying the
  // frame and allocating another (≈ 2.7 MB a 720p frame).
  effect.inPlace = true;
  const timedEffect: FrameProcessor = {
    init: () => effect.init?.(),
    close: () => effect.close?.(),
    process: async (frame: Frame) => {
      const t0 = performance.now();
      const before = effect.timings ? { ...effect.timings } : null;
      const out = await effect.process(frame);
      effectMs = performance.now() - t0;
      if (before && effect.timings) {
        for (const k of Object.keys(before) as (keyof StageTimings)[]) stage(k, effect.timings[k] - before[k]);
      }
      return out;
    },
  };
  // The model's first run is slow (tens of ms, seconds on a busy machine): pay it on a blank frame
  // now, so the session's first camera frame is not held up (a recording would start that late).
  try {
    await effect.process({ width, height, channels: 3, data: new Uint8Array(width * height * 3), timestamp: 0 });
    effect.resetTemporal?.();
  } catch (err) {
    await camera.close();
    throw err;
  }
  const chain = streamChain(timedEffect, opts, true);
  const fpsMeter = chain.fpsMeter!;

  // --- stopping
  let stoppedBy: LiveSummary['stoppedBy'] = 'end';
  let stopping = false;
  let engine: Engine | null = null;
  const stop = (by: LiveSummary['stoppedBy']): void => {
    if (stopping) return;
    stopping = true;
    stoppedBy = by;
    camera.end();
    engine?.stop();
  };
  const onUserAbort = (): void => stop('signal');
  const action = (a: KeyAction): void => {
    if (a === 'previous') effect.previous();
    else if (a === 'next') effect.next();
    else if (a === 'toggle-fps') {
      // Not inside `onToggleFps?.(…)`: an absent callback would skip evaluating its argument.
      const shown = fpsMeter.toggle();
      opts.onToggleFps?.(shown);
    }
    else stop('key');
  };

  // --- outputs
  let preview: PreviewServer | null = null;
  let restoreKeys: () => void = () => {};
  try {
    if (wantsPreview) {
      preview = await startPreviewServer({
        port: typeof outputs.preview === 'number' ? outputs.preview : 0,
        onKey: (key) => {
          const a = keyAction(key);
          if (a) action(a);
        },
        stats,
        title: `backdrop live · ${input.name}`,
      });
    }
    if (opts.keys) restoreKeys = listenTerminalKeys(action, opts.keys === true ? process.stdin : opts.keys);
  } catch (err) {
    await preview?.close();
    await camera.close();
    throw err;
  }
  const sink = new LiveSink({
    preview,
    targets: [outputs.file, outputs.url, outputs.virtualCamera].filter((o): o is string => !!o),
    file: outputs.file,
    frameRate,
    force: opts.force,
    crf: opts.crf,
    preset: opts.preset,
    ffmpegPath: opts.ffmpegPath,
    ffprobePath: opts.ffprobePath,
    // A stalled or failed camera keeps what was recorded.
    keepOutputsAfter: (reason) => reason === camera.error,
  });
  // The recorders start with the camera, so they take the first processed frame at once. Frames
  // stay RGB at the camera's size except for a transparent cut-out (RGBA), which reopens them.
  sink.prepare(width, height, 3);
  const timedSink = {
    write: async (frame: Frame) => {
      const t = performance.now();
      if (firstAt === null) firstOutTimestamp = frame.timestamp ?? 0;
      await sink.write(frame);
      if (sink.hasTargets) stage('outputs', performance.now() - t);
    },
    finish: () => sink.finish(),
    abort: (reason?: unknown) => sink.abort(reason),
  };
  const onFrame = (s: FrameStats): void => {
    stage('effect', effectMs);
    stage('processors', s.processMs - effectMs);
    frames++;
    lastAt = performance.now();
    // The session runs from the first frame out (what a recording starts with), not from when the
    // first frame went in: that one also pays for warming the model up.
    firstAt ??= lastAt;
    recent.push(lastAt);
    if (recent.length > 120) recent.splice(0, recent.length - 120);
    if (frames % 30 === 0) sampleRss();
  };
  engine = new Engine({
    source: inSessionTime(
      camera,
      // Until a frame goes out, the camera's clock; then the outputs' (a recording is stamped as
      // frames reach it): time since the first frame out, plus that frame's session time. So
      // starting the encoders or a busy moment cannot make a recording bounded by --to shorter.
      (sinceFirst) => (firstAt === null ? sinceFirst : firstOutTimestamp + (performance.now() - firstAt)),
      (timestamp) => {
        if (toMs === undefined || timestamp < toMs) return false;
        stop('end');
        return true;
      },
    ),
    processors: chain.processors,
    sink: timedSink,
    range: fromMs !== undefined ? { unit: 'ms', from: fromMs } : undefined,
    trim: opts.trim,
    maxInFlight: 1,
    onFrame,
  });

  let statsTimer: NodeJS.Timeout | undefined;
  if (opts.onStats) {
    const onStats = opts.onStats;
    statsTimer = setInterval(() => onStats(stats()), opts.statsIntervalMs ?? 1000);
    statsTimer.unref();
  }
  if (opts.signal?.aborted) stop('signal');
  opts.signal?.addEventListener('abort', onUserAbort, { once: true });

  const run = engine.run();
  const done = (async (): Promise<LiveSummary> => {
    try {
      await run;
    } finally {
      if (statsTimer) clearInterval(statsTimer);
      restoreKeys();
      opts.signal?.removeEventListener('abort', onUserAbort);
      await preview?.close();
    }
    const s = stats();
    const seconds = firstAt === null ? 0 : (lastAt - firstAt) / 1000;
    return {
      ...s,
      seconds: Math.round(seconds * 100) / 100,
      averageFps: seconds > 0 ? Math.round(((frames - 1) / seconds) * 100) / 100 : 0,
      stoppedBy,
      outputs: sink.results,
    };
  })();
  // The caller may not await done before it settles.
  done.catch(() => undefined);

  opts.onReady?.({ input: input.name, width, height, frameRate, previewUrl: preview?.url, keyHelp: KEY_HELP });

  return {
    previewUrl: preview?.url,
    fpsMeter,
    width,
    height,
    frameRate,
    stats,
    action,
    stop: () => stop('stop'),
    done,
  };
}

/** Run a live session until it is stopped (signal, `q`) or fails (stalled camera). */
export async function runLive(opts: LiveOptions): Promise<LiveSummary> {
  const session = await startLive(opts);
  return session.done;
}
