/**
 * One running ffmpeg child process: spawns it, keeps the tail of its log (stderr) for error
 * messages, reports how it exited, and stops it cleanly. Used by the video source and sink.
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Duplex, Readable, Stream, Writable } from 'node:stream';
import { FfmpegNotFoundError } from './ffmpegPath.js';

/** What an aborted ffmpeg job rejects with: the signal's reason, or an AbortError. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('the operation was aborted');
  err.name = 'AbortError';
  return err;
}

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface FfmpegProcessOptions {
  /** Keep this many of the last log lines (default 40). */
  tailLines?: number;
  /** Called with every complete log line. */
  onLine?: (line: string) => void;
}

/** Children still running, killed if this process exits before they do (a second Ctrl-C, process.exit). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  running.add(child);
  child.once('close', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of running) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** Log lines that say nothing useful in an error message. */
const NOISE = /^(frame=|size=|video:|\s*$|Press \[q\]|Stream mapping:|\s+Stream #)/;

/**
 * A child's stdio. `stdin` may be another process's pipe end, passed on as this ffmpeg's fd 0 (for
 * it to write to: ours are sockets, both ways, and fds 0–2 of a child are made blocking, which
 * ffmpeg's plain writes need). `fd3`: a pipe at fd 3 too (FfmpegProcess.fd3).
 */
export interface FfmpegStdio {
  stdin: boolean | Stream;
  stdout: boolean;
  fd3?: boolean;
}

export class FfmpegProcess {
  readonly child: ChildProcessByStdio<Writable | null, Readable | null, Readable>;
  readonly args: string[];
  /** Resolves when the process has exited and its pipes are closed. Never rejects. */
  readonly exited: Promise<FfmpegExit>;
  private readonly tail: string[] = [];
  private readonly tailLines: number;
  private partial = '';
  private spawnError: Error | null = null;
  private exitInfo: FfmpegExit | null = null;
  private stopping = false;

  constructor(ffmpegPath: string, args: string[], stdio: FfmpegStdio, opts: FfmpegProcessOptions = {}) {
    this.args = args;
    this.tailLines = opts.tailLines ?? 40;
    this.child = spawn(ffmpegPath, args, {
      stdio: [typeof stdio.stdin === 'boolean' ? (stdio.stdin ? 'pipe' : 'ignore') : stdio.stdin, stdio.stdout ? 'pipe' : 'ignore', 'pipe', ...(stdio.fd3 ? ['pipe' as const] : [])],
      windowsHide: true,
      // A process group of its own: a Ctrl-C in the terminal (or a signal sent to our group) reaches
      // only us, and we stop ffmpeg in order — a recording is finished, not cut off by ffmpeg
      // quitting on its own while frames are still being sent to it.
      detached: process.platform !== 'win32',
    }) as ChildProcessByStdio<Writable | null, Readable | null, Readable>;
    if (this.child.pid !== undefined) track(this.child);
    // Nothing is read or written on fd 3 here; ECONNRESET when the child goes is expected.
    this.fd3?.on('error', () => undefined);
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => {
      const lines = (this.partial + text).split(/\r\n|\n|\r/);
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.addLine(line, opts.onLine);
    });
    this.exited = new Promise<FfmpegExit>((resolve) => {
      this.child.on('error', (err: NodeJS.ErrnoException) => {
        this.spawnError =
          err.code === 'ENOENT' || err.code === 'EACCES'
            ? new FfmpegNotFoundError(`ffmpeg at ${ffmpegPath} could not be started (${err.code})`, ffmpegPath)
            : err;
        // 'close' may not follow a failed spawn.
        if (this.child.pid === undefined) {
          this.exitInfo = { code: null, signal: null };
          resolve(this.exitInfo);
        }
      });
      this.child.on('close', (code, signal) => {
        if (this.partial !== '') this.addLine(this.partial, opts.onLine);
        this.partial = '';
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  private addLine(line: string, onLine?: (line: string) => void): void {
    onLine?.(line);
    if (NOISE.test(line)) return;
    this.tail.push(line.trimEnd());
    if (this.tail.length > this.tailLines) this.tail.shift();
  }

  /** Our end of the pipe at the child's fd 3 (FfmpegStdio.fd3), else null. */
  get fd3(): Duplex | null {
    return (this.child.stdio[3] as Duplex | null | undefined) ?? null;
  }

  /** The error from spawning (ffmpeg missing or not executable), if any. */
  get startError(): Error | null {
    return this.spawnError;
  }

  /** Exit status once it has exited, else null. */
  get exit(): FfmpegExit | null {
    return this.exitInfo;
  }

  /** True once stop() was called (a non-zero exit after that is expected). */
  get stopped(): boolean {
    return this.stopping;
  }

  /** The last log lines (without progress noise). */
  lastLines(n = 8): string[] {
    return this.tail.slice(-n);
  }

  /** The last log lines that look like errors, else the last lines; joined for an error message. */
  reason(n = 4): string {
    const useful = this.tail.filter((l) => !/^Conversion failed!$|^Exiting normally/.test(l.trim()));
    const errorish = useful.filter((l) => /error|invalid|fail|corrupt|partial|not |no such|unable|could|cannot|unknown|denied|unsupported/i.test(l));
    const pick = (errorish.length > 0 ? errorish : useful).slice(-n);
    return pick.join(' | ') || 'no message from ffmpeg';
  }

  /**
   * Stop the process: close its pipes, ask it to quit (SIGTERM lets ffmpeg finish writing its
   * file), and kill it if it is still there after `graceMs`. Resolves when it has exited.
   */
  async stop(graceMs = 3000): Promise<FfmpegExit> {
    this.stopping = true;
    if (this.exitInfo) return this.exitInfo;
    this.child.stdout?.destroy();
    this.child.stdin?.destroy();
    this.fd3?.destroy();
    try {
      this.child.kill('SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

/** `'ffmpeg exited with code 1'` / `'ffmpeg was killed by SIGKILL'`. */
export function describeExit(exit: FfmpegExit): string {
  if (exit.signal) return `ffmpeg was killed by ${exit.signal}`;
  return `ffmpeg exited with code ${exit.code}`;
}
