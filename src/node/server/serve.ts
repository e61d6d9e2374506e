/**
 * `backdrop serve` from start to stop: open the job store on --data, start the worker pool and the
 * embedded queue (which re-queues what a previous run left), resend undelivered callbacks, delete
 * expired results, listen. Stopping drains: new work gets 503, running jobs get --drain-timeout to
 * finish and are otherwise put back in the queue on disk, synchronous requests finish, then the
 * workers stop.
 *
 * With --redis (scale-out) the store is Redis and the queue BullMQ: jobs are run by `backdrop
 * worker` processes anywhere, and by this process too unless --no-work. Job files stay under
 * --data (shared with the workers, or served to them over HTTP by the internal routes).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildApp } from './app.js';
import { ApiKeys } from './auth.js';
import { CallbackSender } from './callbacks.js';
import type { ServeConfig, ServerContext } from './context.js';
import { BullQueue } from './jobs/bullQueue.js';
import { EmbeddedQueue } from './jobs/embeddedQueue.js';
import { removeSpentFiles } from './jobs/jobFiles.js';
import type { JobQueue } from './jobs/queue.js';
import { RedisJobStore } from './jobs/redisStore.js';
import { VideoSplitter } from './jobs/splitVideo.js';
import { DiskJobStore, type JobStore } from './jobs/store.js';
import { FINISHED, type JobRecord } from './jobs/types.js';
import { WorkerPool } from './pool/workerPool.js';
import { connectRedis } from './redis.js';
import { startWorker, type RunningWorker } from './worker/startWorker.js';
import { cliOptionsFromFields } from '../options/fields.js';

export interface RunningServer {
  /** http://host:port */
  url: string;
  /** Drains and stops (see above). */
  stop(): Promise<void>;
}

export interface StartOptions {
  keys: ApiKeys;
  version: string;
  warn: (message: string) => void;
}

export async function startServer(config: ServeConfig, options: StartOptions): Promise<RunningServer> {
  await mkdir(config.data, { recursive: true });
  const tmpDir = join(config.data, 'tmp');
  // Files of synchronous requests a previous run did not finish: nobody is waiting for them.
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });

  const pool = new WorkerPool({ size: config.concurrency, warmOptions: cliOptionsFromFields({}, { video: false, maxPixels: config.maxPixels }), onWarning: options.warn });
  const callbackOptions = { keys: options.keys, allowPrivate: config.allowPrivateCallbacks, onWarning: options.warn };
  let store: JobStore;
  let queue: JobQueue;
  let callbacks: CallbackSender;
  let worker: RunningWorker | undefined;
  let closeQueue = async () => {};
  if (config.redis) {
    const redis = connectRedis(config.redis, 'api', options.warn);
    const redisStore = new RedisJobStore(redis, config.data);
    store = redisStore;
    await store.open();
    // One API node sends a job's callback, whichever sees it finish first.
    const me = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    callbacks = new CallbackSender(store, { ...callbackOptions, claim: (id) => redisStore.claimCallback(id, me, 10 * 60_000) });
    const onFinished = (job: JobRecord) => {
      void removeSpentFiles(redisStore.dirFor(job.id), job).catch(() => {});
      callbacks.send(job);
    };
    // Long videos become flows of segments for several workers, planned here where the input is.
    const splitter = new VideoSplitter(redisStore, redis, { segmentSeconds: config.segmentSeconds, attempts: config.attempts, warn: options.warn });
    const bull = new BullQueue(redisStore, redis, { redisUrl: config.redis, attempts: config.attempts, segmentSeconds: config.segmentSeconds, onFinished, warn: options.warn, split: splitter.split });
    queue = bull;
    await queue.start();
    if (config.work) {
      worker = await startWorker(
        { redis: config.redis, concurrency: config.concurrency, data: config.data, drainTimeoutMs: config.drainTimeoutMs, lockDurationMs: config.lockDurationMs },
        { warn: options.warn, pool },
      );
    }
    closeQueue = async () => {
      await bull.close();
      await splitter.close();
      await redis.quit().catch(() => redis.disconnect());
    };
  } else {
    const disk = new DiskJobStore(config.data);
    store = disk;
    await store.open();
    callbacks = new CallbackSender(store, callbackOptions);
    queue = new EmbeddedQueue(disk, pool, { onFinished: (job) => callbacks.send(job) });
    await queue.start();
    for (const job of await store.list()) if (FINISHED.has(job.status)) callbacks.send(job);
  }
  const ctx: ServerContext = { config, keys: options.keys, store, queue, pool, callbacks, tmpDir, draining: false };

  const sweep = async () => {
    for (const job of await store.expired(config.retentionMs).catch(() => [])) await store.remove(job.id).catch(() => {});
  };
  await sweep();
  const sweeper = setInterval(() => void sweep(), Math.max(1000, Math.min(config.retentionMs / 10, 10 * 60_000)));
  sweeper.unref();

  const app = await buildApp(ctx, options.version);
  const address = await app.listen({ host: config.host, port: config.port });
  let stopping: Promise<void> | undefined;
  return {
    url: address,
    stop: () =>
      (stopping ??= (async () => {
        ctx.draining = true;
        await queue.drain(config.drainTimeoutMs);
        await worker?.stop();
        // In-flight requests (photos being processed for a waiting client) finish; idle connections close.
        await app.close();
        clearInterval(sweeper);
        callbacks.stop();
        await closeQueue();
        await pool.close();
      })()),
  };
}
