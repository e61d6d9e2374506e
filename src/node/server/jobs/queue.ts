/**
 * The job queue as the API sees it. The embedded queue (one machine: a FIFO feeding the worker
 * pool, state in the JobStore) implements it; a BullMQ adapter (scale-out) can implement the same
 * without the routes changing.
 */
import type { JobRecord } from './types.js';

export interface JobQueue {
  /** Takes new jobs (false while starting, draining or stopped). */
  readonly accepting: boolean;
  /** Jobs accepted and not yet started. */
  depth(): number;
  /** Picks up what the store holds from before (re-queues jobs a stop interrupted) and starts working. */
  start(): Promise<void>;
  /** Hands a job, already persisted as queued, to the workers. */
  enqueue(job: JobRecord): void;
  /** Cancels a queued or running job (a running video's ffmpeg is stopped, its partial output removed). */
  cancel(id: string): Promise<JobRecord | undefined>;
  /** Stops taking jobs; lets running ones finish for up to `timeoutMs`, then puts them back in the queue for the next start. */
  drain(timeoutMs: number): Promise<void>;
}
