/**
 * Scale-out over real HTTP against a real redis-server: `backdrop serve --redis --no-work` and
 * `backdrop worker` processes, with both claim-check modes (a shared --data folder; --api, files
 * over the API's internal routes with the shared key). Photo results are the CLI's bytes, videos
 * keep their frames and sound; the job JSON names its worker and attempts, progress moves, and a
 * DELETE stops a running video on its worker with nothing left behind.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { until } from '../helpers/processes.js';
import { describeWithRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { filesUnder, listing, startWorker, type TestWorker } from '../helpers/scale.js';
import { finished, form, getJob, startServer, tempData, waitForJob, type JobJson, type TestServer } from '../helpers/server.js';
import { testdata } from '../helpers/testdata.js';
import { clipWithAudio, ffprobeBin, makeTempDir, run } from '../helpers/videos.js';

const KEY = 'scale-key-1';
const auth = { authorization: `Bearer ${KEY}` };
const PHOTO = testdata('debian-opencv-doc/messi5.jpg');

type Job = JobJson & { worker?: { host: string; pid: number } };

describeWithRedis('scale-out: serve --redis --no-work and two workers', () => {
  let redis: TestRedis;
  let api: TestServer;
  let data: Awaited<ReturnType<typeof tempData>>;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let clip: string;
  let longClip: string;
  let cliPhoto: Buffer;

  beforeAll(async () => {
    redis = await startRedis();
    data = await tempData();
    tmp = await makeTempDir();
    clip = await clipWithAudio(tmp.dir, 4, 'four.mp4');
    longClip = await clipWithAudio(tmp.dir, 20, 'twenty.mp4');
    const out = join(tmp.dir, 'cli.jpg');
    const r = await cli(PHOTO, '--color', '#00b140', '-o', out, '-q');
    expect(r.code, r.stderr).toBe(0);
    cliPhoto = await readFile(out);
    api = await startServer(['--data', data.dir, '--redis', redis.url, '--no-work', '--concurrency', '1', '--api-key', KEY, '--allow-private-callbacks']);
  });

  afterAll(async () => {
    if (api) expect(await api.stop()).toBe(0);
    await redis?.cleanup();
    await data?.cleanup();
    await tmp?.cleanup();
  });

  const post = async (file: string, fields: Record<string, string> = {}): Promise<Job> => {
    const r = await fetch(`${api.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(file, fields) });
    expect(r.status, await r.clone().text()).toBe(202);
    return (await r.json()) as Job;
  };

  /** Waits for a job to finish, recording the progress seen on the way. */
  const follow = async (id: string): Promise<{ job: Job; seen: number[] }> => {
    const seen: number[] = [];
    const job = (await waitForJob(api, id, (j) => (seen.push(j.progress.done), finished(j)), auth)) as Job;
    return { job, seen };
  };

  /** A photo and a video through the workers: the CLI's bytes, the video's frames and sound, the worker and attempts named. */
  async function photoAndVideo(workers: TestWorker[]): Promise<void> {
    const video = await post(clip, { preset: 'ultrafast' });
    const photo = await post(PHOTO, { effect: 'color', color: '#00b140' });
    const [v, p] = await Promise.all([follow(video.id), follow(photo.id)]);
    const pids = workers.map((w) => w.pid);

    expect(p.job).toMatchObject({ status: 'succeeded', attempts: 1, progress: { done: 1, total: 1 }, worker: { host: hostname() } });
    expect(pids).toContain(p.job.worker!.pid);
    const bytes = Buffer.from(await (await fetch(`${api.url}/v1/jobs/${photo.id}/result`, { headers: auth })).arrayBuffer());
    expect(bytes.equals(cliPhoto)).toBe(true);

    expect(v.job).toMatchObject({ status: 'succeeded', attempts: 1, progress: { done: 100, total: 100, unit: 'frame' }, worker: { host: hostname() } });
    expect(pids).toContain(v.job.worker!.pid);
    // Progress moved while it ran: values strictly between the start and the end were seen.
    expect(v.seen.some((d) => d > 0 && d < 100)).toBe(true);
    if (ffprobeBin) {
      const out = join(tmp.dir, `${video.id}.mp4`);
      await writeFile(out, Buffer.from(await (await fetch(`${api.url}/v1/jobs/${video.id}/result`, { headers: auth })).arrayBuffer()));
      const probe = await run(ffprobeBin, ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,nb_read_frames', '-of', 'csv=p=0', out]);
      const lines = probe.stdout.toString().trim().split('\n');
      expect(lines).toContain('video,100');
      expect(lines.some((l) => l.startsWith('audio'))).toBe(true);
    }
    // On the API's side only the results stay (the inputs go once the job is done).
    for (const id of [photo.id, video.id]) await until(async () => (await listing(join(data.dir, 'jobs', id))).join() === (id === photo.id ? 'result.jpg' : 'result.mp4'));
  }

  it('shared folder: runs a photo and a video, and a DELETE stops a running video on its worker', async () => {
    const workers = [
      await startWorker(['--redis', redis.url, '--data', data.dir, '--concurrency', '1']),
      await startWorker(['--redis', redis.url, '--data', data.dir, '--concurrency', '1']),
    ];
    await photoAndVideo(workers);

    const long = await post(longClip);
    const running = await waitForJob(api, long.id, (j) => j.status === 'running' && j.progress.done > 0, auth);
    const del = await fetch(`${api.url}/v1/jobs/${long.id}`, { method: 'DELETE', headers: auth });
    expect(del.status).toBe(200);
    expect(((await del.json()) as Job).status).toBe('canceled');
    // The worker stops its ffmpeg and removes the partial output; the API removes the input.
    await until(async () => (await listing(join(data.dir, 'jobs', long.id))).length === 0);
    const canceled = await getJob(api, long.id, auth);
    expect(canceled.status).toBe('canceled');
    expect(canceled.progress.done).toBeLessThan(500);
    expect((await fetch(`${api.url}/v1/jobs/${long.id}/result`, { headers: auth })).status).toBe(409);
    // The worker that ran it takes the next job.
    const next = await post(PHOTO);
    expect((await follow(next.id)).job.status).toBe('succeeded');
    expect(running.progress.done).toBeGreaterThan(0);

    for (const w of workers) expect(await w.stop()).toBe(0);
  });

  it('--api: workers fetch inputs and send outputs over HTTP with the shared key, keeping no copies', async () => {
    // The internal routes want the key like every /v1/ route.
    expect((await fetch(`${api.url}/v1/internal/jobs/00000000-0000-4000-8000-000000000000/files/input.jpg`)).status).toBe(401);
    const scratch = [await tempData(), await tempData()];
    // What a killed worker left (its pid is gone) is removed at start-up; a live process's folder is not.
    const dead = join(scratch[0].dir, 'work', String(2 ** 22 + 1), '00000000-0000-4000-8000-000000000000');
    const live = join(scratch[1].dir, 'work', String(process.pid));
    await mkdir(dead, { recursive: true });
    await writeFile(join(dead, '.result.mp4.backdrop-4194305-0a0b0c.tmp'), 'partial');
    await mkdir(live, { recursive: true });
    await writeFile(join(live, 'busy'), 'in use');
    try {
      const workers = await Promise.all(scratch.map((s) => startWorker(['--redis', redis.url, '--api', api.url, '--data', s.dir, '--concurrency', '1'], { BACKDROP_API_KEY: KEY })));
      expect(await filesUnder(scratch[0].dir)).toEqual([]);
      expect(await filesUnder(scratch[1].dir)).toEqual([join('work', String(process.pid), 'busy')]);
      await rm(live, { recursive: true });
      await photoAndVideo(workers);
      for (const w of workers) expect(await w.stop()).toBe(0);
      // Each worker worked in <data>/work/<pid>/ and removed its copies.
      for (const s of scratch) expect(await filesUnder(s.dir)).toEqual([]);
    } finally {
      for (const s of scratch) await s.cleanup();
    }
  });

  it('serve --redis without --no-work runs jobs itself; a second API node on the same Redis and folder shares jobs, idempotency keys and callbacks', async () => {
    const working = await startServer(['--data', data.dir, '--redis', redis.url, '--concurrency', '1', '--api-key', KEY, '--allow-private-callbacks']);
    const received: { body: string; signature: string | undefined }[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({ body, signature: req.headers['backdrop-signature'] as string | undefined });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
      const submit = async (node: TestServer) => {
        const r = await fetch(`${node.url}/v1/jobs`, { method: 'POST', headers: { ...auth, 'idempotency-key': 'scale-1' }, body: await form(PHOTO, { effect: 'color', color: '#00b140', callback_url: hook }) });
        expect(r.status).toBe(202);
        return ((await r.json()) as Job).id;
      };
      const id = await submit(working);
      // The same Idempotency-Key on the other node: the same job.
      expect(await submit(api)).toBe(id);
      // Read through the other node: the state is in Redis, the file in the shared folder.
      const job = (await waitForJob(api, id, (j) => j.callback?.delivered === true, auth)) as Job;
      expect(job).toMatchObject({ status: 'succeeded', worker: { host: hostname(), pid: working.proc.pid }, callback: { delivered: true, attempts: 1 } });
      const bytes = Buffer.from(await (await fetch(`${api.url}/v1/jobs/${id}/result`, { headers: auth })).arrayBuffer());
      expect(bytes.equals(cliPhoto)).toBe(true);
      // Both nodes saw it finish; one of them sent the callback, signed with the key.
      expect(received).toHaveLength(1);
      expect(received[0].signature).toBe(`sha256=${createHmac('sha256', KEY).update(received[0].body).digest('hex')}`);
      expect(JSON.parse(received[0].body)).toMatchObject({ id, status: 'succeeded', worker: { pid: working.proc.pid } });
    } finally {
      receiver.close();
      expect(await working.stop()).toBe(0);
    }
    expect(received).toHaveLength(1);
  });
});
