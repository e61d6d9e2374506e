/**
 * A scale-out worker from start to stop: `backdrop worker`, or the worker inside `backdrop serve
 * --redis` (without --no-work, on serve's own pool). It loads the model once per pool thread,
 * removes what a killed predecessor left in its own space, then takes job ids from the BullMQ
 * queue, `--concurrency` at a time, with BullMQ's stalled-job detection on: a worker that dies
 * stops renewing its locks and its jobs go to another worker after `--lock-duration`.
 *
 * Stopping (SIGTERM) drains: no new jobs; running ones get --drain-timeout to finish, then are
 * stopped and handed back to the queue (not counted as an attempt) for another worker.
 */
import { hostname } from 'node:os';
import { Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { cliOptionsFromFields } from '../../options/fields.js';
import { DEFAULT_MAX_PIXELS } from '../../imageIO.js';
import { RedisJobStore } from '../jobs/redisStore.js';
import { WorkerPool } from '../pool/workerPool.js';
import { connectRedis, KEYS, QUEUE_NAME, redisOptionsFor } from '../redis.js';
import { ApiFiles, SharedFolder, type ClaimCheck } from './claimCheck.js';
import { JobRunner } from './jobRunner.js';

export interface WorkerConfig {
  redis: string;
  /** Jobs run at once (and pool threads, when the worker makes its own pool). */
  concurrency: number;
  /** Shared-folder mode: the API's --data. With `api`: this worker's own scratch folder. */
  data: string;
  /** The API node's URL: fetch inputs and send outputs over HTTP instead of a shared folder. */
  api?: string;
  apiKey?: string;
  drainTimeoutMs: number;
  /** How long a job stays claimed by a worker that stopped answering (BullMQ lockDuration; also its stalled-check interval). */
  lockDurationMs: number;
}

export interface RunningWorker {
  /** Where its files come from, for the start-up line. */
  files: string;
  stop(): Promise<void>;
}

export interface WorkerStartOptions {
  warn: (message: string) => void;
  /** Serve's pool, shared with its synchronous photos; without it the worker makes (and closes) its own. */
  pool?: WorkerPool;
}

export async function startWorker(config: WorkerConfig, options: WorkerStartOptions): Promise<RunningWorker> {
  const { warn } = options;
  const files: ClaimCheck = config.api ? new ApiFiles(config.api, config.apiKey, config.data) : new SharedFolder(config.data);
  await files.sweep();
  const pool = options.pool ?? new WorkerPool({ size: config.concurrency, warmOptions: cliOptionsFromFields({}, { video: false, maxPixels: DEFAULT_MAX_PIXELS }), onWarning: warn });
  const redis: Redis = connectRedis(config.redis, 'worker', warn);
  const store = new RedisJobStore(redis, config.data);
  const runner = new JobRunner(store, pool, files, warn, (id) => redis.publish(KEYS.cancel, id));

  const subscriber = connectRedis(config.redis, 'worker', () => {});
  subscriber.on('message', (_channel: string, id: string) => runner.cancel(id));
  await subscriber.subscribe(KEYS.cancel);

  const worker = new Worker(QUEUE_NAME, (job, token) => runner.process(job, token), {
    connection: redisOptionsFor(config.redis, 'worker') as ConnectionOptions,
    concurrency: config.concurrency,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.lockDurationMs,
    name: `${hostname()}:${process.pid}`,
    autorun: false,
  });
  // BullMQ repeats a connection error on every retry while Redis is away: say each one once a minute.
  const said = new Map<string, number>();
  worker.on('error', (err) => {
    const last = said.get(err.message) ?? 0;
    if (Date.now() - last < 60_000) return;
    said.set(err.message, Date.now());
    warn(`worker: ${err.message}`);
  });

  if (!pool.ready) await new Promise<void>((resolve) => pool.once('ready', () => resolve()));
  void worker.run().catch((err: Error) => warn(`worker stopped taking jobs: ${err.message}`));
  await worker.waitUntilReady();

  let stopping: Promise<void> | undefined;
  return {
    files: files.label,
    stop: () =>
      (stopping ??= (async () => {
        const timer = setTimeout(() => {
          if (runner.busy > 0) warn(`--drain-timeout passed with ${runner.busy} job(s) running: handing them back to the queue`);
          runner.handBackAll();
        }, config.drainTimeoutMs);
        await worker.close();
        clearTimeout(timer);
        await subscriber.quit().catch(() => subscriber.disconnect());
        await redis.quit().catch(() => redis.disconnect());
        if (!options.pool) await pool.close();
      })()),
  };
}
