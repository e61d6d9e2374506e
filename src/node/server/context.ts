/** What the routes share: settings, the job store and queue, the worker pool, keys and callbacks. */
import type { ApiKeys } from './auth.js';
import type { CallbackSender } from './callbacks.js';
import type { JobQueue } from './jobs/queue.js';
import type { JobStore } from './jobs/store.js';
import type { WorkerPool } from './pool/workerPool.js';

export interface ServeConfig {
  host: string;
  port: number;
  /** Folder for job inputs, outputs and state. */
  data: string;
  concurrency: number;
  /** Largest upload (each file part or raw body), bytes. */
  maxUpload: number;
  maxPixels: number;
  /** Jobs waiting (and photo requests waiting for a worker) before new ones get 429. */
  queueLimit: number;
  /** Finished jobs and their results are deleted after this long, ms. */
  retentionMs: number;
  /** On SIGTERM, how long running jobs may take to finish before they are put back in the queue, ms. */
  drainTimeoutMs: number;
  allowPrivateCallbacks: boolean;
  /** Scale-out: jobs go to BullMQ on this Redis (redis://host:6379/0); absent = the embedded queue. */
  redis?: string;
  /** Scale-out: this process also takes jobs from the queue (false = --no-work, API only). */
  work: boolean;
  /** Scale-out: tries per job before it fails (--attempts). */
  attempts: number;
  /** Scale-out: how long a job stays claimed by a worker that stopped answering, ms (--lock-duration). */
  lockDurationMs: number;
  /** Scale-out: a video longer than this many seconds is split into segments for several workers (--segment-seconds). */
  segmentSeconds: number;
}

export interface ServerContext {
  config: ServeConfig;
  keys: ApiKeys;
  store: JobStore;
  queue: JobQueue;
  pool: WorkerPool;
  callbacks: CallbackSender;
  /** Folder for synchronous requests' files (emptied at start). */
  tmpDir: string;
  /** Set on SIGTERM: new work gets 503. */
  draining: boolean;
}

/** Seconds a client is told to wait when the queue is full or the server is stopping. */
export const RETRY_AFTER_FULL = '5';
export const RETRY_AFTER_DRAINING = '30';
