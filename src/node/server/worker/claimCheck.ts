/**
 * Where a worker finds a job's files and leaves its output (claim-check: Redis carries only ids).
 *
 * - SharedFolder: `--data` is the same folder on the API and every worker (a network mount). The
 *   input is read in place, `<data>/jobs/<id>/<input>`, and the output written beside it (to a
 *   temporary name, renamed when complete, as the CLI writes).
 * - ApiFiles (`--api URL`): the worker downloads the input (and background) from the API node's
 *   internal routes into its own `--data`, processes it there, uploads the output (the API writes
 *   it to a temporary name and renames it) and deletes its copies. Each worker process works in
 *   `<data>/work/<pid>/`, so several on one machine can share a --data; a folder whose process is
 *   gone is a killed worker's leftovers, removed when the next one starts.
 *
 * A split video's parts (splitVideo.ts) use the same two ways: a segment's output is
 * `segment-<index>.<ext>` in the job's folder (written in place, or uploaded to the API by that
 * name), and the join reads every segment from there (or downloads them) and delivers the result
 * as a whole job does. Each part cleans only what its own earlier attempts left.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { cleanOutputs, removeSegments, removeWithLeftovers, segmentName } from '../jobs/jobFiles.js';
import type { JobRecord } from '../jobs/types.js';

export interface JobPaths {
  /** The folder the worker works in for this job. */
  dir: string;
  input: string;
  background?: string;
  output: string;
}

/** A split video's segment: the input and where the segment goes (`name`, its file name in the job's folder). */
export interface SegmentPaths extends JobPaths {
  name: string;
}

/** A split video's join: the input (for its sound), the segments in playing order and where the result goes. */
export interface JoinPaths extends JobPaths {
  segments: string[];
}

export interface ClaimCheck {
  /** Removes what a killed worker left in this process's own space (start-up). */
  sweep(): Promise<void>;
  /** Makes the job's input readable at local paths; first removes any partial output an earlier attempt left. */
  open(job: JobRecord): Promise<JobPaths>;
  /** Hands over a finished output (a no-op where it was written in place). */
  deliver(job: JobRecord, paths: JobPaths, signal?: AbortSignal): Promise<void>;
  /** After the job (any outcome): removes the worker's copies; `failed` also removes any output it made. */
  close(job: JobRecord, paths: JobPaths, failed: boolean): Promise<void>;
  /** A segment of a split video: its input readable at local paths; first removes what an earlier attempt of this segment left. */
  openSegment(job: JobRecord, index: number): Promise<SegmentPaths>;
  /** Hands over a finished segment (a no-op where it was written in place). */
  deliverSegment(job: JobRecord, paths: SegmentPaths, signal?: AbortSignal): Promise<void>;
  /** After a segment (any outcome): removes the worker's copies; `failed` also removes the segment. */
  closeSegment(job: JobRecord, paths: SegmentPaths, failed: boolean): Promise<void>;
  /** The join of a split video: the input and every segment readable at local paths; removes what an earlier attempt left. */
  openJoin(job: JobRecord): Promise<JoinPaths>;
  /** After the join: removes the worker's copies; when it succeeded, the segments too (the API removes them in --api mode). */
  closeJoin(job: JobRecord, paths: JoinPaths, failed: boolean): Promise<void>;
  /** Where files come from, for the start-up line. */
  readonly label: string;
}

export class SharedFolder implements ClaimCheck {
  private readonly root: string;

  constructor(data: string) {
    this.root = join(data, 'jobs');
  }

  get label(): string {
    return `shared folder ${this.root}`;
  }

  async sweep(): Promise<void> {
    // Other workers' jobs are in progress in the same folder: each job's own next attempt cleans up after a killed one (open).
  }

  async open(job: JobRecord): Promise<JobPaths> {
    const { dir, input, background } = await this.inputOf(job);
    await cleanOutputs(dir, job);
    return { dir, input, background, output: join(dir, job.work.output) };
  }

  async deliver(): Promise<void> {}

  async close(job: JobRecord, paths: JobPaths, failed: boolean): Promise<void> {
    if (failed) await cleanOutputs(paths.dir, job);
  }

  async openSegment(job: JobRecord, index: number): Promise<SegmentPaths> {
    const { dir, input, background } = await this.inputOf(job);
    const name = segmentName(job, index);
    // Only this segment's leftovers: the other segments' files are other workers' finished work.
    await removeWithLeftovers(dir, name);
    return { dir, input, background, output: join(dir, name), name };
  }

  async deliverSegment(): Promise<void> {}

  async closeSegment(_job: JobRecord, paths: SegmentPaths, failed: boolean): Promise<void> {
    if (failed) await removeWithLeftovers(paths.dir, paths.name);
  }

  async openJoin(job: JobRecord): Promise<JoinPaths> {
    const { dir, input } = await this.inputOf(job);
    const segments = (job.segments ?? []).map((s) => join(dir, segmentName(job, s.index)));
    for (const [i, path] of segments.entries()) {
      await access(path).catch(() => {
        throw new Error(`segment ${i} of job ${job.id} is missing from ${dir}`);
      });
    }
    await removeWithLeftovers(dir, job.work.output);
    return { dir, input, output: join(dir, job.work.output), segments };
  }

  async closeJoin(job: JobRecord, paths: JoinPaths, failed: boolean): Promise<void> {
    if (failed) await removeWithLeftovers(paths.dir, job.work.output);
    else await removeSegments(paths.dir, job);
  }

  private async inputOf(job: JobRecord): Promise<{ dir: string; input: string; background?: string }> {
    const dir = join(this.root, job.id);
    const input = join(dir, job.work.input);
    try {
      await access(input);
    } catch {
      throw new Error(`the input of job ${job.id} is not in ${dir}: give the worker the same --data folder as the API (a shared mount), or --api URL to fetch it over HTTP`);
    }
    return { dir, input, background: job.work.background && join(dir, job.work.background) };
  }
}

/** Delays between tries when the API cannot be reached (it may be restarting), ms: about a minute in all. */
const RETRY_DELAYS = [250, 500, 1000, 2000, 4000, 8000, 15000, 30000];

export class ApiFiles implements ClaimCheck {
  private readonly work: string;
  private readonly api: string;

  constructor(
    api: string,
    private readonly key: string | undefined,
    private readonly data: string,
  ) {
    this.api = api.replace(/\/+$/, '');
    this.work = join(data, 'work');
  }

  get label(): string {
    return `the API at ${this.api} (copies under ${join(this.work, String(process.pid))})`;
  }

  async sweep(): Promise<void> {
    await mkdir(this.work, { recursive: true });
    for (const name of await readdir(this.work)) {
      const pid = Number(name);
      if (String(pid) === name && pid !== process.pid && processAlive(pid)) continue;
      await rm(join(this.work, name), { recursive: true, force: true });
    }
  }

  async open(job: JobRecord): Promise<JobPaths> {
    return this.fetchInputs(job, job.id);
  }

  /** A fresh folder of this worker's for one part of a job, with the job's input (and background) downloaded into it. */
  private async fetchInputs(job: JobRecord, part: string): Promise<JobPaths> {
    const dir = join(this.work, String(process.pid), part);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const input = join(dir, job.work.input);
    await this.download(job.id, job.work.input, input);
    let background: string | undefined;
    if (job.work.background) await this.download(job.id, job.work.background, (background = join(dir, job.work.background)));
    return { dir, input, background, output: join(dir, job.work.output) };
  }

  async deliver(job: JobRecord, paths: JobPaths, signal?: AbortSignal): Promise<void> {
    await this.upload(`the output of job ${job.id}`, paths.output, `${this.api}/v1/internal/jobs/${job.id}/output`, signal);
  }

  async openSegment(job: JobRecord, index: number): Promise<SegmentPaths> {
    const name = segmentName(job, index);
    const paths = await this.fetchInputs(job, `${job.id}-s${index}`);
    return { ...paths, output: join(paths.dir, name), name };
  }

  async deliverSegment(job: JobRecord, paths: SegmentPaths, signal?: AbortSignal): Promise<void> {
    await this.upload(`${paths.name} of job ${job.id}`, paths.output, `${this.api}/v1/internal/jobs/${job.id}/segments/${paths.name}`, signal);
  }

  async closeSegment(_job: JobRecord, paths: SegmentPaths): Promise<void> {
    await rm(paths.dir, { recursive: true, force: true });
  }

  async openJoin(job: JobRecord): Promise<JoinPaths> {
    const dir = join(this.work, String(process.pid), `${job.id}-join`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const input = join(dir, job.work.input);
    await this.download(job.id, job.work.input, input);
    const segments: string[] = [];
    for (const s of job.segments ?? []) {
      const name = segmentName(job, s.index);
      await this.download(job.id, name, join(dir, name));
      segments.push(join(dir, name));
    }
    return { dir, input, output: join(dir, job.work.output), segments };
  }

  async closeJoin(_job: JobRecord, paths: JoinPaths): Promise<void> {
    await rm(paths.dir, { recursive: true, force: true });
  }

  private async upload(what: string, file: string, url: string, signal?: AbortSignal): Promise<void> {
    const bytes = (await stat(file)).size;
    await this.withRetries(`upload ${what}`, signal, async () => {
      const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
      const r = await fetch(url, {
        method: 'PUT',
        headers: { ...this.auth(), 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
        body,
        duplex: 'half',
        signal,
      } as RequestInit);
      return r;
    });
  }

  async close(_job: JobRecord, paths: JobPaths): Promise<void> {
    await rm(paths.dir, { recursive: true, force: true });
  }

  private async download(id: string, name: string, path: string): Promise<void> {
    const r = await this.withRetries(`download ${name} of job ${id}`, undefined, () => fetch(`${this.api}/v1/internal/jobs/${id}/files/${encodeURIComponent(name)}`, { headers: this.auth() }));
    if (!r.body) throw new Error(`the API sent no body for ${name} of job ${id}`);
    await pipeline(Readable.fromWeb(r.body as WebReadableStream<Uint8Array>), createWriteStream(path));
  }

  private auth(): Record<string, string> {
    return this.key ? { authorization: `Bearer ${this.key}` } : {};
  }

  /** A request, tried again while the API is unreachable or answers 5xx (restarting); other answers are final. */
  private async withRetries(what: string, signal: AbortSignal | undefined, request: () => Promise<Response>): Promise<Response> {
    for (let i = 0; ; i++) {
      let problem: string;
      try {
        const r = await request();
        if (r.ok) return r;
        const text = await r.text().catch(() => '');
        const detail = (() => {
          try {
            return (JSON.parse(text) as { detail?: string }).detail ?? text;
          } catch {
            return text;
          }
        })();
        if (r.status === 401) throw new FinalError(`the API at ${this.api} refused the worker's key (${detail}): give the API's key with --api-key or BACKDROP_API_KEY`);
        if (r.status < 500) throw new FinalError(`could not ${what}: the API answered ${r.status} (${detail})`);
        problem = `the API answered ${r.status} (${detail})`;
      } catch (err) {
        if (err instanceof FinalError || signal?.aborted) throw err;
        problem = `cannot reach the API at ${this.api} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message})`;
      }
      if (i >= RETRY_DELAYS.length) throw new Error(`could not ${what}: ${problem}`);
      await new Promise((r) => setTimeout(r, RETRY_DELAYS[i]));
    }
  }
}

class FinalError extends Error {}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
