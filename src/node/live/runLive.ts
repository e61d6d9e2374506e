/**
 * A live session: a camera (or device, URL, synthetic source) → the background effect and any
 * extra processors → a preview page, a file, a stream URL and/or a virtual camera.
 *
 * A live source must never fall behind: frames are read as fast as they arrive and only the
 * newest one waits for processing; when processing is slower than the camera, older frames are
 * dropped (counted in `dropped`) instead of queued. File and stream outputs are written at the
 * source's frame rate in real time: a frame is repeated when frames were dropped before it (and
 * skipped when it arrives early), so a recording lasts as long as the session did.
 *
 * Stopping (the signal, `q` in the terminal or page, Ctrl-C in the terminal's raw mode, stop())
 * ends ffmpeg's input and finishes every output properly, so a recorded file is complete. A camera
 * that stops delivering ends the session with the source's clear error (VideoSourceError
 * `stalled`) after `stallTimeoutMs`; what was recorded until then is kept.
 */
import { performance } from 'node:perf_hooks';
import type { StageTimings } from '../../core/effect.js';
import type { Frame } from '../../core/frame.js';
import type { FrameProcessor } from '../../core/processor.js';
import type { FfmpegOptions } from '../video/ffmpegPath.js';
import type { Rational } from '../video/probe.js';
import { checkVideoOutput, openVideoSink, type VideoSink, type VideoSinkResult } from '../video/sink.js';
import { openVideoSource, type VideoSource } from '../video/source.js';
import { resolveLiveInput, type CameraInputOptions } from './cameraInput.js';
import { KEY_HELP, keyAction, listenTerminalKeys, type KeyAction, type KeyInput } from './keys.js';
import { startPreviewServer, type PreviewServer } from './previewServer.js';

/** What runLive needs from a Backdrop (createBackdrop's result fits). */
export interface LiveBackdrop {
  effect: FrameProcessor & {
    next(): void;
    previous(): void;
    /** Accumulated ms per stage (BackgroundEffect), reported per frame in the stats. */
    timings?: StageTimings;
  };
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

export interface LiveOptions extends FfmpegOptions, CameraInputOptions {
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
  /** Extra processors run after the effect, in order (e.g. an FPS meter). */
  processors?: FrameProcessor[];
  /** Read keys from the terminal (true = process.stdin when it is a TTY). */
  keys?: boolean | KeyInput;
  /** `f` was pressed. */
  onToggleFps?: () => void;
  /** The source is open and the outputs are ready (the preview URL is known). */
  onReady?: (info: LiveReadyInfo) => void;
  /** Replace an existing output file. */
  force?: boolean;
  /** File/stream encoder settings. */
  crf?: number;
  preset?: string;
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
  /** Since the first processed frame (in the summary: from the first to the last one). */
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

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR');
}

const EMA = 0.1;

/** Start a live session; resolves once the source is open and the outputs are ready. */
export async function startLive(opts: LiveOptions): Promise<LiveSession> {
  const outputs = opts.outputs ?? { preview: true };
  const wantsPreview = outputs.preview !== undefined && outputs.preview !== false;
  if (!wantsPreview && !outputs.file && !outputs.url && !outputs.virtualCamera) throw new RangeError('a live session needs an output: preview, file, url or virtualCamera');
  if (outputs.file) await checkVideoOutput(outputs.file, { force: opts.force });

  const ctrl = new AbortController();
  let stoppedBy: LiveSummary['stoppedBy'] = 'end';
  const stop = (by: LiveSummary['stoppedBy']): void => {
    if (ctrl.signal.aborted) return;
    stoppedBy = by;
    const err = new Error('live session stopped');
    err.name = 'AbortError';
    ctrl.abort(err);
  };
  const onUserAbort = (): void => stop('signal');
  if (opts.signal?.aborted) stop('signal');
  opts.signal?.addEventListener('abort', onUserAbort, { once: true });

  const input = typeof opts.input === 'string' ? await resolveLiveInput(opts.input, opts) : { args: opts.input.args, name: opts.input.name ?? opts.input.args.join(' ') };
  let source: VideoSource;
  try {
    source = await openVideoSource(
      { args: input.args, name: input.name },
      { channels: 3, stallTimeoutMs: opts.stallTimeoutMs, startTimeoutMs: opts.startTimeoutMs, signal: ctrl.signal, ffmpegPath: opts.ffmpegPath, ffprobePath: opts.ffprobePath },
    );
  } catch (err) {
    opts.signal?.removeEventListener('abort', onUserAbort);
    throw err;
  }
  const { width, height, frameRate } = source.info;

  // --- state
  let frames = 0;
  let dropped = 0;
  let firstAt: number | null = null;
  let lastAt = 0;
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
      dropped,
      fps: Math.round(fps * 100) / 100,
      seconds: firstAt === null ? 0 : Math.round((performance.now() - firstAt) / 10) / 100,
      width,
      height,
      stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, Math.round(v * 100) / 100])),
      rssBytes: rss,
      peakRssBytes: peakRss,
    };
  };

  const action = (a: KeyAction): void => {
    if (a === 'previous') opts.backdrop.effect.previous();
    else if (a === 'next') opts.backdrop.effect.next();
    else if (a === 'toggle-fps') opts.onToggleFps?.();
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
    await source.close();
    opts.signal?.removeEventListener('abort', onUserAbort);
    throw err;
  }

  interface Out {
    sink: VideoSink | null;
    opening: Promise<VideoSink> | null;
    output: string;
    written: number;
  }
  const sinkOutputs: Out[] = [outputs.file, outputs.url, outputs.virtualCamera].filter((o): o is string => !!o).map((output) => ({ sink: null, opening: null, output, written: 0 }));
  const rate = frameRate.num / frameRate.den;

  const openSink = (o: Out, frame: Frame): Promise<VideoSink> => {
    o.opening ??= openVideoSink({
      output: o.output,
      width: frame.width,
      height: frame.height,
      channels: frame.channels,
      transparent: o.output === outputs.file && frame.channels === 4 ? true : undefined,
      fps: frameRate,
      force: opts.force,
      crf: opts.crf,
      preset: opts.preset,
      ffmpegPath: opts.ffmpegPath,
      ffprobePath: opts.ffprobePath,
    }).then((s) => (o.sink = s));
    return o.opening;
  };

  /** Write a processed frame, repeated or skipped so that the output keeps real time. */
  const writeOut = async (o: Out, frame: Frame, t: number): Promise<void> => {
    const sink = o.sink ?? (await openSink(o, frame));
    const due = Math.floor((t * rate) / 1000) + 1;
    const copies = o.written === 0 ? 1 : Math.min(Math.max(0, due - o.written), Math.ceil(rate * 10));
    for (let i = 0; i < copies; i++) {
      await sink.write(frame);
      o.written++;
    }
  };

  // --- reading: keep only the newest frame
  let slot: Frame | null = null;
  let readerDone = false;
  let readerError: unknown = null;
  let wakeProcessor: (() => void) | null = null;
  const wake = (): void => {
    const w = wakeProcessor;
    wakeProcessor = null;
    w?.();
  };
  ctrl.signal.addEventListener('abort', wake, { once: true });
  const reader = (async () => {
    try {
      for await (const f of source.frames()) {
        if (slot) {
          dropped++;
          source.recycle(slot);
        }
        slot = f;
        wake();
      }
    } catch (err) {
      if (!isAbort(err) && !ctrl.signal.aborted) readerError = err;
    } finally {
      readerDone = true;
      wake();
    }
  })();
  const takeFrame = async (): Promise<Frame | null> => {
    for (;;) {
      if (ctrl.signal.aborted) return null;
      if (slot) {
        const f = slot;
        slot = null;
        return f;
      }
      if (readerDone) return null;
      await new Promise<void>((resolve) => {
        wakeProcessor = resolve;
      });
    }
  };

  let statsTimer: NodeJS.Timeout | undefined;
  if (opts.onStats) {
    const onStats = opts.onStats;
    statsTimer = setInterval(() => onStats(stats()), opts.statsIntervalMs ?? 1000);
    statsTimer.unref();
  }

  const effect = opts.backdrop.effect;
  const processors = opts.processors ?? [];
  let firstTimestamp: number | null = null;

  /** An output failed (the others are still finished, so a recording survives a dropped stream). */
  let outputError: unknown = null;
  const loop = async (): Promise<void> => {
    for (;;) {
      const frame = await takeFrame();
      if (!frame) return;
      const t0 = performance.now();
      firstAt ??= t0;
      const before = effect.timings ? { ...effect.timings } : null;
      let out = await effect.process(frame);
      const t1 = performance.now();
      stage('effect', t1 - t0);
      if (before && effect.timings) {
        for (const k of Object.keys(before) as (keyof StageTimings)[]) stage(k, effect.timings[k] - before[k]);
      }
      for (const p of processors) out = await p.process(out);
      const t2 = performance.now();
      if (processors.length > 0) stage('processors', t2 - t1);
      firstTimestamp ??= frame.timestamp ?? 0;
      const t = (frame.timestamp ?? 0) - firstTimestamp;
      preview?.push(out);
      const written = await Promise.allSettled(sinkOutputs.map((o) => writeOut(o, out, t)));
      const rejected = written.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) {
        outputError = rejected.reason;
        throw outputError;
      }
      const t3 = performance.now();
      if (sinkOutputs.length > 0) stage('outputs', t3 - t2);
      frames++;
      lastAt = t3;
      recent.push(t3);
      if (recent.length > 120) recent.splice(0, recent.length - 120);
      if (frames % 30 === 0) sampleRss();
    }
  };

  const done = (async (): Promise<LiveSummary> => {
    let failure: unknown = null;
    try {
      await loop();
    } catch (err) {
      failure = err;
    }
    if (!failure && readerError) failure = readerError;
    // Stop reading, then finish (or, after a processing failure, discard) the outputs.
    if (!ctrl.signal.aborted && failure) ctrl.abort(failure);
    await source.close();
    await reader;
    if (statsTimer) clearInterval(statsTimer);
    restoreKeys();
    opts.signal?.removeEventListener('abort', onUserAbort);
    const results: VideoSinkResult[] = [];
    // A failing effect/processor discards the outputs; a stalled camera or a failed output keeps the rest.
    const processingFailed = failure !== null && failure !== readerError && failure !== outputError;
    for (const o of sinkOutputs) {
      const sink = o.sink ?? (o.opening ? await o.opening.catch(() => null) : null);
      if (!sink) continue;
      try {
        if (processingFailed) await sink.abort();
        else results.push(await sink.finish());
      } catch (err) {
        failure ??= err;
      }
    }
    await preview?.close();
    if (failure) throw failure;
    const s = stats();
    const seconds = firstAt === null ? 0 : (lastAt - firstAt) / 1000;
    return {
      ...s,
      seconds: Math.round(seconds * 100) / 100,
      averageFps: seconds > 0 ? Math.round(((frames - 1) / seconds) * 100) / 100 : 0,
      stoppedBy,
      outputs: results,
    };
  })();
  // The caller may not await done before it settles.
  done.catch(() => undefined);

  opts.onReady?.({ input: input.name, width, height, frameRate, previewUrl: preview?.url, keyHelp: KEY_HELP });

  return {
    previewUrl: preview?.url,
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
