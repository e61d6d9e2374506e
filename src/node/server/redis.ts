/**
 * Redis for scale-out: the URL a user gives (`redis://[user:pass@]host:6379/0`, `rediss://` for
 * TLS), the connections the API and the workers open, and the names of backdrop's own keys.
 *
 * The API's connection fails fast (no offline queue, one retry): while Redis is away a POST is
 * answered 503 at once instead of hanging, and it reconnects by itself within a second or two of
 * Redis coming back. A worker's connections wait for Redis instead (a job's final state is
 * written when Redis is back, not lost), as BullMQ's workers require.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** The BullMQ queue every API node adds to and every worker takes from. */
export const QUEUE_NAME = 'backdrop-jobs';

/** backdrop's own keys (BullMQ's live under its `bull:` prefix). */
export const KEYS = {
  job: (id: string) => `backdrop:job:${id}`,
  /** Sorted set: job ids by creation time (listing). */
  created: 'backdrop:jobs',
  /** Sorted set: finished job ids by finish time (the retention sweep). */
  finished: 'backdrop:finished',
  /** Hash: idempotency hash → job id. */
  idempotency: 'backdrop:idempotency',
  /** Hash: job id → who claimed its callback (one API node sends it). */
  callbackClaims: (id: string) => `backdrop:callback:${id}`,
  /** Pub/sub channel: ids of jobs canceled by DELETE /v1/jobs/{id}. */
  cancel: 'backdrop:cancel',
} as const;

/** ioredis options from a redis:// or rediss:// URL; throws a message naming what is wrong. */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--redis must be a URL such as redis://127.0.0.1:6379/0, got "${url}"`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`--redis must start with redis:// or rediss://, got "${url}"`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new Error(`--redis: the path is the database number (redis://host:6379/0), got "/${db}"`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db: db ? Number(db) : 0,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** `host:port` for messages (never the password). */
export function redisLabel(url: string): string {
  const o = redisOptions(url);
  return `${o.host}:${o.port}`;
}

export type RedisRole = 'api' | 'worker';

export function redisOptionsFor(url: string, role: RedisRole): RedisOptions {
  const base = redisOptions(url);
  // Reconnect quickly: a restarted Redis is back in use within a second.
  const retryStrategy = (times: number) => Math.min(100 * times, 1000);
  return role === 'api'
    ? { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 4000, retryStrategy }
    : { ...base, maxRetriesPerRequest: null, retryStrategy };
}

/** A connection that reports its errors once per outage (ioredis repeats them on every retry). */
export function connectRedis(url: string, role: RedisRole, warn: (message: string) => void): Redis {
  const redis = new Redis(redisOptionsFor(url, role));
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    warn(`Redis at ${redisLabel(url)}: ${err.message}; retrying`);
  });
  redis.on('ready', () => {
    if (down) warn(`Redis at ${redisLabel(url)}: connected again`);
    down = false;
  });
  return redis;
}
