/**
 * Scale-out faults that must leave nothing lost, against a real redis-server and real processes:
 * a worker killed with SIGKILL mid-video (another worker finishes the job, the partial output is
 * cleaned), a worker stopped with SIGTERM (exit 0, the job handed back without using up an
 * attempt), Redis stopped and restarted (503 + Retry-After within 5 s, then accepting again, no
 * accepted job lost), the API node restarted (the job in flight finishes, its result is served),
 * and poison inputs (422 at upload, or failed after --attempts with the reason while the queue
 * goes on).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { alive, childPids, until } from '../helpers/processes.js';
import { describeWithRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { listing, startWorker, type TestWorker } from '../helpers/scale.js';
import { finished, form, getJob, startServer, tempData, waitForJob, type JobJson, type TestServer } from '../helpers/server.js';
import { testdata } from '../helpers/testdata.js';
import { clipWithAudio, makeTempDir, undecodableCopy } from '../helpers/videos.js';

const PHOTO = testdata('debian-opencv-doc/messi5.jpg');

type Job = JobJson & { worker?: { host: string; pid: number }; finished_at?: string | null };

describeWithRedis('scale-out faults', () => {
  let redis: TestRedis;
  let api: TestServer;
  let data: Awaited<ReturnType<typeof tempData>>;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let clip: string;
  const workers: TestWorker[] = [];
  const apiArgs = () => ['--data', data.dir, '--redis', redis.url, '--no-work', '--concurrency', '1'];
  /** Short locks, so a killed worker's job moves on in seconds; a short drain, so SIGTERM hands back. */
  const worker = async () => {
    const w = await startWorker(['--redis', redis.url, '--data', data.dir, '--concurrency', '1', '--lock-duration', '2s', '--drain-timeout', '300ms']);
    workers.push(w);
    return w;
  };

  /** A worker that is up (each test can run alone: -t). */
  const anyWorker = async () => {
    const up: TestWorker[] = [];
    for (const w of workers) if (await alive(w.pid)) up.push(w);
    return up.at(-1) ?? worker();
  };

  beforeAll(async () => {
    redis = await startRedis();
    data = await tempData();
    tmp = await makeTempDir();
    clip = await clipWithAudio(tmp.dir, 12, 'twelve.mp4');
    api = await startServer(apiArgs());
  });

  afterAll(async () => {
    for (const w of workers) await w.stop();
    if (api) await api.stop();
    await redis?.cleanup();
    await data?.cleanup();
    await tmp?.cleanup();
  });

  const post = async (file: string | Buffer, fields: Record<string, string> = { preset: 'ultrafast' }): Promise<Response> =>
    fetch(`${api.url}/v1/jobs`, { method: 'POST', body: await form(file, fields) });
  const accepted = async (file: string | Buffer, fields?: Record<string, string>): Promise<Job> => {
    const r = await post(file, fields);
    expect(r.status, await r.clone().text()).toBe(202);
    return (await r.json()) as Job;
  };
  const jobDir = (id: string) => join(data.dir, 'jobs', id);

  it('SIGKILL mid-video: another worker takes the job over after the lock lapses, cleans the partial output and finishes it', async () => {
    const first = await worker();
    const { id } = await accepted(clip);
    await waitForJob(api, id, (j) => j.status === 'running' && j.progress.done > 20);
    const second = await worker();
    const ffmpeg = await childPids(first.pid);
    expect(await first.kill()).toBe('SIGKILL');
    await until(async () => !(await Promise.all(ffmpeg.map(alive))).some(Boolean));
    const job = (await waitForJob(api, id, finished)) as Job;
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2, progress: { done: 300, total: 300 }, worker: { pid: second.pid } });
    // The killed attempt's temporary output is gone; only the result stays.
    await until(async () => (await listing(jobDir(id))).join() === 'result.mp4');
  });

  it('SIGTERM mid-video: the worker exits 0 and hands the job back (not an attempt); another worker finishes it', async () => {
    const running = await anyWorker();
    const { id } = await accepted(clip);
    await waitForJob(api, id, (j) => j.status === 'running' && j.progress.done > 20 && (j as Job).worker?.pid === running.pid);
    const next = await worker();
    expect(await running.stop()).toBe(0);
    expect(running.output()).toContain('handing them back');
    const job = (await waitForJob(api, id, finished)) as Job;
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1, progress: { done: 300, total: 300 }, worker: { pid: next.pid } });
    // The API removes the spent input once BullMQ tells it the job completed: shortly after.
    await until(async () => (await listing(jobDir(id))).join() === 'result.mp4');
  });

  it('Redis stopped: 503 with Retry-After within 5 s; restarted: accepts again, and no accepted job is lost', async () => {
    await anyWorker();
    const before = [await accepted(clip), await accepted(PHOTO, {})];
    await waitForJob(api, before[0].id, (j) => j.status === 'running');
    await redis.stop();
    try {
      const stoppedAt = Date.now();
      let post503: Response | undefined;
      let ready503: Response | undefined;
      await until(async () => {
        post503 ??= await post(PHOTO, {}).then((r) => (r.status === 503 ? r : undefined));
        ready503 ??= await fetch(`${api.url}/readyz`).then((r) => (r.status === 503 ? r : undefined));
        return post503 !== undefined && ready503 !== undefined;
      });
      // The figure: both within 5 s of Redis going away (polled, not slept).
      expect(Date.now() - stoppedAt).toBeLessThan(5000);
      expect(post503!.headers.get('retry-after')).toBeTruthy();
      expect(((await post503!.json()) as { detail: string }).detail).toContain('Redis');
      expect(ready503!.headers.get('retry-after')).toBeTruthy();
      // Reading a job needs Redis too: 503, not 500.
      expect((await fetch(`${api.url}/v1/jobs/${before[1].id}`)).status).toBe(503);
    } finally {
      // A failed check above must not leave the next tests without Redis.
      await redis.start();
    }
    let after: Response | undefined;
    await until(async () => (after = await post(PHOTO, {})).status === 202);
    const all = [...before, (await after!.json()) as Job];
    for (const { id } of all) expect((await waitForJob(api, id, finished)).status).toBe('succeeded');
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
  });

  it('API restarted: the job in flight keeps running on its worker and its result is served after', async () => {
    // Ready first: the test before may have restarted Redis moments ago.
    await until(async () => (await fetch(`${api.url}/readyz`)).status === 200);
    await anyWorker();
    const { id } = await accepted(clip);
    await waitForJob(api, id, (j) => j.status === 'running' && j.progress.done > 0);
    expect(await api.stop()).toBe(0);
    const apiStopped = new Date().toISOString();
    api = await startServer(apiArgs());
    const job = (await waitForJob(api, id, finished)) as Job;
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1 });
    // It finished while the API was away or after: it was in flight all along.
    expect(job.finished_at! > apiStopped).toBe(true);
    const result = await fetch(`${api.url}/v1/jobs/${id}/result`);
    expect(result.status).toBe(200);
    expect((await result.arrayBuffer()).byteLength).toBe(job.result!.bytes);
  });

  it('poison: a truncated video is refused with 422; one that probes but cannot be decoded fails after --attempts with the reason, and the queue goes on', async () => {
    await anyWorker();
    const bytes = await readFile(clip);
    expect((await post(Buffer.concat([bytes.subarray(0, 32), Buffer.alloc(4000, 7)]))).status).toBe(422);
    const bad = await accepted(await undecodableCopy(clip, join(tmp.dir, 'noise.mp4')));
    const good = await accepted(PHOTO, {});
    const failed = await waitForJob(api, bad.id, finished);
    expect(failed).toMatchObject({ status: 'failed', attempts: 3 });
    expect(failed.error).toContain('could not decode');
    expect(failed.error).not.toContain(data.dir);
    expect((await waitForJob(api, good.id, finished)).status).toBe('succeeded');
    expect(await listing(jobDir(bad.id))).toEqual([]);
    expect((await getJob(api, good.id)).status).toBe('succeeded');
  });
});
