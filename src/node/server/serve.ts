/**
 * `backdrop serve` from start to stop: open the job store on --data, start the worker pool and the
 * embedded queue (which re-queues what a previous run left), resend undelivered callbacks, delete
 * expired results, listen. Stopping drains: new work gets 503, running jobs get --drain-timeout to
 * finish and are otherwise put back in the queue on disk, synchronous requests finish, then the
 * workers stop.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildApp } from './app.js';
import { ApiKeys } from './auth.js';
import { CallbackSender } from './callbacks.js';
import type { ServeConfig, ServerContext } from './context.js';
import { EmbeddedQueue } from './jobs/embeddedQueue.js';
import { DiskJobStore } from './jobs/store.js';
import { FINISHED } from './jobs/types.js';
import { WorkerPool } from './pool/workerPool.js';
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

  const store = new DiskJobStore(config.data);
  await store.open();
  const pool = new WorkerPool({ size: config.concurrency, warmOptions: cliOptionsFromFields({}, { video: false, maxPixels: config.maxPixels }), onWarning: options.warn });
  const callbacks = new CallbackSender(store, { keys: options.keys, allowPrivate: config.allowPrivateCallbacks, onWarning: options.warn });
  const queue = new EmbeddedQueue(store, pool, { onFinished: (job) => callbacks.send(job) });
  const ctx: ServerContext = { config, keys: options.keys, store, queue, pool, callbacks, tmpDir, draining: false };
  await queue.start();
  for (const job of await store.list()) if (FINISHED.has(job.status)) callbacks.send(job);

  const sweep = async () => {
    for (const job of await store.expired(config.retentionMs)) await store.remove(job.id).catch(() => {});
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
        // In-flight requests (photos being processed for a waiting client) finish; idle connections close.
        await app.close();
        clearInterval(sweeper);
        callbacks.stop();
        await pool.close();
      })()),
  };
}
