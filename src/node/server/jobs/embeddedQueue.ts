/**
 * The single-machine queue: job ids in a FIFO, handed to the worker pool one at a time as workers
 * free up; every state change goes to the JobStore first. On start it re-queues what a previous
 * run left queued or running (a kill -9 mid-video: the partial output is removed and the job runs
 * again; a job that was interrupted MAX_ATTEMPTS times fails with that reason instead, so a file
 * that kills the server cannot loop forever).
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { DiskJobStore } from './store.js';
import type { JobQueue } from './queue.js';
import { FINISHED, type JobRecord } from './types.js';
import type { TaskHandle, WorkerPool } from '../pool/workerPool.js';
import { cleanOutputs, reasonOf, removeSpentFiles } from './jobFiles.js';

export const MAX_ATTEMPTS = 3;

export interface EmbeddedQueueOptions {
  /** Called once a job has finished (succeeded, failed or canceled): callbacks. */
  onFinished?: (job: JobRecord) => void;
}

export class EmbeddedQueue implements JobQueue {
  private readonly fifo: string[] = [];
  private readonly running = new Map<string, { handle: TaskHandle; stop?: 'cancel' | 'requeue'; done: Promise<void> }>();
  private started = false;
  private draining = false;
  private dispatching = false;

  constructor(
    private readonly store: DiskJobStore,
    private readonly pool: WorkerPool,
    private readonly options: EmbeddedQueueOptions = {},
  ) {
    pool.on('idle', () => this.dispatch());
  }

  get accepting(): boolean {
    return this.started && !this.draining;
  }

  get refusal(): { detail: string; retryAfter: string } {
    return this.draining ? { detail: 'the server is stopping', retryAfter: '30' } : { detail: 'the server is starting', retryAfter: '1' };
  }

  async depth(): Promise<number> {
    return this.fifo.length;
  }

  async start(): Promise<void> {
    for (const job of this.store.listNow()) {
      if (job.status === 'running') {
        await cleanOutputs(this.store.dirFor(job.id), job);
        if (job.attempts >= MAX_ATTEMPTS) {
          await this.finish(job.id, { status: 'failed', error: `the server stopped while running this job ${job.attempts} times; giving up` });
          continue;
        }
        await this.store.update(job.id, { status: 'queued', started_at: null, progress: { ...job.progress, done: 0 } });
      }
      if (job.status === 'queued') this.fifo.push(job.id);
    }
    this.started = true;
    this.dispatch();
  }

  async enqueue(job: JobRecord): Promise<void> {
    this.fifo.push(job.id);
    this.dispatch();
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const job = this.store.peek(id);
    if (!job || FINISHED.has(job.status)) return job;
    const run = this.running.get(id);
    if (run) {
      run.stop = 'cancel';
      run.handle.cancel();
      await run.done;
      return this.store.peek(id);
    }
    const i = this.fifo.indexOf(id);
    if (i >= 0) this.fifo.splice(i, 1);
    return this.finish(id, { status: 'canceled' });
  }

  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([all(), timedOut]);
    clearTimeout(timer);
    for (const run of this.running.values()) {
      run.stop = 'requeue';
      run.handle.cancel();
    }
    await all();
  }

  private dispatch(): void {
    if (!this.started || this.draining || this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.fifo.length > 0 && this.pool.freeSlots() > 0) {
        const id = this.fifo.shift()!;
        const job = this.store.peek(id);
        if (job?.status === 'queued') this.run(job);
      }
    } finally {
      this.dispatching = false;
    }
  }

  private run(job: JobRecord): void {
    const dir = this.store.dirFor(job.id);
    const { work } = job;
    const handle = this.pool.run(
      { kind: work.kind, input: join(dir, work.input), output: join(dir, work.output), options: { ...work.options, background: work.background && join(dir, work.background) }, format: work.format },
      (done, total) => void this.store.update(job.id, { progress: { done, total, unit: work.kind === 'photo' ? 'image' : 'frame' } }, false).catch(() => {}),
    );
    const entry: { handle: TaskHandle; stop?: 'cancel' | 'requeue'; done: Promise<void> } = { handle, done: Promise.resolve() };
    entry.done = (async () => {
      await this.store.update(job.id, { status: 'running', started_at: new Date().toISOString(), attempts: job.attempts + 1, worker: { host: hostname(), pid: process.pid } });
      try {
        const { bytes } = await handle.promise;
        await this.finish(job.id, { status: 'succeeded', result: { url: `/v1/jobs/${job.id}/result`, content_type: work.content_type, bytes } });
      } catch (err) {
        await cleanOutputs(dir, job);
        if (entry.stop === 'requeue') {
          // Drained: back in the queue on disk for the next start; this attempt does not count.
          await this.store.update(job.id, { status: 'queued', started_at: null, attempts: job.attempts - 1, progress: { ...job.progress, done: 0 } });
        } else if (entry.stop === 'cancel') {
          await this.finish(job.id, { status: 'canceled' });
        } else {
          await this.finish(job.id, { status: 'failed', error: reasonOf(err, dir) });
        }
      } finally {
        this.running.delete(job.id);
      }
    })();
    this.running.set(job.id, entry);
  }

  private async finish(id: string, patch: Partial<JobRecord>): Promise<JobRecord> {
    const job = await this.store.update(id, { ...patch, finished_at: new Date().toISOString() });
    await removeSpentFiles(this.store.dirFor(id), job);
    this.options.onFinished?.(job);
    return job;
  }
}
