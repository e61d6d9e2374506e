/**
 * `backdrop worker`: takes jobs that `backdrop serve --redis` queued, on any machine (src/node/server/worker).
 * Prints one line on stdout once it takes jobs, warnings on stderr; SIGTERM or Ctrl-C drains it
 * and it exits 0.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { integerIn } from '../options/parsers.js';
import { redisLabel } from '../server/redis.js';
import { startWorker } from '../server/worker/startWorker.js';
import type { CliIO } from './io.js';
import { cacheDir, parseDuration, parseRedisUrl, runUntilStopped } from './serve.js';

interface WorkerFlags {
  redis: string;
  concurrency: number;
  api?: string;
  data?: string;
  apiKey?: string;
  drainTimeout: number;
  lockDuration: number;
}

function parseApiUrl(value: string): string {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new InvalidArgumentError(`give the API node's URL, such as http://api-host:8080.`);
  return value;
}

export function workerCommand(io: CliIO): Command {
  return new Command('worker')
    .description('Take jobs from the queue of `backdrop serve --redis` and run them: photos and videos, --concurrency at a time, with the model loaded once per thread.')
    .helpOption('-h, --help', 'show this help')
    .addOption(new Option('--redis <url>', 'the Redis the API queues jobs on (redis://host:6379/0)').argParser(parseRedisUrl).makeOptionMandatory())
    .addOption(new Option('--concurrency <n>', 'jobs run at once, each on a thread with the model loaded').argParser(integerIn('--concurrency', 1, 256)).default(availableParallelism(), 'the number of cores'))
    .addOption(new Option('--data <dir>', "without --api: the API's --data folder, mounted at the same path here (default: serve's default folder); with --api: this worker's scratch folder"))
    .addOption(new Option('--api <url>', 'fetch inputs from and send outputs to the API node over HTTP (no shared folder needed), e.g. http://api-host:8080').argParser(parseApiUrl))
    .addOption(new Option('--api-key <key>', "with --api: the API's key (or env BACKDROP_API_KEY)"))
    .addOption(new Option('--drain-timeout <duration>', 'on SIGTERM, how long running jobs may take to finish before they are handed back to the queue for another worker').argParser(parseDuration('--drain-timeout')).default(30_000, '30s'))
    .addOption(new Option('--lock-duration <duration>', "a job of this worker's goes to another worker after this long if this one stops answering (killed, machine lost); the same on every worker").argParser(parseDuration('--lock-duration')).default(30_000, '30s'))
    .addHelpText(
      'after',
      `
Where the files are (claim-check: Redis carries only job ids, never files):
  shared folder   the API's --data is a network mount (NFS, SMB…) at the same path on every
                  machine; give it as --data. Files are read and written in place: no copies.
  --api URL       no shared folder: the worker downloads each input from the API node and
                  uploads the result (authenticated with --api-key); --data is only scratch space.

Examples:
  backdrop worker --redis redis://10.0.0.5:6379/0 --data /mnt/backdrop
  BACKDROP_API_KEY=s3cret backdrop worker --redis redis://10.0.0.5:6379/0 --api http://10.0.0.5:8080 --concurrency 2

A failed job is tried again by BullMQ (serve's --attempts, default 3) and then fails with the
reason; a worker killed mid-job loses it to another worker after --lock-duration, which removes
the partial output first. SIGTERM or Ctrl-C: no new jobs, running ones finish (or are handed back
after --drain-timeout), exit 0.

A video longer than serve's --segment-seconds comes as segments (any worker runs any of them,
through the same claim-check) and a join that concatenates them with the sound; the job's
progress counts the frames of all its segments, and a DELETE stops each one wherever it runs.`,
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .action(async (flags: WorkerFlags) => {
      const apiKey = flags.apiKey ?? (process.env.BACKDROP_API_KEY || undefined);
      const data = flags.data ?? join(cacheDir(), 'backdrop', flags.api ? 'worker' : 'serve');
      const warn = (m: string) => io.stderr(`warning: ${m}\n`);
      const worker = await startWorker(
        { redis: flags.redis, concurrency: flags.concurrency, data, api: flags.api, apiKey, drainTimeoutMs: flags.drainTimeout, lockDurationMs: flags.lockDuration },
        { warn },
      );
      io.stdout(`backdrop worker: taking jobs from Redis at ${redisLabel(flags.redis)} (${flags.concurrency} at once; files: ${worker.files})\n`);
      await runUntilStopped(io, 'backdrop worker', () => worker.stop());
    });
}
