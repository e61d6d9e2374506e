/**
 * The job queue as the API sees it. The embedded queue (one machine: a FIFO feeding the worker
 * pool, state in the JobStore) implements it, and so does the BullMQ adapter (scale-out,
 * bullQueue.ts), without the routes changing.
 */
import type { VideoInfo } from '../../video/probe.js';
import type { JobRecord } from './types.js';

export interface JobQueue {
  /** Takes new jobs (false while starting, draining or stopped). */
  readonly accepting: boolean;
  /** Why it does not take jobs and when to ask again (the 503's detail and Retry-After), while `accepting` is false. */
  readonly refusal: { detail: string; retryAfter: string };
  /** Jobs accepted and not yet started. */
  depth(): Promise<number>;
  /** Picks up what the store holds from before (re-queues jobs a stop interrupted) and starts working. */
  start(): Promise<void>;
  /** Hands a job, already persisted as queued, to the workers (resolved once the queue holds it); `info`: a video's probe at upload, for a queue that plans with it. */
  enqueue(job: JobRecord, info?: VideoInfo): Promise<void>;
  /** Cancels a queued or running job (a running video's ffmpeg is stopped, its partial output removed). */
  cancel(id: string): Promise<JobRecord | undefined>;
  /** Stops taking jobs; lets running ones finish for up to `timeoutMs`, then puts them back in the queue for the next start. */
  drain(timeoutMs: number): Promise<void>;
}
