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
 *
 * A split video (splitVideo.ts) comes as its parts: `segment` jobs, each run on the pool like a
 * whole job but over its segment's range (lead-in, no sound) into `segment-<index>.<ext>`, its
 * frames done summed into the job's progress; then one `join`, run here on the main thread (it is
 * an ffmpeg child doing a stream copy: no CPU on the event loop), which joins them, muxes the
 * sound, delivers the result and marks the job succeeded. The record stays `running` while a part
 * is tried again; a part's last failed attempt fails the job with its reason and stops the other
 * parts everywhere (the cancel channel). A cancel stops every part of the job on this worker.
 */
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { videoOptionsFrom } from '../../options/videoOptions.js';
import { concatSegments } from '../../video/concatSegments.js';
import { probeVideo } from '../../video/probe.js';
import { videoTools } from '../../video/tools.js';
import { JOIN_JOB, SEGMENT_JOB, WHOLE_JOB } from '../jobs/bullQueue.js';
import { reasonOf } from '../jobs/jobFiles.js';
import type { RedisJobStore } from '../jobs/redisStore.js';
import type { JoinData, SegmentData } from '../jobs/splitVideo.js';
import { FINISHED, type JobRecord } from '../jobs/types.js';
import type { TaskHandle, WorkerPool } from '../pool/workerPool.js';
import type { Task, TaskResult } from '../pool/messages.js';
import type { ClaimCheck, JobPaths } from './claimCheck.js';

export interface JobData {
  id: string;
}

/** One BullMQ job running here: a whole job, or a part (segment, join) of a split one. */
interface Running {
  /** The backdrop job it belongs to (several parts of one job may run here at once). */
  id: string;
  stop?: 'cancel' | 'handback';
  handle?: TaskHandle;
  aborted: AbortController;
}

/** Which part of a split video failed (undefined: a whole job). */
type Part = { segment: number } | { join: true } | undefined;

export class JobRunner {
  /** By BullMQ job id. */
  private readonly running = new Map<string, Running>();
  private readonly me = { host: hostname(), pid: process.pid };

  constructor(
    private readonly store: RedisJobStore,
    private readonly pool: WorkerPool,
    private readonly files: ClaimCheck,
    private readonly warn: (message: string) => void,
    /** Stops a job's parts on every worker (publishes its id on the cancel channel). */
    private readonly stopEverywhere: (id: string) => Promise<unknown> = async () => {},
  ) {}

  get busy(): number {
    return this.running.size;
  }

  /** DELETE reached this worker: stop whatever of the job runs here (a whole job, or any of its segments and its join). */
  cancel(id: string): void {
    for (const run of this.running.values()) if (run.id === id) this.stop(run, 'cancel');
  }

  /** Stops every running job and hands it back to the queue (drain timed out). */
  handBackAll(): void {
    for (const run of this.running.values()) this.stop(run, 'handback');
  }

  /** The BullMQ processor: a whole job, or a split video's segment or join. */
  async process(bull: Job, token?: string): Promise<void> {
    switch (bull.name) {
      case WHOLE_JOB:
        return this.whole(bull as Job<JobData>, token);
      case SEGMENT_JOB:
        return this.segment(bull as Job<SegmentData>, token);
      case JOIN_JOB:
        return this.join(bull as Job<JoinData>, token);
      default:
        throw new UnrecoverableError(`this worker does not know BullMQ jobs named "${bull.name}": update backdrop on every worker`);
    }
  }

  private async whole(bull: Job<JobData>, token?: string): Promise<void> {
    const { id } = bull.data;
    const before = await this.store.get(id);
    if (!before || FINISHED.has(before.status)) return;
    const run = this.track(bull, id);
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
      const { bytes } = await this.runTask(
        run,
        { kind: work.kind, input: paths.input, output: paths.output, options: { ...work.options, background: paths.background }, format: work.format },
        (done, total) => {
          progress = { done, total, unit: work.kind === 'photo' ? 'image' : 'frame' };
          void this.store.update(id, { progress }).catch(() => {});
        },
      );
      await this.files.deliver(job, paths, run.aborted.signal);
      const done = await this.succeed(job, { ...progress, done: progress.total ?? progress.done }, bytes);
      await this.files.close(job, paths, done.status !== 'succeeded');
    } catch (err) {
      if (paths) await this.files.close(job, paths, true).catch(() => {});
      await this.failed(bull, token, job, run, err, paths?.dir, undefined);
    } finally {
      this.running.delete(bull.id!);
    }
  }

  /** A split video's segment: its frames (after a lead-in) into `segment-<index>.<ext>`, no sound. */
  private async segment(bull: Job<SegmentData>, token?: string): Promise<void> {
    const { id, index, segment } = bull.data;
    const before = await this.store.get(id);
    // Canceled, or failed by another segment: nothing to do (the join is skipped the same way).
    if (!before || FINISHED.has(before.status)) return;
    const run = this.track(bull, id);
    let job: JobRecord = before;
    let paths: Awaited<ReturnType<ClaimCheck['openSegment']>> | undefined;
    try {
      job = await this.store.segment(id, index, { attempts: 1, worker: this.me, done: 0, started: true });
      if (job.status !== 'running') return;
      paths = await this.files.openSegment(job, index);
      if (run.stop) throw new Error(run.stop);
      const { frames } = await this.runTask(
        run,
        { kind: 'video', input: paths.input, output: paths.output, options: { ...job.work.options, background: paths.background }, segment },
        (done) => void this.store.segment(id, index, { done }).catch(() => {}),
      );
      await this.files.deliverSegment(job, paths, run.aborted.signal);
      const now = await this.store.segment(id, index, { done: frames ?? 0 });
      // Canceled while it finished: its file must not stay behind (the API's clean-up may have run already).
      await this.files.closeSegment(job, paths, FINISHED.has(now.status));
    } catch (err) {
      if (paths) await this.files.closeSegment(job, paths, true).catch(() => {});
      await this.failed(bull, token, job, run, err, paths?.dir, { segment: index });
    } finally {
      this.running.delete(bull.id!);
    }
  }

  /** A split video's join, once every segment is done: concatenated by stream copy with the input's sound, delivered like a whole job's output. */
  private async join(bull: Job<JoinData>, token?: string): Promise<void> {
    const { id } = bull.data;
    const before = await this.store.get(id);
    if (!before || FINISHED.has(before.status)) return;
    const run = this.track(bull, id);
    let job: JobRecord = before;
    let paths: Awaited<ReturnType<ClaimCheck['openJoin']>> | undefined;
    try {
      const tries = (before.join_attempts ?? 0) + 1;
      job = await this.store.update(id, { status: 'running', join_attempts: tries, attempts: Math.max(before.attempts, tries), worker: this.me });
      if (job.status !== 'running') return;
      paths = await this.files.openJoin(job);
      if (run.stop) throw new Error(run.stop);
      const info = await probeVideo(paths.input, { tools: videoTools() });
      const video = videoOptionsFrom('input', job.work.options, info);
      await concatSegments({ segments: paths.segments, input: paths.input, output: paths.output, from: video.from, to: video.to, audio: video.audio, info, force: true, signal: run.aborted.signal });
      const bytes = (await stat(paths.output)).size;
      await this.files.deliver(job, paths, run.aborted.signal);
      const frames = (job.segments ?? []).reduce((n, s) => n + s.done, 0);
      const done = await this.succeed(job, { done: frames, total: frames, unit: 'frame' }, bytes);
      await this.files.closeJoin(job, paths, done.status !== 'succeeded');
    } catch (err) {
      if (paths) await this.files.closeJoin(job, paths, true).catch(() => {});
      await this.failed(bull, token, job, run, err, paths?.dir, { join: true });
    } finally {
      this.running.delete(bull.id!);
    }
  }

  /** A task on the pool as `run`'s: cancelled at once when the run was stopped before it started. */
  private runTask(run: Running, task: Task, onProgress: (done: number, total: number | null) => void): Promise<TaskResult> {
    const handle = this.pool.run(task, onProgress);
    run.handle = handle;
    if (run.stop) handle.cancel();
    return handle.promise;
  }

  /** A whole job's or a join's output delivered: the job succeeded (refused, and so returned as it is, if it was canceled meanwhile). */
  private succeed(job: JobRecord, progress: JobRecord['progress'], bytes: number): Promise<JobRecord> {
    return this.store.update(job.id, {
      status: 'succeeded',
      finished_at: new Date().toISOString(),
      progress,
      result: { url: `/v1/jobs/${job.id}/result`, content_type: job.work.content_type, bytes },
      error: undefined,
    });
  }

  private track(bull: Job, id: string): Running {
    const run: Running = { id, aborted: new AbortController() };
    this.running.set(bull.id!, run);
    return run;
  }

  private stop(run: Running, why: 'cancel' | 'handback'): void {
    if (run.stop) return;
    run.stop = why;
    run.aborted.abort(new Error(why));
    run.handle?.cancel();
  }

  /** Writes a failed attempt's outcome and tells BullMQ what to do next (always by throwing). */
  private async failed(bull: Job, token: string | undefined, job: JobRecord, run: Running, err: unknown, dir: string | undefined, part: Part): Promise<never> {
    const { id } = job;
    const now = await this.store.get(id).catch(() => undefined);
    // A part of a job that finished meanwhile (canceled, or failed by another part) is not tried again.
    if (run.stop === 'cancel' || now?.status === 'canceled' || (part && now && FINISHED.has(now.status))) throw new UnrecoverableError(now?.status === 'failed' ? 'the job failed' : 'canceled');
    if (run.stop === 'handback') {
      if (!part) await this.store.update(id, { status: 'queued', started_at: null, attempts: job.attempts - 1, progress: { ...job.progress, done: 0 }, worker: undefined });
      else if ('segment' in part) await this.store.segment(id, part.segment, { attempts: -1, done: 0 });
      else await this.store.update(id, { join_attempts: Math.max(0, (job.join_attempts ?? 1) - 1) });
      await bull.moveToWait(token);
      throw new WaitingError();
    }
    const what = !part ? '' : 'segment' in part ? `segment ${part.segment}: ` : 'joining the segments: ';
    const reason = what + reasonOf(err, dir ?? '\0');
    const allowed = bull.opts.attempts ?? 1;
    const tried = bull.attemptsMade + 1;
    if (tried >= allowed) {
      await this.store.update(id, { status: 'failed', error: reason, finished_at: new Date().toISOString() });
      // The other segments of a failed job need not run on: stop them wherever they are.
      if (part) await this.stopEverywhere(id).catch(() => {});
      throw new UnrecoverableError(reason);
    }
    this.warn(`job ${id}: ${what}attempt ${tried} of ${allowed} failed (${reason}); it goes back in the queue`);
    const error = `${what}attempt ${tried} of ${allowed} failed: ${reasonOf(err, dir ?? '\0')}`;
    // A split video stays running while one part is tried again (others may be running).
    if (part) await this.store.update(id, { error });
    else await this.store.update(id, { status: 'queued', started_at: null, error, progress: { ...job.progress, done: 0 } });
    throw new Error(reason);
  }
}
