/**
 * Where jobs live. `JobStore` is what the API and the queue need; `DiskJobStore` keeps each job in
 * its own folder under `<data>/jobs/<id>/` (job.json beside its input and output), written
 * atomically and fsynced, so a job answered with 202 survives a kill -9, and an index in memory
 * for reads. The Redis store (scale-out, redisStore.ts) implements the same interface, so reads are
 * asynchronous here too.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FINISHED, type JobRecord, type JobStatus } from './types.js';

export interface JobStore {
  /** Loads what is on disk (call once, before anything else). */
  open(): Promise<JobRecord[]>;
  /** A new, unused job id and its (created, empty) folder for the uploads. */
  reserve(): Promise<{ id: string; dir: string }>;
  /** The folder a job's files live in. Only for ids this store made. */
  dirFor(id: string): string;
  /** Persists a new job (durably: it is on disk when this resolves). */
  create(job: JobRecord): Promise<void>;
  /** Changes a job and persists the change (durably when `durable`; progress ticks need not be). */
  update(id: string, patch: Partial<JobRecord>, durable?: boolean): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Oldest first. */
  list(status?: JobStatus): Promise<JobRecord[]>;
  byIdempotency(hash: string): Promise<JobRecord | undefined>;
  /** Finished jobs that finished more than `ms` ago (for the retention sweep). */
  expired(ms: number, now?: number): Promise<JobRecord[]>;
  /** Deletes a job and all its files. */
  remove(id: string): Promise<void>;
  /** Forgets a reserved id that never became a job (its upload was refused). */
  release(id: string): Promise<void>;
}

/** The store cannot be reached (Redis is away): answered 503 with Retry-After, not 500. */
export class StoreUnavailable extends Error {
  constructor(reason: string) {
    super(`the job store is unreachable (${reason}); try again shortly`);
    this.name = 'StoreUnavailable';
  }
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isJobId(id: string): boolean {
  return ID.test(id);
}

/** A job's folder under `root` (every store keeps files on disk: the claim-check). Only for job ids. */
export function jobFolder(root: string, id: string): string {
  if (!isJobId(id)) throw new Error(`not a job id: ${id}`);
  return join(root, id);
}

/** A new job id and its (created, empty) folder under `root`. */
export async function reserveJobFolder(root: string): Promise<{ id: string; dir: string }> {
  const id = randomUUID();
  const dir = jobFolder(root, id);
  await mkdir(dir, { recursive: true });
  return { id, dir };
}

export class DiskJobStore implements JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly root: string;
  /** Writes of one job's state, in order. */
  private readonly writes = new Map<string, Promise<void>>();

  constructor(dataDir: string) {
    this.root = join(dataDir, 'jobs');
  }

  async open(): Promise<JobRecord[]> {
    await mkdir(this.root, { recursive: true });
    for (const name of await readdir(this.root)) {
      if (!isJobId(name)) continue;
      const text = await readFile(join(this.root, name, 'job.json'), 'utf8').catch(() => undefined);
      // A folder without state is an upload that was never answered with 202: nothing was promised.
      if (text === undefined) {
        await rm(join(this.root, name), { recursive: true, force: true });
        continue;
      }
      try {
        const job = JSON.parse(text) as JobRecord;
        this.jobs.set(job.id, job);
      } catch {
        // job.json is replaced atomically, so this is not a torn write; keep the folder for a human.
      }
    }
    return [...this.jobs.values()];
  }

  reserve(): Promise<{ id: string; dir: string }> {
    return reserveJobFolder(this.root);
  }

  dirFor(id: string): string {
    return jobFolder(this.root, id);
  }

  async create(job: JobRecord): Promise<void> {
    this.jobs.set(job.id, job);
    await this.persist(job.id, true);
  }

  async update(id: string, patch: Partial<JobRecord>, durable = true): Promise<JobRecord> {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`no job ${id}`);
    Object.assign(job, patch);
    await this.persist(id, durable);
    return job;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.peek(id);
  }

  /** The job as held in memory, synchronously (the embedded queue's dispatch loop). */
  peek(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  async list(status?: JobStatus): Promise<JobRecord[]> {
    return this.listNow(status);
  }

  listNow(status?: JobStatus): JobRecord[] {
    const all = [...this.jobs.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
    return status ? all.filter((j) => j.status === status) : all;
  }

  async byIdempotency(hash: string): Promise<JobRecord | undefined> {
    for (const job of this.jobs.values()) if (job.idempotency === hash) return job;
    return undefined;
  }

  async remove(id: string): Promise<void> {
    this.jobs.delete(id);
    await this.writes.get(id);
    await rm(this.dirFor(id), { recursive: true, force: true });
  }

  async release(id: string): Promise<void> {
    await rm(this.dirFor(id), { recursive: true, force: true });
  }

  async expired(ms: number, now = Date.now()): Promise<JobRecord[]> {
    return [...this.jobs.values()].filter((j) => FINISHED.has(j.status) && j.finished_at !== null && now - Date.parse(j.finished_at) > ms);
  }

  private persist(id: string, durable: boolean): Promise<void> {
    const previous = this.writes.get(id) ?? Promise.resolve();
    const next = previous.then(() => this.write(id, durable));
    const settled = next.catch(() => {});
    this.writes.set(id, settled);
    void settled.then(() => {
      if (this.writes.get(id) === settled) this.writes.delete(id);
    });
    return next;
  }

  /** job.json replaced atomically (write a temp file, fsync, rename, fsync the folder). */
  private async write(id: string, durable: boolean): Promise<void> {
    const job = this.jobs.get(id);
    if (!job) return;
    const dir = this.dirFor(id);
    const tmp = join(dir, 'job.json.tmp');
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(JSON.stringify(job, null, 2));
      if (durable) await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, join(dir, 'job.json'));
    if (durable) await syncDir(dir);
  }
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
