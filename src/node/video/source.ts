/**
 * Frames from a video file, a camera, or any ffmpeg input, as an async iterable of Frames.
 *
 * ffmpeg decodes to raw RGB/RGBA on its stdout (`-f rawvideo -pix_fmt rgb24|rgba pipe:1`). The
 * iterator pulls: at most `queueFrames` decoded frames wait in Node, and when they are not taken
 * the pipe is paused, so ffmpeg blocks instead of filling memory.
 *
 * Files are read at a constant rate, `info.frameRate` (exact rational, see probe.ts), with ffmpeg's
 * output option `-r N/D` (rawvideo output → constant-frame-rate mode): for constant-rate files this
 * yields exactly the stored frames; for variable-rate files frames are repeated (or, rarely, dropped)
 * by their timestamps so that frame i is the picture shown at time i·D/N. That keeps every output
 * frame at its original time, so audio copied unchanged from the input stays in sync, and the
 * encoder gets an ordinary constant-rate stream. Frame timestamps are `from` + i·D/N seconds, in ms.
 *
 * Rotation: ffmpeg applies the file's rotation when decoding (autorotate), so frames arrive in
 * display orientation and `info.width`/`info.height` are the display size. Odd sizes are fine.
 *
 * Live inputs (raw ffmpeg input args: a camera, a URL, lavfi) are read as they come
 * (`-fps_mode passthrough`), timestamped by arrival time, and end with an error when nothing
 * arrives for `stallTimeoutMs` (default 10 s; `startTimeoutMs`, default 20 s, before the first
 * frame) instead of hanging.
 */
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Frame } from '../../core/frame.js';
import { ffmpegVersion, findFfmpeg, type FfmpegOptions } from './ffmpegPath.js';
import { FfmpegProcess, abortError, describeExit } from './ffmpegProcess.js';
import {
  VideoInputError,
  expectedFrameCount,
  ffmpegInputPath,
  formatRational,
  parseFfmpegInfo,
  probeVideo,
  snapFrameRate,
  type Rational,
  type VideoInfo,
} from './probe.js';

/** A file path, or raw ffmpeg input arguments (ending in or containing `-i …`), e.g. a camera. */
export type VideoInput = string | { args: string[]; name?: string };

export interface VideoSourceOptions extends FfmpegOptions {
  /** 3 = RGB (default), 4 = RGBA (alpha kept for inputs that have it, else 255). */
  channels?: 3 | 4;
  /** Start at this time, seconds (files only). */
  from?: number;
  /** Stop at this time, seconds (files only). */
  to?: number;
  /** Start a file over when it ends, without end (`-stream_loop -1`; files only). */
  loop?: boolean;
  /** Read at this rate instead of the file's own (files); force a constant rate (live). */
  frameRate?: Rational;
  /**
   * Fail when no frame arrives for this long while the consumer waits. Default 10 000 ms for live
   * inputs, none for files. 0 = never.
   */
  stallTimeoutMs?: number;
  /** Fail when ffmpeg has not started delivering within this long (opening a camera can take seconds). Default 20 000 ms for live inputs, none for files. 0 = never. */
  startTimeoutMs?: number;
  /** `fail` (default): damaged data ends the iteration with an error. `conceal`: keep going as players do. */
  onDecodeError?: 'fail' | 'conceal';
  /** Facts already probed for this file (skips probing). */
  info?: VideoInfo;
  /** Stop reading (the iterator throws an AbortError). */
  signal?: AbortSignal;
  /** Decoded frames allowed to wait in Node (default 2). */
  queueFrames?: number;
  /** More ffmpeg output options, e.g. `['-vf', 'scale=640:-2']` (frame size is read back from ffmpeg). */
  outputArgs?: string[];
  /** Decoder threads for a file (default: ffmpeg's choice, one per core). */
  decoderThreads?: number;
  /**
   * A second output of the same decode (files): the same frames, from the same range at the same
   * rate, written with `outputArgs` (format options included) to `to`, another process's pipe end
   * (VideoSink.framePipe), which Node never reads; closed here once ffmpeg has it.
   */
  alsoTo?: { to: Duplex; outputArgs: string[] };
}

export interface VideoSource {
  /** Facts about the input; width/height are the size of the frames delivered. */
  readonly info: VideoInfo;
  readonly channels: 3 | 4;
  /** A camera/URL/device rather than a file. */
  readonly live: boolean;
  /** Frames this source will deliver, when it can be told (files). */
  readonly expectedFrames: number | undefined;
  /** Frames decoded so far. */
  readonly framesRead: number;
  /** The ffmpeg arguments used (for diagnostics). */
  readonly args: readonly string[];
  /** The frames, in order. Can be iterated once; breaking out of the loop closes the source. */
  frames(): AsyncIterableIterator<Frame>;
  /**
   * Give a frame's buffer back for reuse once nothing needs it any more (no processor keeps it, the
   * sink has written it): saves allocating and page-faulting a fresh buffer per frame. Optional;
   * frames not given back are garbage-collected as usual. Frames from elsewhere are ignored.
   */
  recycle(frame: Frame): void;
  /** Stop ffmpeg. Safe to call more than once. */
  close(): Promise<void>;
}

export type VideoSourceErrorCode = 'decode' | 'stalled' | 'truncated' | 'start';

/** Reading failed partway (damaged data, a stalled camera, ffmpeg died). */
export class VideoSourceError extends Error {
  readonly code: VideoSourceErrorCode;
  /** Index of the first frame that could not be read (= frames delivered before the failure). */
  readonly frame: number;
  /** ffmpeg's last log lines. */
  readonly ffmpegLog: string[];

  constructor(message: string, code: VideoSourceErrorCode, frame: number, ffmpegLog: string[]) {
    super(message);
    this.name = 'VideoSourceError';
    this.code = code;
    this.frame = frame;
    this.ffmpegLog = ffmpegLog;
  }
}

/** Demuxer warnings that mean the file stops before its end (mov: "partial file", matroska: "File ended prematurely"). */
const TRUNCATION = /partial file|ended prematurely|truncated/i;

/** Parse the `Output #0` video stream line ffmpeg prints before writing the first frame. */
function parseOutputHeader(lines: string[]): { width: number; height: number; fps?: number } | null {
  const start = lines.findIndex((l) => /^Output #0,/.test(l));
  if (start < 0) return null;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i];
    if (/^\S/.test(l)) break;
    if (/Stream #0:\d+.*: Video: /.test(l)) {
      const size = /, (\d+)x(\d+)/.exec(l);
      if (!size) return null;
      const fps = /, ([\d.]+k?) fps/.exec(l);
      const fpsValue = fps ? (fps[1].endsWith('k') ? Number(fps[1].slice(0, -1)) * 1000 : Number(fps[1])) : undefined;
      return { width: Number(size[1]), height: Number(size[2]), fps: fpsValue };
    }
  }
  return null;
}

function inputName(input: VideoInput): string {
  if (typeof input === 'string') return input;
  if (input.name) return input.name;
  const i = input.args.lastIndexOf('-i');
  return i >= 0 && input.args[i + 1] !== undefined ? input.args[i + 1] : input.args.join(' ');
}

function checkRange(from: number | undefined, to: number | undefined): void {
  if (from !== undefined && !(from >= 0 && Number.isFinite(from))) throw new RangeError(`from must be ≥ 0 seconds, got ${from}`);
  if (to !== undefined && !(to > 0 && Number.isFinite(to))) throw new RangeError(`to must be > 0 seconds, got ${to}`);
  if (from !== undefined && to !== undefined && to <= from) throw new RangeError(`to (${to}) must be after from (${from})`);
}

/**
 * Open a video file on its own (outside a video job, which has probed it already): probe it (bad
 * files fail here with a VideoInputError), then openVideoSource.
 */
export async function openVideoFile(path: string, opts: Omit<VideoSourceOptions, 'info'> = {}): Promise<VideoSource> {
  return openVideoSource(path, { ...opts, info: await probeVideo(path, opts) });
}

/**
 * Open a video file (its facts, `info`, probed beforehand: see openVideoFile) or an ffmpeg input
 * for reading. ffmpeg is started, and this resolves once it has announced the frame size.
 */
export async function openVideoSource(input: VideoInput, opts: VideoSourceOptions = {}): Promise<VideoSource> {
  const channels = opts.channels ?? 3;
  if (channels !== 3 && channels !== 4) throw new RangeError(`channels must be 3 or 4, got ${String(channels)}`);
  checkRange(opts.from, opts.to);
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const ffmpeg = opts.tools?.ffmpeg ?? findFfmpeg(opts).path;
  const live = typeof input !== 'string';
  const name = inputName(input);

  let fileInfo: VideoInfo | undefined;
  const args = ['-hide_banner', '-nostdin', '-nostats'];
  if (typeof input === 'string') {
    if (!opts.info) throw new RangeError(`${input}: a file is opened with its probed facts (info); openVideoFile probes and opens it`);
    fileInfo = opts.info;
    if ((opts.onDecodeError ?? 'fail') === 'fail') args.push('-xerror');
    if (opts.from) args.push('-ss', String(opts.from));
    if (opts.to !== undefined) args.push('-t', String(opts.to - (opts.from ?? 0)));
    // The native VP8/VP9 decoders ignore the alpha plane; libvpx reads it.
    if (channels === 4 && fileInfo.hasAlpha && fileInfo.codec === 'vp9') args.push('-c:v', 'libvpx-vp9');
    if (channels === 4 && fileInfo.hasAlpha && fileInfo.codec === 'vp8') args.push('-c:v', 'libvpx');
    if (opts.decoderThreads) args.push('-threads', String(opts.decoderThreads));
    if (opts.loop) args.push('-stream_loop', '-1');
    args.push('-i', ffmpegInputPath(input), '-map', `0:${fileInfo.streamIndex}`);
    args.push('-r', formatRational(opts.frameRate ?? fileInfo.frameRate));
  } else {
    if (opts.from !== undefined || opts.to !== undefined || opts.loop) throw new RangeError('from, to and loop apply to files only');
    if (!input.args.includes('-i')) throw new RangeError(`ffmpeg input args must contain -i, got ${JSON.stringify(input.args)}`);
    args.push(...input.args, '-map', '0:v:0');
    if (opts.frameRate) args.push('-r', formatRational(opts.frameRate));
    else args.push((await ffmpegVersion(ffmpeg)).hasFpsMode ? '-fps_mode' : '-vsync', 'passthrough');
  }
  args.push('-an', '-sn', '-dn', ...(opts.outputArgs ?? []), '-f', 'rawvideo', '-pix_fmt', channels === 4 ? 'rgba' : 'rgb24', 'pipe:1');
  if (opts.alsoTo) {
    if (!fileInfo) throw new RangeError('a second output (alsoTo) is for files only');
    // Written to fd 0: see FfmpegStdio.
    args.push('-map', `0:${fileInfo.streamIndex}`, '-r', formatRational(opts.frameRate ?? fileInfo.frameRate), '-an', '-sn', '-dn', ...opts.alsoTo.outputArgs, 'pipe:0');
  }

  const source = new FfmpegVideoSource(ffmpeg, args, name, live, channels, opts, fileInfo);
  try {
    await source.start();
  } catch (err) {
    await source.close();
    throw err;
  }
  return source;
}

class FfmpegVideoSource implements VideoSource {
  info!: VideoInfo;
  readonly channels: 3 | 4;
  readonly live: boolean;
  readonly args: readonly string[];
  expectedFrames: number | undefined;
  framesRead = 0;

  private readonly proc: FfmpegProcess;
  private readonly name: string;
  private readonly opts: VideoSourceOptions;
  private readonly fileInfo: VideoInfo | undefined;
  private readonly stallMs: number;
  private readonly startMs: number;
  private readonly maxQueue: number;
  private readonly headerLines: string[] = [];
  private header: { width: number; height: number; fps?: number } | null = null;
  private headerWaiter: (() => void) | null = null;
  private truncationSeen = false;

  private frameSize = 0;
  private current: Uint8Array | null = null;
  /** Frame buffers given back with recycle(), reused before allocating (fresh 1–8 MB buffers cost page faults). */
  private readonly pool: Uint8Array[] = [];
  private readonly ownBuffers = new WeakSet<ArrayBufferLike>();
  private filled = 0;
  private readonly queue: Frame[] = [];
  private paused = false;
  private finished = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private iterating = false;
  private closed = false;
  private startTimeMs = 0;
  private firstFrameAt: number | null = null;
  private frameDurationMs = 0;
  private readonly onAbort = (): void => {
    this.fail(abortError(this.opts.signal!));
    void this.proc.stop();
  };

  constructor(ffmpeg: string, args: string[], name: string, live: boolean, channels: 3 | 4, opts: VideoSourceOptions, fileInfo?: VideoInfo) {
    this.args = args;
    this.name = name;
    this.live = live;
    this.channels = channels;
    this.opts = opts;
    this.fileInfo = fileInfo;
    this.stallMs = opts.stallTimeoutMs ?? (live ? 10_000 : 0);
    this.startMs = opts.startTimeoutMs ?? (live ? 20_000 : 0);
    this.maxQueue = Math.max(1, opts.queueFrames ?? 2);
    this.proc = new FfmpegProcess(ffmpeg, args, { stdin: opts.alsoTo?.to ?? false, stdout: true }, {
      onLine: (line) => {
        if (TRUNCATION.test(line)) this.truncationSeen = true;
        if (this.header) return;
        if (this.headerLines.length < 5000) this.headerLines.push(line);
        const h = parseOutputHeader(this.headerLines);
        if (h) {
          this.header = h;
          this.headerWaiter?.();
        }
      },
    });
    // ffmpeg holds the second output's pipe now; ours would keep its reader from seeing the end.
    opts.alsoTo?.to.destroy();
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    void this.proc.exited.then(() => this.onExit());
  }

  /** Wait for ffmpeg to announce the output frame size, then start taking data. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: Error): void => {
        if (timer) clearTimeout(timer);
        this.headerWaiter = null;
        if (err) reject(err);
        else resolve();
      };
      this.headerWaiter = () => done();
      if (this.header) return done();
      void this.proc.exited.then((exit) => {
        if (this.header) return;
        if (this.proc.startError) return done(this.proc.startError);
        if (this.opts.signal?.aborted) return done(abortError(this.opts.signal));
        const reason = this.proc.reason();
        if (this.fileInfo) {
          done(new VideoInputError(this.name, `${this.name}: ffmpeg could not decode the video (${reason})`, 'unsupported'));
        } else {
          done(new VideoSourceError(`${this.name}: ffmpeg could not open the input (${describeExit(exit)}: ${reason})`, 'start', 0, this.proc.lastLines()));
        }
      });
      if (this.startMs > 0) {
        timer = setTimeout(() => {
          done(new VideoSourceError(`${this.name}: no video arrived within ${Math.round(this.startMs / 100) / 10} s; is the camera/stream working?`, 'stalled', 0, this.proc.lastLines()));
        }, this.startMs);
      }
    });
    const h = this.header!;
    const base: VideoInfo = this.fileInfo ?? this.liveInfo(h);
    const frameRate = this.opts.frameRate ?? (this.fileInfo ? this.fileInfo.frameRate : base.frameRate);
    this.info = { ...base, width: h.width, height: h.height, frameRate };
    this.frameSize = h.width * h.height * this.channels;
    this.frameDurationMs = (1000 * frameRate.den) / frameRate.num;
    this.startTimeMs = (this.opts.from ?? 0) * 1000;
    if (this.fileInfo && !this.opts.loop) {
      this.expectedFrames = expectedFrameCount(this.opts.frameRate ? { ...this.fileInfo, frameRate, frameCount: undefined } : this.fileInfo, this.opts.from ?? 0, this.opts.to);
    }
    const stdout = this.proc.child.stdout!;
    stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    stdout.on('error', () => {
      // EPIPE/ECONNRESET after stop(); the exit status tells what happened.
    });
  }

  private liveInfo(h: { width: number; height: number; fps?: number }): VideoInfo {
    let parsed: VideoInfo | null = null;
    try {
      parsed = parseFfmpegInfo(this.name, this.headerLines.join('\n'));
    } catch {
      parsed = null;
    }
    const frameRate = parsed?.frameRate ?? snapFrameRate(h.fps && h.fps > 0 ? h.fps : 30);
    return {
      path: this.name,
      container: parsed?.container ?? 'unknown',
      streamIndex: parsed?.streamIndex ?? 0,
      width: h.width,
      height: h.height,
      codedWidth: parsed?.codedWidth ?? h.width,
      codedHeight: parsed?.codedHeight ?? h.height,
      rotation: parsed?.rotation ?? 0,
      frameRate,
      variableFrameRate: parsed?.variableFrameRate ?? false,
      averageFrameRate: parsed?.averageFrameRate,
      duration: parsed?.duration,
      startTime: 0,
      formatStartTime: 0,
      codec: parsed?.codec ?? 'unknown',
      pixelFormat: parsed?.pixelFormat ?? 'unknown',
      hasAlpha: parsed?.hasAlpha ?? false,
      audio: parsed?.audio ?? [],
      probedWith: 'ffmpeg',
    };
  }

  private onData(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (!this.current) {
        this.current = this.pool.pop() ?? this.allocate();
        this.filled = 0;
      }
      const n = Math.min(this.frameSize - this.filled, chunk.length - off);
      this.current.set(chunk.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === this.frameSize) this.pushFrame();
    }
    if (this.queue.length >= this.maxQueue && !this.paused) {
      this.paused = true;
      this.proc.child.stdout!.pause();
    }
  }

  private allocate(): Uint8Array {
    const data = new Uint8Array(Buffer.allocUnsafeSlow(this.frameSize).buffer, 0, this.frameSize);
    this.ownBuffers.add(data.buffer);
    return data;
  }

  recycle(frame: Frame): void {
    const data = frame.data;
    if (!(data instanceof Uint8Array) || data.length !== this.frameSize || !this.ownBuffers.has(data.buffer)) return;
    if (this.pool.length < this.maxQueue + 4 && !this.pool.includes(data)) this.pool.push(data);
  }

  private pushFrame(): void {
    const data = this.current!;
    this.current = null;
    this.filled = 0;
    let timestamp: number;
    let index: number | undefined;
    if (this.live && !this.opts.frameRate) {
      const now = performance.now();
      if (this.firstFrameAt === null) this.firstFrameAt = now;
      timestamp = now - this.firstFrameAt;
    } else {
      timestamp = this.startTimeMs + this.framesRead * this.frameDurationMs;
      if (!this.live) index = Math.round(this.startTimeMs / this.frameDurationMs) + this.framesRead;
    }
    this.queue.push({ width: this.info.width, height: this.info.height, channels: this.channels, data, timestamp, index });
    this.framesRead++;
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.wakeUp();
  }

  private onExit(): void {
    const exit = this.proc.exit!;
    if (this.finished || this.failure) return;
    if (this.proc.startError) {
      this.fail(this.proc.startError);
      return;
    }
    if (this.proc.stopped) {
      this.finished = true;
      this.wakeUp();
      return;
    }
    const at = this.framesRead;
    const when = this.live ? '' : ` (≈ ${((this.startTimeMs + at * this.frameDurationMs) / 1000).toFixed(2)} s)`;
    if (exit.code !== 0 || exit.signal) {
      this.fail(
        new VideoSourceError(
          `${this.name}: decoding failed at frame ${at}${when}${this.expectedFrames ? ` of ${this.expectedFrames}` : ''}: ${this.proc.reason()} (${describeExit(exit)})`,
          'decode',
          at,
          this.proc.lastLines(),
        ),
      );
      return;
    }
    if ((this.opts.onDecodeError ?? 'fail') === 'fail' && this.fileInfo) {
      // ffmpeg exits 0 when a file simply stops (cut short at a packet boundary): catch that from
      // the demuxer's warning, or from the container's own frame count.
      const fi = this.fileInfo;
      const counted = !fi.variableFrameRate && !this.opts.from && this.opts.to === undefined && !this.opts.frameRate ? fi.frameCount : undefined;
      // Edit lists can legitimately hide a few stored frames: only a clear shortfall counts.
      const short = counted !== undefined && at < counted * 0.98 - 2;
      if (this.truncationSeen || short) {
        this.fail(
          new VideoSourceError(
            `${this.name}: the file ends early, at frame ${at}${when}${this.expectedFrames ? ` of ${this.expectedFrames}` : ''} (truncated or damaged): ${this.proc.reason()}`,
            'truncated',
            at,
            this.proc.lastLines(),
          ),
        );
        return;
      }
    }
    if (this.filled > 0) {
      this.fail(
        new VideoSourceError(
          `${this.name}: the stream ended in the middle of frame ${at} (${this.filled} of ${this.frameSize} bytes)`,
          'truncated',
          at,
          this.proc.lastLines(),
        ),
      );
      return;
    }
    this.finished = true;
    this.wakeUp();
  }

  private async nextFrame(): Promise<Frame | null> {
    for (;;) {
      const frame = this.queue.shift();
      if (frame) {
        if (this.paused && this.queue.length < this.maxQueue && !this.closed) {
          this.paused = false;
          this.proc.child.stdout!.resume();
        }
        return frame;
      }
      if (this.failure) throw this.failure;
      if (this.finished || this.closed) return null;
      await this.waitForData();
    }
  }

  private waitForData(): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      if (this.stallMs > 0) {
        timer = setTimeout(() => {
          const secs = Math.round(this.stallMs / 100) / 10;
          this.fail(
            new VideoSourceError(
              `${this.name}: no frame for ${secs} s after frame ${this.framesRead}; the camera or stream stopped delivering`,
              'stalled',
              this.framesRead,
              this.proc.lastLines(),
            ),
          );
          void this.proc.stop(500);
        }, this.stallMs);
      }
    });
  }

  frames(): AsyncIterableIterator<Frame> {
    if (this.iterating) throw new Error('a video source can be iterated only once');
    this.iterating = true;
    const gen = async function* (this: FfmpegVideoSource): AsyncGenerator<Frame> {
      try {
        for (;;) {
          const frame = await this.nextFrame();
          if (!frame) return;
          yield frame;
        }
      } finally {
        await this.close();
      }
    };
    return gen.call(this);
  }

  async close(): Promise<void> {
    if (this.closed) {
      await this.proc.exited;
      return;
    }
    this.closed = true;
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.queue.length = 0;
    // Nothing to finalise on the reading side: a short grace, then SIGKILL (a stalled device read ignores SIGTERM).
    if (!this.proc.exit) await this.proc.stop(300);
    this.wakeUp();
  }
}
