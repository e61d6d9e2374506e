/**
 * The job store of scale-out: each JobRecord is a Redis hash (one JSON-encoded field per top-level
 * key, so writers of different fields never overwrite each other), with sorted sets for listing
 * by creation and for the retention sweep, and a hash from idempotency key to job id. Files stay
 * on disk under `<data>/jobs/<id>/` as on one machine (the claim-check: only ids go through Redis).
 *
 * A finished job's status and progress are final: an update that would change them is refused
 * atomically (a Lua script), so a worker that finishes after a DELETE canceled its job, or after
 * its lock was lost and another worker finished it, changes nothing.
 *
 * Durability is Redis's: with `appendonly yes` and `appendfsync everysec` (README, "Scale out") a
 * Redis restart loses at most the last second, and a job is in Redis before its 202 is answered.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { KEYS } from '../redis.js';
import { jobFolder, reserveJobFolder, StoreUnavailable, type JobStore } from './store.js';
import { FINISHED, type JobRecord, type JobStatus, type JobWorker } from './types.js';

/**
 * KEYS: the job hash, the finished set. ARGV: finished-at ms or '', then field/value pairs ('' deletes).
 * Returns nil for no such job, else the hash as it is after the update (unchanged when refused).
 */
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local status = redis.call('HGET', KEYS[1], 'status')
local final = status == '"succeeded"' or status == '"failed"' or status == '"canceled"'
local refuse = false
if final then
  for i = 2, #ARGV, 2 do
    if ARGV[i] == 'status' or ARGV[i] == 'progress' then refuse = true end
  end
end
if not refuse then
  for i = 2, #ARGV, 2 do
    if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i]) else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
  end
  if ARGV[1] ~= '' then redis.call('ZADD', KEYS[2], ARGV[1], string.sub(KEYS[1], string.len('${KEYS.job('')}') + 1)) end
end
return redis.call('HGETALL', KEYS[1])
`;

/**
 * One segment of a split video (KEYS: the job hash). ARGV: the segment's index, a change to its
 * attempts (+1 started, -1 handed back, 0), its worker as JSON or '', its frames done or '', and
 * the start time as JSON or '' (a start: a queued job becomes running). The job's progress.done
 * becomes the sum of its segments' and its attempts the most any part took. A finished job is
 * not changed. Returns nil for no such job, else the hash as it is after.
 */
const SEGMENT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local status = redis.call('HGET', KEYS[1], 'status')
local raw = redis.call('HGET', KEYS[1], 'segments')
local final = status == '"succeeded"' or status == '"failed"' or status == '"canceled"'
if final or not raw then return redis.call('HGETALL', KEYS[1]) end
local segments = cjson.decode(raw)
local s = segments[tonumber(ARGV[1]) + 1]
if s == nil then return redis.call('HGETALL', KEYS[1]) end
s.attempts = math.max(0, (tonumber(s.attempts) or 0) + tonumber(ARGV[2]))
if ARGV[3] ~= '' then s.worker = cjson.decode(ARGV[3]) end
if ARGV[4] ~= '' then s.done = tonumber(ARGV[4]) end
local sum = 0
local most = tonumber(redis.call('HGET', KEYS[1], 'join_attempts') or '0') or 0
for _, seg in ipairs(segments) do
  sum = sum + (tonumber(seg.done) or 0)
  most = math.max(most, tonumber(seg.attempts) or 0)
end
local progress = cjson.decode(redis.call('HGET', KEYS[1], 'progress'))
progress.done = sum
redis.call('HSET', KEYS[1], 'segments', cjson.encode(segments), 'attempts', most, 'progress', cjson.encode(progress))
if ARGV[5] ~= '' then
  if status == '"queued"' then redis.call('HSET', KEYS[1], 'status', '"running"') end
  if redis.call('HGET', KEYS[1], 'started_at') == 'null' then redis.call('HSET', KEYS[1], 'started_at', ARGV[5]) end
end
return redis.call('HGETALL', KEYS[1])
`;

/** A change to one segment of a split video (RedisJobStore.segment). */
export interface SegmentChange {
  /** +1 when a worker starts it, -1 when it is handed back (a drain), else 0. */
  attempts?: number;
  worker?: JobWorker;
  /** Frames it has written so far (all of them once it finished). */
  done?: number;
  /** A worker starts it: a queued job becomes running, its started_at set. */
  started?: boolean;
}

type Fields = Record<string, string>;

function encode(patch: Partial<JobRecord>): string[] {
  const args: string[] = [];
  for (const [k, v] of Object.entries(patch)) args.push(k, v === undefined ? '' : JSON.stringify(v));
  return args;
}

function decode(fields: Fields | string[] | null): JobRecord | undefined {
  if (!fields) return undefined;
  const entries: [string, string][] = Array.isArray(fields) ? [] : Object.entries(fields);
  if (Array.isArray(fields)) for (let i = 0; i < fields.length; i += 2) entries.push([fields[i], fields[i + 1]]);
  if (entries.length === 0) return undefined;
  const job: Record<string, unknown> = {};
  for (const [k, v] of entries) job[k] = JSON.parse(v);
  return job as unknown as JobRecord;
}

function finishedScore(patch: Partial<JobRecord>): string {
  return patch.finished_at && patch.status && FINISHED.has(patch.status) ? String(Date.parse(patch.finished_at)) : '';
}

export class RedisJobStore implements JobStore {
  private readonly root: string;

  constructor(
    private readonly redis: Redis,
    dataDir: string,
  ) {
    this.root = join(dataDir, 'jobs');
  }

  async open(): Promise<JobRecord[]> {
    await mkdir(this.root, { recursive: true });
    return [];
  }

  reserve(): Promise<{ id: string; dir: string }> {
    return reserveJobFolder(this.root);
  }

  dirFor(id: string): string {
    return jobFolder(this.root, id);
  }

  async create(job: JobRecord): Promise<void> {
    await this.guard(async () => {
      const multi = this.redis.multi().hset(KEYS.job(job.id), ...encode(job)).zadd(KEYS.created, Date.parse(job.created_at), job.id);
      if (job.idempotency) multi.hset(KEYS.idempotency, job.idempotency, job.id);
      await multi.exec();
    });
  }

  /** Applies a patch (see the header: a finished job's status and progress are not changed) and answers the job as it is now. */
  async update(id: string, patch: Partial<JobRecord>): Promise<JobRecord> {
    const result = await this.guard(() => this.redis.eval(UPDATE, 2, KEYS.job(id), KEYS.finished, finishedScore(patch), ...encode(patch)) as Promise<string[] | null>);
    const job = decode(result);
    if (!job) throw new Error(`no job ${id}`);
    return job;
  }

  /** Updates one segment of a split video and the job's progress and attempts from its segments (see SEGMENT); answers the job as it is now. */
  async segment(id: string, index: number, change: SegmentChange): Promise<JobRecord> {
    const args = [String(index), String(change.attempts ?? 0), change.worker ? JSON.stringify(change.worker) : '', change.done !== undefined ? String(change.done) : '', change.started ? JSON.stringify(new Date().toISOString()) : ''];
    const job = decode(await this.guard(() => this.redis.eval(SEGMENT, 1, KEYS.job(id), ...args) as Promise<string[] | null>));
    if (!job) throw new Error(`no job ${id}`);
    return job;
  }

  get(id: string): Promise<JobRecord | undefined> {
    return this.guard(async () => decode(await this.redis.hgetall(KEYS.job(id))));
  }

  async list(status?: JobStatus): Promise<JobRecord[]> {
    const ids = await this.guard(() => this.redis.zrange(KEYS.created, 0, -1));
    const jobs = await this.many(ids);
    return status ? jobs.filter((j) => j.status === status) : jobs;
  }

  async byIdempotency(hash: string): Promise<JobRecord | undefined> {
    const id = await this.guard(() => this.redis.hget(KEYS.idempotency, hash));
    return id ? this.get(id) : undefined;
  }

  async expired(ms: number, now = Date.now()): Promise<JobRecord[]> {
    return this.many(await this.guard(() => this.redis.zrangebyscore(KEYS.finished, '-inf', now - ms)));
  }

  async remove(id: string): Promise<void> {
    const job = await this.get(id);
    await this.guard(async () => {
      const multi = this.redis.multi().del(KEYS.job(id), KEYS.callbackClaims(id)).zrem(KEYS.created, id).zrem(KEYS.finished, id);
      if (job?.idempotency) multi.hdel(KEYS.idempotency, job.idempotency);
      await multi.exec();
    });
    await rm(this.dirFor(id), { recursive: true, force: true });
  }

  async release(id: string): Promise<void> {
    await rm(this.dirFor(id), { recursive: true, force: true });
  }

  /** One API node claims a job's callback (the others skip it): true for the first caller in `ttlMs`. */
  async claimCallback(id: string, owner: string, ttlMs: number): Promise<boolean> {
    const ok = await this.guard(() => this.redis.set(KEYS.callbackClaims(id), owner, 'PX', ttlMs, 'NX'));
    return ok === 'OK' || (await this.guard(() => this.redis.get(KEYS.callbackClaims(id)))) === owner;
  }

  private async many(ids: string[]): Promise<JobRecord[]> {
    const jobs: JobRecord[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const pipeline = this.redis.pipeline();
      for (const id of ids.slice(i, i + 500)) pipeline.hgetall(KEYS.job(id));
      const results = await this.guard(() => pipeline.exec());
      for (const [err, fields] of results ?? []) {
        const job = err ? undefined : decode(fields as Fields);
        if (job) jobs.push(job);
      }
    }
    return jobs;
  }

  /** Redis errors (it is away, a command timed out) become StoreUnavailable: the API answers 503. */
  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof Error && /no job /.test(err.message)) throw err;
      // Named as the queue's refusal names it, so a 503 says what to look at whichever answered first.
      const { host, port } = this.redis.options;
      throw new StoreUnavailable(`Redis at ${host}:${port}: ${(err as Error).message}`);
    }
  }
}
