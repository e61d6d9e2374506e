/**
 * The scale-out job store against a real redis-server: records round-trip (nulls, nested objects,
 * deleted fields), listing by creation and status, idempotency keys, the retention index, removal,
 * callback claims, that a finished job's status and progress stay final (a late worker or a cancel
 * race changes nothing), and 503-worthy errors while Redis is away.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisJobStore } from '../../src/node/server/jobs/redisStore.js';
import { StoreUnavailable } from '../../src/node/server/jobs/store.js';
import type { JobRecord } from '../../src/node/server/jobs/types.js';
import { redisOptionsFor } from '../../src/node/server/redis.js';
import { describeWithRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { tempData } from '../helpers/server.js';

function record(id: string, created: string, extra: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    status: 'queued',
    progress: { done: 0, total: 100, unit: 'frame' },
    created_at: created,
    started_at: null,
    finished_at: null,
    attempts: 0,
    work: { kind: 'video', input: 'input.mp4', output: 'result.mp4', content_type: 'video/mp4', options: { blur: 40 } as JobRecord['work']['options'], seconds: 12.2 },
    ...extra,
  };
}

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

describeWithRedis('RedisJobStore', () => {
  let redis: TestRedis;
  let client: Redis;
  let store: RedisJobStore;
  let data: Awaited<ReturnType<typeof tempData>>;

  beforeAll(async () => {
    redis = await startRedis();
    data = await tempData();
    client = new Redis(redisOptionsFor(redis.url, 'api'));
    // The API's connection has no offline queue: commands before it is ready fail (the API answers 503 then).
    while (client.status !== 'ready') await new Promise((r) => setTimeout(r, 50));
    store = new RedisJobStore(client, data.dir);
    await store.open();
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.cleanup();
    await data?.cleanup();
  });

  it('keeps records as they were written, lists them oldest first, finds idempotency keys', async () => {
    await store.create(record(B, '2026-12-07T10:00:01.000Z'));
    await store.create(record(A, '2026-12-07T10:00:00.000Z', { idempotency: 'h1', callback: { url: 'http://x/', delivered: false, attempts: 0 } }));
    expect(await store.get(A)).toEqual(record(A, '2026-12-07T10:00:00.000Z', { idempotency: 'h1', callback: { url: 'http://x/', delivered: false, attempts: 0 } }));
    expect((await store.list()).map((j) => j.id)).toEqual([A, B]);
    expect((await store.byIdempotency('h1'))?.id).toBe(A);
    expect(await store.byIdempotency('h2')).toBeUndefined();
    expect(await store.get('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    await expect(store.update('00000000-0000-4000-8000-000000000000', { attempts: 1 })).rejects.toThrow(/no job/);
  });

  it('updates fields (undefined deletes one), and keeps a finished status and progress final', async () => {
    const running = await store.update(A, { status: 'running', attempts: 1, worker: { host: 'h', pid: 7 }, error: 'attempt 1 failed' });
    expect(running).toMatchObject({ status: 'running', attempts: 1, worker: { host: 'h', pid: 7 }, error: 'attempt 1 failed' });
    expect(await store.update(A, { error: undefined })).not.toHaveProperty('error');
    expect((await store.list('running')).map((j) => j.id)).toEqual([A]);

    const finishedAt = '2026-12-07T10:05:00.000Z';
    await store.update(A, { status: 'canceled', finished_at: finishedAt });
    // A worker finishing late, or a progress tick after the cancel: refused, the record is as it was.
    const late = await store.update(A, { status: 'succeeded', progress: { done: 100, total: 100, unit: 'frame' }, result: { url: 'u', content_type: 'video/mp4', bytes: 1 } });
    expect(late).toMatchObject({ status: 'canceled', progress: { done: 0 } });
    expect(late).not.toHaveProperty('result');
    expect((await store.update(A, { progress: { done: 5, total: 100, unit: 'frame' } })).progress.done).toBe(0);
    // Other fields (a callback's delivery) still change.
    expect((await store.update(A, { callback: { url: 'http://x/', delivered: true, attempts: 1 } })).callback?.delivered).toBe(true);

    // The retention index: finished more than 1 minute before "now".
    expect((await store.expired(60_000, Date.parse(finishedAt) + 120_000)).map((j) => j.id)).toEqual([A]);
    expect(await store.expired(60_000, Date.parse(finishedAt) + 30_000)).toEqual([]);
  });

  it('one claimant per callback; removal forgets the job, its index entries and its idempotency key', async () => {
    expect(await store.claimCallback(A, 'node-1', 60_000)).toBe(true);
    expect(await store.claimCallback(A, 'node-2', 60_000)).toBe(false);
    expect(await store.claimCallback(A, 'node-1', 60_000)).toBe(true);
    await store.remove(A);
    expect(await store.get(A)).toBeUndefined();
    expect(await store.byIdempotency('h1')).toBeUndefined();
    expect((await store.list()).map((j) => j.id)).toEqual([B]);
    expect(await store.expired(0, Date.now() + 1e9)).toEqual([]);
  });

  it('answers StoreUnavailable at once while Redis is away, and works again when it is back', async () => {
    await redis.stop();
    await expect(store.get(B)).rejects.toBeInstanceOf(StoreUnavailable);
    await redis.start();
    while (client.status !== 'ready') await new Promise((r) => setTimeout(r, 50));
    // The AOF kept it.
    expect((await store.get(B))?.id).toBe(B);
  });
});
