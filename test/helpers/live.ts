/**
 * Helpers for live tests and the live bench: a synthetic camera made from a shared clip (a .y4m
 * played in a loop), a reader for the preview's MJPEG stream, a free TCP port, and the live
 * command run as a user runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { testdata } from './testdata.js';
import { ffmpeg } from './videos.js';

/**
 * Write `seconds` (default 2) of a shared clip as a raw .y4m (yuv420p) into `dir`: a stand-in
 * camera. `size` (e.g. `1280x720`) scales it; `rate` (e.g. 30) makes it that many frames a second.
 * Returns its path.
 */
export async function makeY4m(dir: string, clip: string, opts: { seconds?: number; size?: string; rate?: number; name?: string } = {}): Promise<string> {
  const out = join(dir, opts.name ?? 'camera.y4m');
  const filters = [...(opts.size ? [`scale=${opts.size.replace('x', ':')}`] : []), ...(opts.rate ? [`fps=${opts.rate}`] : [])];
  await ffmpeg(['-t', String(opts.seconds ?? 2), '-i', testdata(clip), ...(filters.length ? ['-vf', filters.join(',')] : []), '-pix_fmt', 'yuv420p', '-an', out]);
  return out;
}

/** ffmpeg's two levels of escaping: a filter option value, then the filter graph. */
function escapeFilterValue(value: string): string {
  const inOption = value.replace(/[\\':]/g, (c) => `\\${c}`);
  return inOption.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

/**
 * The ffmpeg input args that play a file forever in real time, as a camera would:
 * `-re -stream_loop -1 -i FILE` (what runLive/startLive take as `{ args }`).
 */
export function loopingInputArgs(file: string): string[] {
  return ['-re', '-stream_loop', '-1', '-i', file];
}

/**
 * The same looping camera as a `lavfi:` input spec, which the CLI accepts (it has no way to loop a
 * plain file input): the `movie` source with `loop=0` (forever), its timestamps renumbered so they
 * keep increasing across loops (else `-re` stops pacing after the first pass, and the renumbering
 * rounds, else 29.97 fps timestamps collide).
 */
export function loopingLavfiSpec(file: string): string {
  return `lavfi:movie=${escapeFilterValue(file)}:loop=0,setpts=round(N/(FRAME_RATE*TB))`;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface MjpegReader {
  /** The next whole JPEG of the stream, or null when the stream ended. */
  next(): Promise<Buffer | null>;
  /** Bytes received so far. */
  readonly bytes: number;
  /** Disconnect. */
  close(): Promise<void>;
}

/**
 * Connect to an MJPEG stream (`multipart/x-mixed-replace`, each part with a Content-Length, as
 * the preview server sends) and read it part by part.
 */
export async function openMjpeg(url: string): Promise<MjpegReader> {
  const ctrl = new AbortController();
  const res = await fetch(url, { signal: ctrl.signal });
  const type = res.headers.get('content-type') ?? '';
  if (res.status !== 200 || !/^multipart\/x-mixed-replace;\s*boundary=/i.test(type) || !res.body) {
    ctrl.abort();
    throw new Error(`${url}: not an MJPEG stream (HTTP ${res.status}, ${type})`);
  }
  const reader = res.body.getReader();
  let buf = Buffer.alloc(0);
  let bytes = 0;
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      ended = true;
      return false;
    }
    if (chunk.done) {
      ended = true;
      return false;
    }
    bytes += chunk.value.length;
    buf = buf.length === 0 ? Buffer.from(chunk.value) : Buffer.concat([buf, chunk.value]);
    return true;
  };
  return {
    get bytes() {
      return bytes;
    },
    async next(): Promise<Buffer | null> {
      // Headers of the next part.
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) < 0) if (!(await more())) return null;
      const head = buf.subarray(0, end).toString('latin1');
      const m = /content-length:\s*(\d+)/i.exec(head);
      if (!m) throw new Error(`MJPEG part without a Content-Length: ${JSON.stringify(head)}`);
      const length = Number(m[1]);
      const start = end + 4;
      while (buf.length < start + length) if (!(await more())) return null;
      const jpeg = Buffer.from(buf.subarray(start, start + length));
      buf = buf.subarray(start + length);
      return jpeg;
    },
    async close(): Promise<void> {
      ctrl.abort();
      await reader.cancel().catch(() => undefined);
    },
  };
}

export interface LiveCommand {
  child: ChildProcess;
  /** What the command printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** False once the command has exited. */
  readonly running: boolean;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * Run the built command (`node dist/node/cli.js`, so `npm run build` first) with these args, and
 * resolve once it prints the preview's address (or exits first: check `running`).
 */
export async function startLiveCommand(args: string[]): Promise<LiveCommand> {
  if (!existsSync('dist/node/cli.js')) throw new Error('dist/node/cli.js is missing: run `npm run build` first');
  const child = spawn(process.execPath, ['dist/node/cli.js', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let running = true;
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  void exited.then(() => (running = false));
  while (running && !stderr.includes('preview: ')) await new Promise((r) => setTimeout(r, 50));
  return {
    child,
    exited,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    get running() {
      return running;
    },
  };
}
