/**
 * The scale-out queue as the API sees it: a BullMQ queue on Redis that carries job ids only
 * (`{id}`, the BullMQ job id is the backdrop job id); the JobRecord in Redis (RedisJobStore) is the
 * state of record and the files stay on disk (claim-check). Workers (`backdrop worker`, or serve
 * itself without --no-work) take the ids, run the jobs and write their state.
 *
 * - Accepting: only while the API's Redis connection is up; POST /v1/jobs and /readyz answer 503
 *   with Retry-After the moment it drops (ioredis sees the socket close), and again accept once it
 *   reconnects.
 * - Finished jobs: BullMQ's QueueEvents tell this node when a job completed or failed; the job's
 *   spent input is removed and its callback sent from here (the API holds the keys that sign
 *   callbacks). A node that was down meanwhile does both at its next start.
 * - Cancel: the record is marked canceled (final), the id published on `backdrop:cancel` so the
 *   worker running it stops its ffmpeg, and a job still waiting is removed from the queue.
 */
import { Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { KEYS, QUEUE_NAME, redisLabel, redisOptionsFor } from '../redis.js';
import type { JobQueue } from './queue.js';
import type { RedisJobStore } from './redisStore.js';
import { StoreUnavailable } from './store.js';
import { FINISHED, type JobRecord } from './types.js';
import type { VideoInfo } from '../../video/probe.js';

/**
 * Redis (at `label`) went away mid-request: the API answers 503 with Retry-After
 * (StoreUnavailable), not 500, naming Redis as the store's and the queue's refusals do.
 */
async function unavailableIfFails<T>(label: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw err instanceof StoreUnavailable ? err : new StoreUnavailable(`Redis at ${label}: ${(err as Error).message}`);
  }
}

/** BullMQ's name for a job run whole by one worker. */
export const WHOLE_JOB = 'job';
/** A split video's parts (splitVideo.ts): its segments, and the join that waits for them. */
export const SEGMENT_JOB = 'segment';
export const JOIN_JOB = 'join';

/** BullMQ's id of a split video's segment `index` (the join's id is the job's, as a whole job's). */
export function segmentJobId(id: string, index: number): string {
  return `${id}-s${index}`;
}

/** The backdrop job (and segment) a BullMQ job id names. */
export function partOf(bullId: string): { id: string; index?: number } {
  const m = /^(.+)-s(\d+)$/.exec(bullId);
  return m ? { id: m[1], index: Number(m[2]) } : { id: bullId };
}

export interface BullQueueOptions {
  redisUrl: string;
  /** Tries per job before it fails (a run that throws counts; a hand-back on a worker's drain does not). */
  attempts: number;
  /** Called for a job seen finished (succeeded, failed, canceled): maybe more than once per job. */
  onFinished: (job: JobRecord) => void;
  warn: (message: string) => void;
  /** --segment-seconds: a video longer than this is split across workers (see `split`). */
  segmentSeconds: number;
  /**
   * Queues a long video as a BullMQ flow (segment children, a concat-and-mux parent) instead of
   * one job, answering true; false when it is better run whole (splitVideo.ts says when). `info`
   * is the upload's probe, when the caller has it. Without the hook every job is one BullMQ job.
   */
  split?: (job: JobRecord, queue: Queue, info?: VideoInfo) => Promise<boolean>;
}

/** A video long enough to be split across workers (--segment-seconds). */
export function wantsSplit(job: JobRecord, segmentSeconds: number): boolean {
  return job.work.kind === 'video' && job.work.seconds !== undefined && job.work.seconds > segmentSeconds;
}

/** BullMQ's options for every job this API adds. */
export function jobOptions(id: string, attempts: number) {
  return {
    jobId: id,
    attempts,
    backoff: { type: 'exponential', delay: 1000 },
    // The JobRecord is what users see; BullMQ's copy is only needed while the job is live.
    removeOnComplete: { age: 3600 },
    removeOnFail: { age: 24 * 3600 },
  };
}

export class BullQueue implements JobQueue {
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private started = false;
  private draining = false;

  constructor(
    private readonly store: RedisJobStore,
    /** The API's fail-fast connection (shared with the store). */
    private readonly redis: Redis,
    private readonly options: BullQueueOptions,
  ) {
    this.queue = new Queue(QUEUE_NAME, { connection: redis });
    this.queue.on('error', () => {}); // reported once per outage by the connection itself
    this.events = new QueueEvents(QUEUE_NAME, { connection: redisOptionsFor(options.redisUrl, 'worker') as ConnectionOptions, autorun: false });
    this.events.on('error', () => {});
    this.events.on('completed', ({ jobId }) => void this.finished(jobId));
    this.events.on('failed', ({ jobId, failedReason }) => void this.finished(jobId, failedReason));
  }

  /** unavailableIfFails for this queue's Redis. */
  private guard<T>(op: () => Promise<T>): Promise<T> {
    return unavailableIfFails(redisLabel(this.options.redisUrl), op);
  }

  get accepting(): boolean {
    return this.started && !this.draining && this.redis.status === 'ready';
  }

  get refusal(): { detail: string; retryAfter: string } {
    if (this.draining) return { detail: 'the server is stopping', retryAfter: '30' };
    if (!this.started) return { detail: 'the server is starting', retryAfter: '1' };
    return { detail: `the job queue (Redis at ${redisLabel(this.options.redisUrl)}) is unreachable; try again shortly`, retryAfter: '5' };
  }

  depth(): Promise<number> {
    return this.guard(() => this.queue.getJobCountByTypes('waiting', 'prioritized', 'delayed'));
  }

  /**
   * Puts back in the queue any job the store holds as queued but BullMQ does not (an API that died
   * between the two writes; adding an id BullMQ has is a no-op), and finishes the bookkeeping of
   * jobs that finished while this node was down; again whenever the connection comes back.
   */
  async start(): Promise<void> {
    this.redis.on('ready', () => void this.reconcile().catch(() => {}));
    if (this.redis.status !== 'ready') {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 3000);
        this.redis.once('ready', () => resolve());
      });
      clearTimeout(timer);
    }
    if (this.redis.status === 'ready') await this.reconcile();
    else this.options.warn(`Redis at ${redisLabel(this.options.redisUrl)} is not reachable yet; new jobs get 503 until it is`);
    void this.events.run().catch(() => {});
    this.started = true;
  }

  private async reconcile(): Promise<void> {
    for (const job of await this.store.list()) {
      if (job.status === 'queued') await this.enqueue(job);
      else if (FINISHED.has(job.status)) this.options.onFinished(job);
    }
  }

  async enqueue(job: JobRecord, info?: VideoInfo): Promise<void> {
    const split = this.options.split;
    if (split && wantsSplit(job, this.options.segmentSeconds) && (await this.guard(() => split(job, this.queue, info)))) return;
    await this.guard(() => this.queue.add(WHOLE_JOB, { id: job.id }, jobOptions(job.id, this.options.attempts)));
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const job = await this.store.get(id);
    if (!job || FINISHED.has(job.status)) return job;
    const now = await this.store.update(id, { status: 'canceled', finished_at: new Date().toISOString() });
    // Already finished by its worker meanwhile: the update was refused.
    if (now.status !== 'canceled') return now;
    await this.guard(() => this.redis.publish(KEYS.cancel, id));
    // A waiting job leaves the queue; a running one is locked by its worker, which stops it. A split
    // video's join cannot be removed while a segment runs: its waiting segments are, and whatever
    // of it still reaches a worker is skipped (the job is final).
    const removed = await this.queue.remove(id).catch(() => 0);
    if (removed !== 1 && job.segments) await (await this.queue.getJob(id).catch(() => undefined))?.removeUnprocessedChildren().catch(() => {});
    this.options.onFinished(now);
    return now;
  }

  async drain(): Promise<void> {
    this.draining = true;
  }

  async close(): Promise<void> {
    await this.events.close().catch(() => {});
    await this.queue.close().catch(() => {});
  }

  /**
   * BullMQ finished a job. Its worker wrote the outcome already, except when no worker could: a
   * job whose workers kept dying (BullMQ fails it once it stalled more than its limit), whose
   * reason is written here.
   */
  private async finished(bullId: string, failedReason?: string): Promise<void> {
    const { id, index } = partOf(bullId);
    // A segment: its worker wrote the outcome; only one given up on by BullMQ (it kept stalling) is news here.
    if (index !== undefined && failedReason === undefined) return;
    if (index !== undefined) failedReason = `segment ${index}: ${failedReason}`;
    let job = await this.store.get(id).catch(() => undefined);
    if (job && !FINISHED.has(job.status) && failedReason !== undefined) {
      const error = /stalled/.test(failedReason) ? `the workers running it stopped responding ${job.attempts} times (${failedReason}); giving up` : failedReason;
      job = await this.store.update(id, { status: 'failed', error, finished_at: new Date().toISOString() }).catch(() => undefined);
    }
    if (job && FINISHED.has(job.status)) this.options.onFinished(job);
  }
}
