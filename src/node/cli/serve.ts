/**
 * `backdrop serve`: the HTTP API (src/node/server) as a subcommand. Prints where it listens on
 * stdout, warnings on stderr; SIGTERM or Ctrl-C drains it and it exits 0.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAX_PIXELS } from '../imageIO.js';
import { integerIn, numberIn, UsageError } from '../options/parsers.js';
import { ApiKeys } from '../server/auth.js';
import { redisLabel, redisOptions } from '../server/redis.js';
import type { ServeConfig } from '../server/context.js';
import { startServer } from '../server/serve.js';
import type { CliIO } from './io.js';
import { packageVersion } from './version.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** "100MB", "1GB", "512k", "1048576" → bytes (binary units). */
export function parseSize(name: string) {
  return (value: string): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?b?)\s*$/i.exec(value);
    const n = m ? Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]) : NaN;
    if (!m || !(n > 0)) throw new InvalidArgumentError(`${name} must be a size such as 100MB, 1GB or 512k.`);
    return n;
  };
}

const SECONDS: Record<string, number> = { ms: 0.001, s: 1, '': 1, m: 60, h: 3600, d: 86400 };

/** "24h", "30m", "90s", "2d", "1500ms", "45" (seconds) → milliseconds. */
export function parseDuration(name: string) {
  return (value: string): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|)\s*$/i.exec(value);
    if (!m) throw new InvalidArgumentError(`${name} must be a duration such as 90s, 30m, 24h or 7d.`);
    return Number(m[1]) * SECONDS[m[2].toLowerCase()] * 1000;
  };
}

/** The OS's cache folder (XDG on Linux, Library/Caches on macOS, LOCALAPPDATA on Windows). */
export function cacheDir(): string {
  if (process.platform === 'win32') return process.env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches');
  return process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
}

interface ServeFlags {
  host?: string;
  port: number;
  data: string;
  concurrency: number;
  maxUpload: number;
  maxPixels: number;
  apiKey: string[];
  queueLimit: number;
  retention: number;
  drainTimeout: number;
  allowPrivateCallbacks?: boolean;
  redis?: string;
  work: boolean;
  attempts: number;
  lockDuration: number;
  segmentSeconds: number;
}

/** Checks a --redis URL at parse time (the message says what a good one looks like). */
export function parseRedisUrl(value: string): string {
  try {
    redisOptions(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--redis:? /, ''));
  }
  return value;
}

export function serveCommand(io: CliIO): Command {
  return new Command('serve')
    .description('Serve the HTTP API: POST /v1/images (a photo in, the result out) and /v1/jobs (photos and videos in the background). OpenAPI at /openapi.json.')
    .helpOption('-h, --help', 'show this help')
    .addOption(new Option('--host <address>', 'address to listen on (default 127.0.0.1; another address needs an API key unless given explicitly)'))
    .addOption(new Option('--port <n>', 'port to listen on (0 = any free port)').argParser(integerIn('--port', 0, 65535)).default(8080))
    .addOption(new Option('--data <dir>', 'folder for job inputs, outputs and state').default(join(cacheDir(), 'backdrop', 'serve')))
    .addOption(new Option('--concurrency <n>', 'photos and videos processed at once, each by a worker with the model loaded (default: the number of cores)').argParser(integerIn('--concurrency', 1, 256)).default(availableParallelism()))
    .addOption(new Option('--max-upload <size>', 'largest upload (per file)').argParser(parseSize('--max-upload')).default(100 * 1024 ** 2, '100MB'))
    .addOption(new Option('--max-pixels <n>', 'refuse images larger than this many pixels (413)').argParser(numberIn('--max-pixels', 1, 2 ** 40)).default(DEFAULT_MAX_PIXELS))
    .addOption(new Option('--api-key <key>', 'require Authorization: Bearer KEY on /v1/ (repeat for several keys; also env BACKDROP_API_KEYS=k1,k2)').argParser((v: string, prev: string[]) => [...prev, v]).default([]))
    .addOption(new Option('--queue-limit <n>', 'jobs waiting before new ones are answered 429 with Retry-After').argParser(integerIn('--queue-limit', 1, 1_000_000)).default(100))
    .addOption(new Option('--retention <duration>', 'delete finished jobs and their results after this long').argParser(parseDuration('--retention')).default(24 * 3600_000, '24h'))
    .addOption(new Option('--drain-timeout <duration>', 'on SIGTERM, how long running jobs may take to finish before they are put back in the queue').argParser(parseDuration('--drain-timeout')).default(30_000, '30s'))
    .addOption(new Option('--allow-private-callbacks', 'let callback_url point at private and loopback addresses'))
    .addOption(new Option('--redis <url>', 'scale out: jobs go to a BullMQ queue on this Redis (redis://host:6379/0), run by `backdrop worker` processes on any machine').argParser(parseRedisUrl))
    .addOption(new Option('--no-work', 'with --redis: take no jobs here, only answer the API (POST /v1/images is still processed here)'))
    .addOption(new Option('--attempts <n>', 'with --redis: tries per job before it fails (a worker that is stopped or dies does not use one up)').argParser(integerIn('--attempts', 1, 100)).default(3))
    .addOption(new Option('--lock-duration <duration>', 'with --redis: a job whose worker stops answering goes to another worker after this long').argParser(parseDuration('--lock-duration')).default(30_000, '30s'))
    .addOption(new Option('--segment-seconds <s>', 'with --redis: a video longer than this is split at keyframes into segments that several workers process at once').argParser(numberIn('--segment-seconds', 1, 86_400)).default(30))
    .addHelpText(
      'after',
      `
Examples:
  backdrop serve                                   http://127.0.0.1:8080, no key needed
  curl -F file=@me.jpg -F effect=color -F color=green http://127.0.0.1:8080/v1/images -o green.jpg
  curl --data-binary @me.jpg -H 'Content-Type: image/jpeg' 'http://127.0.0.1:8080/v1/images?blur=80' -o out.jpg
  curl -F file=@talk.mp4 http://127.0.0.1:8080/v1/jobs      202 + Location: /v1/jobs/<id>
  BACKDROP_API_KEYS=s3cret backdrop serve --host 0.0.0.0 --port 80

SIGTERM or Ctrl-C: new work is refused (503), running jobs finish (or go back in the queue after
--drain-timeout), then it exits 0. Jobs on --data survive restarts, even a kill -9.

Scale out (README, "Scale out"): one Redis, any number of API nodes and workers:
  redis-server --appendonly yes --appendfsync everysec
  backdrop serve --redis redis://redis-host:6379/0 --no-work --data /mnt/shared/backdrop
  backdrop worker --redis redis://redis-host:6379/0 --data /mnt/shared/backdrop     (a shared folder)
  backdrop worker --redis redis://redis-host:6379/0 --api http://api-host:8080      (files over HTTP)`,
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .action(async (flags: ServeFlags, command: Command) => {
      const keys = ApiKeys.from(flags.apiKey, process.env.BACKDROP_API_KEYS);
      const hostGiven = command.getOptionValueSource('host') === 'cli';
      const config: ServeConfig = {
        host: flags.host ?? '127.0.0.1',
        port: flags.port,
        data: flags.data,
        concurrency: flags.concurrency,
        maxUpload: flags.maxUpload,
        maxPixels: flags.maxPixels,
        queueLimit: flags.queueLimit,
        retentionMs: flags.retention,
        drainTimeoutMs: flags.drainTimeout,
        allowPrivateCallbacks: flags.allowPrivateCallbacks === true,
        redis: flags.redis,
        work: flags.work,
        attempts: flags.attempts,
        lockDurationMs: flags.lockDuration,
        segmentSeconds: flags.segmentSeconds,
      };
      if (!flags.redis) {
        const scaleOnly = (['work', 'attempts', 'lockDuration', 'segmentSeconds'] as const).filter((k) => command.getOptionValueSource(k) === 'cli');
        if (scaleOnly.length) throw new UsageError(`${scaleOnly.map((k) => (k === 'work' ? '--no-work' : `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`)).join(', ')} go with --redis (scale-out)`);
      }
      const warn = (m: string) => io.stderr(`warning: ${m}\n`);
      if (!keys.enabled && hostGiven && !/^(127\.|::1$|localhost$)/.test(config.host)) warn(`no API key is set and --host ${config.host} is not loopback: anyone who can reach it can use it`);
      const server = await startServer(config, { keys, version: packageVersion(), warn });
      const queue = config.redis ? `, jobs on Redis at ${redisLabel(config.redis)}${config.work ? '' : ', API only (--no-work)'}` : '';
      io.stdout(`backdrop serve: listening on ${server.url} (data ${config.data}, ${config.concurrency} workers${queue}${keys.enabled ? ', API key required' : ''})\n`);
      await runUntilStopped(io, 'backdrop serve', () => server.stop());
    });
}

/**
 * A long-running command's life after start-up (`serve`, `worker`): it runs until the CLI's stop
 * signal (Ctrl-C, SIGTERM), then drains through `stop`, saying so, and exits 0.
 */
export async function runUntilStopped(io: CliIO, name: string, stop: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  io.stderr(`${name}: stopping (draining)…\n`);
  await stop();
  io.stderr(`${name}: stopped\n`);
  io.exitCode = 0;
}
