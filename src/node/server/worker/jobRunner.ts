/**
 * What a worker does with one job BullMQ hands it (`{id}`): read the JobRecord from Redis, get the
 * input (claim-check), run it on the worker-thread pool (the event loop stays free, so BullMQ
 * renews its lock while ffmpeg and the model work), keep the record up to date (running, worker,
 * attempts, progress) and write the outcome.
 *
 * - A job the store already holds as finished (canceled while it waited, or finished by a worker
 *   whose lock lapsed) is skipped.
 * - A failure goes back to queued with its reason while BullMQ has attempts left (it retries with
 *   backoff), and fails the job on the last one.
 * - Canceled (DELETE, via the cancel channel): ffmpeg is stopped, the partial output removed, and
 *   BullMQ told not to retry (UnrecoverableError).
 * - Handed back (the worker is stopping and --drain-timeout passed): stopped the same way, then
 *   moved back to waiting for another worker; that attempt does not count.
 */
import { hostname } from 'node:os';
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { WHOLE_JOB } from '../jobs/bullQueue.js';
import { reasonOf } from '../jobs/jobFiles.js';
import type { RedisJobStore } from '../jobs/redisStore.js';
import { FINISHED, type JobRecord } from '../jobs/types.js';
import type { TaskHandle, WorkerPool } from '../pool/workerPool.js';
import type { ClaimCheck, JobPaths } from './claimCheck.js';

export interface JobData {
  id: string;
}

interface Running {
  stop?: 'cancel' | 'handback';
  handle?: TaskHandle;
  aborted: AbortController;
}

export class JobRunner {
  private readonly running = new Map<string, Running>();
  private readonly me = { host: hostname(), pid: process.pid };

  constructor(
    private readonly store: RedisJobStore,
    private readonly pool: WorkerPool,
    private readonly files: ClaimCheck,
    private readonly warn: (message: string) => void,
  ) {}

  get busy(): number {
    return this.running.size;
  }

  /** DELETE reached this worker: stop the job if it runs here. */
  cancel(id: string): void {
    this.stop(id, 'cancel');
  }

  /** Stops every running job and hands it back to the queue (drain timed out). */
  handBackAll(): void {
    for (const id of this.running.keys()) this.stop(id, 'handback');
  }

  /** The BullMQ processor: a whole job (a split video's segments and concat come as other job names). */
  async process(bull: Job<JobData>, token?: string): Promise<void> {
    if (bull.name !== WHOLE_JOB) throw new UnrecoverableError(`this worker does not know BullMQ jobs named "${bull.name}": update backdrop on every worker`);
    const { id } = bull.data;
    const before = await this.store.get(id);
    if (!before || FINISHED.has(before.status)) return;
    const run: Running = { aborted: new AbortController() };
    this.running.set(id, run);
    let job: JobRecord = before;
    let paths: JobPaths | undefined;
    try {
      job = await this.store.update(id, {
        status: 'running',
        started_at: new Date().toISOString(),
        attempts: before.attempts + 1,
        worker: this.me,
        progress: { ...before.progress, done: 0 },
      });
      // Canceled in between: the update was refused.
      if (job.status !== 'running') return;
      paths = await this.files.open(job);
      if (run.stop) throw new Error(run.stop);
      const { work } = job;
      let progress = job.progress;
      const handle = this.pool.run(
        { kind: work.kind, input: paths.input, output: paths.output, options: { ...work.options, background: paths.background }, format: work.format },
        (done, total) => {
          progress = { done, total, unit: work.kind === 'photo' ? 'image' : 'frame' };
          void this.store.update(id, { progress }).catch(() => {});
        },
      );
      run.handle = handle;
      if (run.stop) handle.cancel();
      const { bytes } = await handle.promise;
      await this.files.deliver(job, paths, run.aborted.signal);
      const done = await this.store.update(id, {
        status: 'succeeded',
        finished_at: new Date().toISOString(),
        progress: { ...progress, done: progress.total ?? progress.done },
        result: { url: `/v1/jobs/${id}/result`, content_type: work.content_type, bytes },
        error: undefined,
      });
      await this.files.close(job, paths, done.status !== 'succeeded');
    } catch (err) {
      if (paths) await this.files.close(job, paths, true).catch(() => {});
      await this.failed(bull, token, job, run, err, paths?.dir);
    } finally {
      this.running.delete(id);
    }
  }

  private stop(id: string, why: 'cancel' | 'handback'): void {
    const run = this.running.get(id);
    if (!run || run.stop) return;
    run.stop = why;
    run.aborted.abort(new Error(why));
    run.handle?.cancel();
  }

  /** Writes a failed attempt's outcome and tells BullMQ what to do next (always by throwing). */
  private async failed(bull: Job<JobData>, token: string | undefined, job: JobRecord, run: Running, err: unknown, dir: string | undefined): Promise<never> {
    const { id } = job;
    const now = await this.store.get(id).catch(() => undefined);
    if (run.stop === 'cancel' || now?.status === 'canceled') throw new UnrecoverableError('canceled');
    if (run.stop === 'handback') {
      await this.store.update(id, { status: 'queued', started_at: null, attempts: job.attempts - 1, progress: { ...job.progress, done: 0 }, worker: undefined });
      await bull.moveToWait(token);
      throw new WaitingError();
    }
    const reason = reasonOf(err, dir ?? '\0');
    const allowed = bull.opts.attempts ?? 1;
    const tried = bull.attemptsMade + 1;
    if (tried >= allowed) {
      await this.store.update(id, { status: 'failed', error: reason, finished_at: new Date().toISOString() });
      throw new UnrecoverableError(reason);
    }
    this.warn(`job ${id}: attempt ${tried} of ${allowed} failed (${reason}); it goes back in the queue`);
    await this.store.update(id, { status: 'queued', started_at: null, error: `attempt ${tried} of ${allowed} failed: ${reason}`, progress: { ...job.progress, done: 0 } });
    throw new Error(reason);
  }
}
