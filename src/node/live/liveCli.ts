/**
 * The live part of the command line, ready to be wired into cli/program.ts: `backdrop camera[:N]`
 * (or a device, URL or `lavfi:` source, or a video file with `--live`/`--loop`) and
 * `backdrop --list-cameras`. Prints to the CLI's io, never to the console directly, and returns
 * the exit status.
 */
import type { FpsMeterOptions } from '../../core/fpsMeter.js';
import type { FrameProcessor } from '../../core/processor.js';
import { createBackdrop, type BackdropOptions } from '../facade.js';
import { kindOfOutput } from '../video/sinkPlan.js';
import { VideoSourceError } from '../video/source.js';
import { interruptedExitCode } from '../interrupt.js';
import { temporalFrom } from '../options/backdropOptions.js';
import { formatCameraList, kindOfInputSpec, listCameras } from './cameraInput.js';
import { KEY_HELP } from './keys.js';
import { runLive, type LiveOutputs, type LiveStats } from './runLive.js';
import type { VideoPoint } from '../video/point.js';

/** What the CLI needs from its io (cli/batch.ts CliIO fits). */
export interface LiveCliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** stderr is a terminal: draw a status line. */
  interactive: boolean;
  /** Ctrl-C, SIGTERM… (the reason an Interrupted, which sets the exit status). */
  signal?: AbortSignal;
}

export interface LiveCliOptions {
  /** `-o`: a file, or a URL (rtmp://, srt://, udp://, http://). */
  output?: string;
  /** `--preview [port]`: true = any free port. Default when no other output is given. */
  preview?: number | boolean;
  /** `--virtual-camera /dev/videoN`. */
  virtualCamera?: string;
  /** `--stall-timeout <s>`, seconds (default 10). */
  stallTimeout?: number;
  /** `--loop`: a video file played as a camera starts over when it ends. */
  loop?: boolean;
  /** `--from`/`--to`/`--trim`: bounds of the session (see LiveOptions). */
  from?: VideoPoint;
  to?: VideoPoint;
  trim?: boolean;
  force?: boolean;
  crf?: number;
  preset?: string;
  quiet?: boolean;
  json?: boolean;
  /** Read keys from the terminal (default: when stdin is a TTY). */
  keys?: boolean;
  /** `--flip`: mirror the camera. */
  flip?: boolean;
  /** `--fps`: show the FPS meter from the start, in this style (`f` toggles it). */
  fps?: boolean | FpsMeterOptions;
  /** `--smoothing <0-1>`: temporal smoothing strength, 0 = off (default 0.5). */
  smoothing?: number;
  /**
   * `--every-frame`: the model runs on every frame (by default a steady frame may go on the
   * smoother's prediction). Without `smoothing` it asks for the default strength, not the
   * Backdrop's own `temporal`.
   */
  everyFrame?: boolean;
}

/** Is this command-line input a live source rather than a file? (`camera`, `camera:N`, `/dev/videoN`, a stream URL, `lavfi:…`) */
export function isLiveInput(arg: string): boolean {
  return kindOfInputSpec(arg) !== 'file';
}

/** `backdrop --list-cameras`. */
export async function listCamerasCommand(io: Pick<LiveCliIO, 'stdout'>, opts: { json?: boolean } = {}): Promise<number> {
  const cameras = await listCameras();
  io.stdout(opts.json ? `${JSON.stringify({ cameras }, null, 2)}\n` : `${formatCameraList(cameras)}\n`);
  return 0;
}

/** The outputs a set of flags asks for. Exported for tests. */
export function liveOutputsFrom(opts: LiveCliOptions): LiveOutputs {
  const outputs: LiveOutputs = {};
  if (opts.output !== undefined) {
    if (kindOfOutput(opts.output) === 'url') outputs.url = opts.output;
    else if (kindOfOutput(opts.output) === 'device') outputs.virtualCamera = opts.output;
    else outputs.file = opts.output;
  }
  if (opts.virtualCamera !== undefined) {
    if (!/^\/dev\/video\d+$/.test(opts.virtualCamera)) throw new RangeError(`--virtual-camera takes a v4l2loopback device such as /dev/video10, got ${opts.virtualCamera}`);
    outputs.virtualCamera = opts.virtualCamera;
  }
  if (opts.preview !== undefined && opts.preview !== false) outputs.preview = opts.preview;
  else if (opts.preview === undefined && !outputs.file && !outputs.url && !outputs.virtualCamera) outputs.preview = true;
  return outputs;
}

function statusLine(s: LiveStats): string {
  const mb = (b: number) => `${Math.round(b / 1048576)} MB`;
  return `${s.fps.toFixed(1)} fps | ${s.frames} frames | ${s.dropped} dropped | ${s.seconds.toFixed(0)} s | ${mb(s.rssBytes)} RSS`;
}

/**
 * `backdrop <live input> [flags]`. Exit status: 0 stopped with `q` (or the input ended, or --to
 * reached), 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (outputs still finished properly), 1 the camera
 * stalled or failed.
 */
export async function runLiveCommand(
  input: string,
  opts: LiveCliOptions,
  backdropOptions: BackdropOptions,
  io: LiveCliIO,
  extra: { processors?: FrameProcessor[]; onToggleFps?: (shown: boolean) => void } = {},
): Promise<number> {
  const outputs = liveOutputsFrom(opts);
  // -q: errors only, no warnings (the WebAssembly fallback's, a skipped background).
  const backdrop = await createBackdrop({ onWarning: (m) => (opts.quiet ? undefined : io.stderr(`warning: ${m}\n`)), ...backdropOptions });
  const say = (text: string): void => {
    if (!opts.quiet) io.stderr(text);
  };
  const showStatus = io.interactive && !opts.quiet && !opts.json;
  let statusShown = false;
  const clearStatus = (): void => {
    if (statusShown) io.stderr('\r\u001b[K');
    statusShown = false;
  };
  try {
    const summary = await runLive({
      input,
      backdrop,
      outputs,
      stallTimeoutMs: opts.stallTimeout !== undefined ? opts.stallTimeout * 1000 : undefined,
      loop: opts.loop,
      from: opts.from,
      to: opts.to,
      trim: opts.trim,
      signal: io.signal,
      force: opts.force,
      crf: opts.crf,
      preset: opts.preset,
      keys: opts.keys ?? Boolean(process.stdin.isTTY),
      processors: extra.processors,
      temporal: temporalFrom(opts.smoothing, opts.everyFrame),
      flip: opts.flip,
      fps: opts.fps,
      onToggleFps: extra.onToggleFps,
      onReady: (info) => {
        say(`${info.input}: ${info.width}×${info.height} at ${(info.frameRate.num / info.frameRate.den).toFixed(2)} fps\n`);
        if (info.previewUrl) say(`preview: ${info.previewUrl}\n`);
        if (outputs.file) say(`recording to ${outputs.file}\n`);
        if (outputs.url) say(`streaming to ${outputs.url}\n`);
        if (outputs.virtualCamera) say(`virtual camera: ${outputs.virtualCamera}\n`);
        // Keys come from the terminal, else from the preview page; with neither, only Ctrl-C.
        if (process.stdin.isTTY) say(`${KEY_HELP}\n`);
        else say(info.previewUrl ? `${KEY_HELP} (in the preview page; Ctrl-C here)\n` : 'Ctrl-C stops\n');
      },
      onStats: (s) => {
        if (!showStatus) return;
        io.stderr(`\r\u001b[K${statusLine(s)}`);
        statusShown = true;
      },
    });
    clearStatus();
    if (opts.json) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    else say(`stopped: ${summary.frames} frames in ${summary.seconds.toFixed(1)} s (${summary.averageFps.toFixed(1)} fps, ${summary.dropped} dropped, peak ${Math.round(summary.peakRssBytes / 1048576)} MB RSS)\n`);
    return summary.stoppedBy === 'signal' ? interruptedExitCode(io.signal) : 0;
  } catch (err) {
    clearStatus();
    if (io.signal?.aborted) return interruptedExitCode(io.signal);
    const message = err instanceof VideoSourceError ? `${err.message}${err.ffmpegLog.length ? `\nffmpeg: ${err.ffmpegLog.slice(-3).join('\nffmpeg: ')}` : ''}` : (err as Error).message;
    if (opts.json) io.stdout(`${JSON.stringify({ error: message }, null, 2)}\n`);
    io.stderr(`error: ${message}\n`);
    return 1;
  } finally {
    await backdrop.close();
  }
}
