/**
 * Running a planned video output (sinkPlan.ts): an ffmpeg child process fed raw frames on its
 * stdin (`-f rawvideo -pix_fmt rgb24|rgba -s WxH -r N/D -i pipe:0`).
 *
 * Files: written to a hidden temporary file beside the target (safeWrite.ts naming, tracked so
 * Ctrl-C removes it) and moved into place by finish(); abort() or any failure removes it. The
 * output may not be one of the inputs (compared by real path and inode) nor an existing file
 * unless `force`.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Frame } from '../../core/frame.js';
import { OutputError, checkOutputPath, tempPathFor, trackTempFile, untrackTempFile } from '../safeWrite.js';
import { ffmpegVersion, findFfmpeg } from './ffmpegPath.js';
import { FfmpegProcess, describeExit } from './ffmpegProcess.js';
import { VideoSinkError, buildSinkArgs, kindOfOutput, planVideoSink, type SinkKind, type SinkPlan, type VideoCodec, type VideoSinkOptions } from './sinkPlan.js';

const PIPE_BYTES_PER_PIXEL = { gray: 1, rgb24: 3, rgba: 4 } as const;

export interface VideoSinkResult {
  output: string;
  /** Frames in the output (with `arrival` timing, ffmpeg's count after its repeats and drops). */
  frames: number;
  /** Size of the frames in the file (differs from the input only when an odd size was padded). */
  width: number;
  height: number;
  codec: VideoCodec | 'rawvideo';
  /** What happened to each audio stream. */
  audio: ('copy' | 'aac' | 'opus')[];
}

export interface VideoSink {
  readonly output: string;
  readonly kind: SinkKind;
  /** The ffmpeg arguments used (for diagnostics). */
  readonly args: readonly string[];
  readonly framesWritten: number;
  /**
   * With a graph that reads frames at fd 3 (VideoGraph.framePipe): our end of that pipe, for the
   * process that writes them (FfmpegStdio.stdin); close it once that process has it. Else null.
   */
  readonly framePipe: Duplex | null;
  /**
   * The encoding error when ffmpeg has quit on its own (waiting up to `waitMs` for it to), else
   * null: lets a failure elsewhere that it caused (a broken frame pipe) be reported as this one.
   */
  quitError(waitMs?: number): Promise<Error | null>;
  /** Send one frame; resolves when ffmpeg has taken it (honours pipe backpressure). Don't change the frame's data before then. */
  write(frame: Frame): Promise<void>;
  /** Send one raw pipe frame of a `graph` sink (its `pipe` shape); otherwise like write(). */
  writeRaw(data: Uint8Array): Promise<void>;
  /** Close the stream, wait for ffmpeg, move the file into place. */
  finish(): Promise<VideoSinkResult>;
  /** Stop ffmpeg and remove the temporary output. Safe to call at any time, more than once. */
  abort(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Running

async function statOrNull(path: string): Promise<import('node:fs').Stats | null> {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

function writeError(path: string, err: unknown): OutputError {
  const code = (err as NodeJS.ErrnoException).code;
  const dir = dirname(resolve(path));
  const reason =
    code === 'EACCES' || code === 'EPERM'
      ? `permission denied (is the folder ${dir} writable?)`
      : code === 'ENOENT'
        ? `the folder ${dir} does not exist`
        : code === 'EROFS'
          ? 'the file system is read-only'
          : code === 'ENOSPC'
            ? 'no space left on the device'
            : code === 'ENOTDIR'
              ? `part of the path ${dir} is a file, not a folder`
              : (err as Error).message.split('\n')[0];
  return new OutputError(path, `cannot write ${path}: ${reason}`, 'cannot-write');
}

/**
 * Open an output: check it (not an input, not existing unless `force`, folder writable), start
 * ffmpeg. Throws OutputError for path problems, VideoSinkError('options') for bad options,
 * FfmpegNotFoundError when there is no ffmpeg.
 */
export async function openVideoSink(opts: VideoSinkOptions, plan: SinkPlan = planVideoSink(opts)): Promise<VideoSink> {
  const audioSrc = opts.audioFrom;
  const kind = plan.kind;
  const ffmpeg = opts.tools?.ffmpeg ?? findFfmpeg(opts).path;

  const inputs = [...(opts.inputs ?? []), ...(audioSrc ? [audioSrc.path] : [])];
  let target = opts.output;
  let temp: string | null = null;
  if (kind === 'file' || kind === 'folder') {
    target = resolve(opts.output);
    await checkVideoOutput(opts.output, { force: opts.force, inputs });
  }

  if (kind === 'file' || kind === 'folder') {
    temp = kind === 'file' ? tempPathFor(target) : join(dirname(target), `.${basename(target)}.backdrop-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      if (kind === 'file') await (await open(temp, 'wx', 0o666)).close();
      else await mkdir(temp);
    } catch (err) {
      throw writeError(opts.output, err);
    }
    trackTempFile(temp);
  }
  const caps = opts.timing === 'arrival' ? await ffmpegVersion(ffmpeg) : undefined;
  const args = buildSinkArgs(opts, plan, temp ?? target, plan.audio.length > 0 ? audioSrc : undefined, caps);
  return new FfmpegVideoSink(ffmpeg, args, opts, plan, target, temp);
}

/**
 * Check an output before any work: a file must not be an input (real path / inode) nor exist
 * unless `force`; a folder (PNG sequence) likewise. URLs and devices are not checked. Throws OutputError.
 */
export async function checkVideoOutput(output: string, opts: { force?: boolean; inputs?: string[] } = {}): Promise<void> {
  const kind = kindOfOutput(output);
  if (kind === 'file') await checkOutputPath(output, { force: opts.force, inputs: opts.inputs });
  else if (kind === 'folder') await checkFolderOutput(output, opts.force ?? false, opts.inputs ?? []);
}

async function checkFolderOutput(path: string, force: boolean, inputs: string[]): Promise<void> {
  const st = await statOrNull(path);
  for (const input of inputs) {
    if (resolve(input) === resolve(path)) throw new OutputError(path, `refusing to overwrite the input ${path}`, 'same-as-input');
  }
  if (st && !st.isDirectory()) throw new OutputError(path, `${path} is a file; a PNG sequence needs a folder name`, 'exists');
  if (st && !force) throw new OutputError(path, `${path} exists; use --force to overwrite`, 'exists');
}

/** Remove an earlier PNG sequence (only a folder holding nothing but NNNNNN.png frames) before replacing it. */
async function removeFrameFolder(output: string, folder: string): Promise<void> {
  const entries = await readdir(folder);
  if (entries.some((name) => !/^\d+\.png$/.test(name))) {
    throw new OutputError(output, `${output} holds files other than PNG frames; not replacing it even with --force`, 'exists');
  }
  await rm(folder, { recursive: true, force: true });
}

class FfmpegVideoSink implements VideoSink {
  readonly output: string;
  readonly kind: SinkKind;
  readonly args: readonly string[];
  framesWritten = 0;

  private readonly proc: FfmpegProcess;
  private readonly opts: VideoSinkOptions;
  private readonly plan: SinkPlan;
  private readonly target: string;
  private readonly temp: string | null;
  private readonly frameBytes: number;
  private state: 'open' | 'finishing' | 'done' | 'aborted' | 'failed' = 'open';
  private pipeError: Error | null = null;
  private pendingWrite: ((ok: boolean) => void) | null = null;
  /** Frames in the output by ffmpeg's final report (it repeats or drops frames with `arrival` timing). */
  private encodedFrames: number | null = null;

  constructor(ffmpeg: string, args: string[], opts: VideoSinkOptions, plan: SinkPlan, target: string, temp: string | null) {
    this.output = opts.output;
    this.kind = plan.kind;
    this.args = args;
    this.opts = opts;
    this.plan = plan;
    this.target = target;
    this.temp = temp;
    const pipe = opts.graph?.pipe;
    this.frameBytes = pipe ? pipe.width * pipe.height * PIPE_BYTES_PER_PIXEL[pipe.pixelFormat] : opts.width * opts.height * opts.channels;
    this.proc = new FfmpegProcess(ffmpeg, args, { stdin: true, stdout: false, fd3: opts.graph?.framePipe }, {
      onLine: (line) => {
        const done = /^frame=\s*(\d+)/.exec(line);
        if (done) this.encodedFrames = Number(done[1]);
      },
    });
    this.proc.child.stdin!.on('error', (err) => {
      // EPIPE when ffmpeg quits early: the exit status and log say why.
      this.pipeError ??= err;
    });
    void this.proc.exited.then(() => this.pendingWrite?.(false));
  }

  get framePipe(): Duplex | null {
    return this.proc.fd3;
  }

  async quitError(waitMs = 0): Promise<Error | null> {
    let timer: NodeJS.Timeout | undefined;
    const exit = this.proc.exit ?? (await Promise.race([this.proc.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), waitMs)))]));
    clearTimeout(timer);
    if (!exit || this.proc.stopped || (exit.code === 0 && !exit.signal && !this.proc.startError)) return null;
    return this.failure();
  }

  private async failure(): Promise<Error> {
    const exit = await this.proc.exited;
    if (this.proc.startError) return this.proc.startError;
    return new VideoSinkError(
      `encoding ${this.output} failed after ${this.framesWritten} frames: ${this.proc.reason()} (${describeExit(exit)})`,
      'encode',
      this.proc.lastLines(),
    );
  }

  async write(frame: Frame): Promise<void> {
    if (this.opts.graph || frame.width !== this.opts.width || frame.height !== this.opts.height || frame.channels !== this.opts.channels || frame.data.length !== this.frameBytes) {
      throw new RangeError(
        this.opts.graph
          ? `${this.output} makes its picture in ffmpeg: send its pipe frames with writeRaw()`
          : `frame ${frame.width}×${frame.height}×${frame.channels} (${frame.data.length} bytes) does not match the output ${this.opts.width}×${this.opts.height}×${this.opts.channels}`,
      );
    }
    await this.writeRaw(frame.data instanceof Uint8Array ? frame.data : new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.length));
  }

  async writeRaw(data: Uint8Array): Promise<void> {
    if (this.state !== 'open') throw new VideoSinkError(`cannot write to ${this.output}: the output is ${this.state === 'finishing' || this.state === 'done' ? 'finished' : 'closed'}`, 'options');
    if (data.length !== this.frameBytes) throw new RangeError(`${data.length} bytes written to ${this.output}, whose frames are ${this.frameBytes} bytes`);
    const stdin = this.proc.child.stdin!;
    if (this.proc.exit || this.pipeError || stdin.destroyed) {
      const err = await this.failure();
      await this.discard();
      throw err;
    }
    const ok = await new Promise<boolean>((resolvePromise) => {
      let settled = false;
      const settle = (v: boolean): void => {
        if (settled) return;
        settled = true;
        this.pendingWrite = null;
        resolvePromise(v);
      };
      this.pendingWrite = settle;
      // The callback runs once the whole frame is in the pipe; an early exit of ffmpeg also settles.
      stdin.write(data, (err) => settle(!err));
    });
    if (!ok) {
      const err = await this.failure();
      await this.discard();
      throw err;
    }
    this.framesWritten++;
  }

  async finish(): Promise<VideoSinkResult> {
    if (this.state !== 'open') throw new VideoSinkError(`${this.output} is already ${this.state}`, 'options');
    this.state = 'finishing';
    const stdin = this.proc.child.stdin!;
    stdin.end();
    const exit = await this.proc.exited;
    if (exit.code !== 0 || this.proc.startError) {
      const err = await this.failure();
      await this.discard();
      throw err;
    }
    const skipped = this.opts.skipFrames ?? 0;
    if (this.framesWritten <= skipped) {
      await this.discard();
      throw new VideoSinkError(`nothing written to ${this.output}: no frames${skipped ? ` after the ${skipped} frames of lead-in` : ''}`, 'encode');
    }
    try {
      await this.commit();
    } catch (err) {
      await this.discard();
      throw err;
    }
    this.state = 'done';
    return {
      output: this.output,
      frames: this.opts.timing === 'arrival' ? (this.encodedFrames ?? this.framesWritten) : this.framesWritten - skipped,
      width: this.plan.width,
      height: this.plan.height,
      codec: this.plan.codec,
      audio: this.plan.audio,
    };
  }

  /** Move the temporary file/folder into place: without force, never over something that appeared meanwhile. */
  private async commit(): Promise<void> {
    const temp = this.temp;
    if (!temp) return;
    const force = this.opts.force ?? false;
    try {
      if (this.kind === 'folder') {
        const st = await statOrNull(this.target);
        if (st && !force) throw new OutputError(this.output, `${this.output} exists; use --force to overwrite`, 'exists');
        if (st) await removeFrameFolder(this.output, this.target);
        await rename(temp, this.target);
      } else if (force) {
        await rename(temp, this.target);
      } else {
        try {
          await link(temp, this.target);
          await unlink(temp).catch(() => undefined);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OutputError(this.output, `${this.output} exists; use --force to overwrite`, 'exists');
          if (await statOrNull(this.target)) throw new OutputError(this.output, `${this.output} exists; use --force to overwrite`, 'exists');
          await rename(temp, this.target);
        }
      }
    } catch (err) {
      throw err instanceof OutputError ? err : writeError(this.output, err);
    } finally {
      untrackTempFile(temp);
    }
  }

  private async discard(): Promise<void> {
    if (this.state !== 'aborted') this.state = 'failed';
    if (!this.proc.exit) await this.proc.stop(1000);
    if (this.temp) {
      await rm(this.temp, { recursive: true, force: true }).catch(() => undefined);
      untrackTempFile(this.temp);
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'done') return;
    this.state = 'aborted';
    await this.discard();
  }
}
