/**
 * Long videos split across workers, against a real redis-server and real processes: `backdrop
 * serve --redis --no-work --segment-seconds 3` and two `backdrop worker` processes. A 9 s clip
 * with a keyframe every 38 frames becomes three segments (cut at 3.04 s and 6.08 s) that both
 * workers run, joined with the sound: the result has the frames and duration of a one-worker run
 * of the same input and options, and its sound, through the shared folder and over --api. A
 * DELETE mid-run stops every segment and leaves no segment or partial file; a worker SIGKILLed
 * mid-segment loses that segment to another worker and the job still succeeds.
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { alive, childPids, until } from '../helpers/processes.js';
import { describeWithRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { filesUnder, listing, startWorker, type TestWorker } from '../helpers/scale.js';
import { finished, form, getJob, startServer, tempData, waitForJob, type JobJson, type TestServer } from '../helpers/server.js';
import { testdata } from '../helpers/testdata.js';
import { TALKING_HEAD, ffmpeg, ffprobeBin, makeTempDir, probeStreams, type StreamFacts } from '../helpers/videos.js';

const KEY = 'split-key-1';
const auth = { authorization: `Bearer ${KEY}` };
const OPTIONS = { preset: 'ultrafast' };

type Worker = { host: string; pid: number };
type Job = JobJson & { worker?: Worker; segments?: { index: number; start: number; end: number | null; done: number; attempts: number; worker?: Worker }[] };
describeWithRedis('scale-out: a long video split across workers', () => {
  let redis: TestRedis;
  let api: TestServer;
  let data: Awaited<ReturnType<typeof tempData>>;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let clip: string;
  /** The one-worker run of the same input and options (the CLI, as a whole job runs it). */
  let one: StreamFacts[];
  const workers: TestWorker[] = [];
  /** Short locks: a killed worker's segment moves on in seconds. */
  const worker = async (extra: string[] = ['--data', data.dir], env: Record<string, string> = {}) => {
    const w = await startWorker(['--redis', redis.url, '--concurrency', '1', '--lock-duration', '2s', ...extra], env);
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    redis = await startRedis();
    data = await tempData();
    tmp = await makeTempDir();
    // 9 s of a talking head (25 fps) with a keyframe every 38 frames (1.52 s) and a tone.
    clip = join(tmp.dir, 'nine.mp4');
    await ffmpeg(['-t', '9', '-i', testdata(TALKING_HEAD), '-f', 'lavfi', '-t', '9', '-i', 'sine=f=440:sample_rate=48000', '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '26', '-g', '38', '-keyint_min', '38', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '96k', clip]);
    const out = join(tmp.dir, 'one.mp4');
    const r = await cli(clip, '--preset', 'ultrafast', '-o', out, '-q');
    expect(r.code, r.stderr).toBe(0);
    if (ffprobeBin) one = await probeStreams(out);
    api = await startServer(['--data', data.dir, '--redis', redis.url, '--no-work', '--concurrency', '1', '--api-key', KEY, '--segment-seconds', '3']);
  });

  // A failed test's workers must not take the next test's segments.
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
  });

  afterAll(async () => {
    if (api) expect(await api.stop()).toBe(0);
    await redis?.cleanup();
    await data?.cleanup();
    await tmp?.cleanup();
  });

  const post = async (): Promise<Job> => {
    const r = await fetch(`${api.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(clip, OPTIONS) });
    expect(r.status, await r.clone().text()).toBe(202);
    return (await r.json()) as Job;
  };
  const jobDir = (id: string) => join(data.dir, 'jobs', id);
  const stopAll = async () => {
    for (const w of workers.splice(0)) expect(await w.stop()).toBe(0);
  };

  /** Runs the clip split, checks the job JSON and the result against the one-worker run, and that only the result stays. */
  async function splitRun(pids: number[]): Promise<Job> {
    const { id } = await post();
    const seen: number[] = [];
    const job = (await waitForJob(api, id, (j) => (seen.push(j.progress.done), finished(j)), auth)) as Job;
    expect(job, job.error).toMatchObject({ status: 'succeeded', attempts: 1, progress: { unit: 'frame' } });
    // Three segments, cut at the keyframes at or after each 3 s boundary.
    expect(job.segments!.map((s) => s.start)).toEqual([0, expect.closeTo(3.04, 3), expect.closeTo(6.08, 3)]);
    // Both workers ran segments; the job's worker is the one that joined them.
    const segmentWorkers = new Set(job.segments!.map((s) => s.worker?.pid));
    expect([...segmentWorkers].sort()).toEqual([...pids].sort());
    expect(pids).toContain(job.worker!.pid);
    expect(job.segments!.every((s) => s.attempts === 1 && s.done > 0)).toBe(true);
    // Progress moved through the segments and reached the whole range's frames.
    expect(seen.some((d) => d > 0 && d < job.progress.done)).toBe(true);
    expect(job.progress.done).toBe(job.progress.total);
    expect(job.segments!.reduce((n, s) => n + s.done, 0)).toBe(job.progress.total);

    if (ffprobeBin) {
      const out = join(tmp.dir, `${id}.mp4`);
      await writeFile(out, Buffer.from(await (await fetch(`${api.url}/v1/jobs/${id}/result`, { headers: auth })).arrayBuffer()));
      const split = await probeStreams(out);
      expect(split.map((s) => s.type)).toEqual(['video', 'audio']);
      expect(split[0].frames).toBe(one[0].frames);
      expect(job.progress.total).toBe(one[0].frames);
      expect(split[0].duration).toBeCloseTo(one[0].duration!, 2);
      expect(split[1].duration).toBeCloseTo(one[1].duration!, 2);
      expect(split[1].frames).toBe(one[1].frames);
    }
    // On the API's side only the result stays: no segment, no temporary file, no input.
    await until(async () => (await listing(jobDir(id))).join() === 'result.mp4');
    return job;
  }

  it('shared folder: both workers run segments; the joined result has the one-worker run\'s frames, duration and sound', async () => {
    const pids = [(await worker()).pid, (await worker()).pid];
    await splitRun(pids);
    await stopAll();
  });

  it('--api: segments are uploaded to the API by name and downloaded by the join; the workers keep no copies', async () => {
    const scratch = [await tempData(), await tempData()];
    try {
      const pids = [];
      for (const s of scratch) pids.push((await worker(['--api', api.url, '--data', s.dir], { BACKDROP_API_KEY: KEY })).pid);
      await splitRun(pids);
      await stopAll();
      for (const s of scratch) expect(await filesUnder(s.dir)).toEqual([]);
    } finally {
      for (const s of scratch) await s.cleanup();
    }
  });

  it('DELETE mid-run stops every running segment on both workers; no segment or partial file stays', async () => {
    const ws = [await worker(), await worker()];
    const { id } = await post();
    // Both workers are in a segment.
    await waitForJob(api, id, (j) => ((j as Job).segments ?? []).filter((s) => s.done > 0).length >= 2, auth);
    // The internal routes take only this job's own segment names (a running job of three segments, .mp4).
    for (const name of ['segment-3.mp4', 'segment-0.mov', 'segment-01.mp4', '..%2Fjob.json', 'result.mp4', 'input.mp4']) {
      const put = await fetch(`${api.url}/v1/internal/jobs/${id}/segments/${name}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: 'not a video' });
      expect(put.status, name).toBe(404);
    }
    expect((await fetch(`${api.url}/v1/internal/jobs/${id}/files/segment-3.mp4`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${api.url}/v1/internal/jobs/${id}/segments/segment-0.mp4`, { method: 'PUT', body: 'x' })).status).toBe(401);
    expect((await listing(jobDir(id))).filter((n) => !n.startsWith('.segment-') && !n.startsWith('segment-'))).toEqual(['input.mp4']);
    const ffmpegs = (await Promise.all(ws.map((w) => childPids(w.pid)))).flat();
    const del = await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE', headers: auth });
    expect(del.status).toBe(200);
    expect(((await del.json()) as Job).status).toBe('canceled');
    await until(async () => (await listing(jobDir(id))).length === 0);
    // The workers' ffmpegs for the segments stopped (the pool threads' children).
    await until(async () => {
      const now = (await Promise.all(ws.map((w) => childPids(w.pid)))).flat();
      return !ffmpegs.some((p) => now.includes(p));
    });
    const job = (await getJob(api, id, auth)) as Job;
    expect(job.status).toBe('canceled');
    expect(job.progress.done).toBeLessThan(job.progress.total!);
    expect((await fetch(`${api.url}/v1/jobs/${id}/result`, { headers: auth })).status).toBe(409);
    // The workers take the next job, and the canceled job's folder stays empty.
    const photo = await fetch(`${api.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(testdata('debian-opencv-doc/messi5.jpg')) });
    expect((await waitForJob(api, ((await photo.json()) as Job).id, finished, auth)).status).toBe('succeeded');
    expect(await listing(jobDir(id))).toEqual([]);
    await stopAll();
  });

  it('a worker SIGKILLed mid-segment: the segment is run again elsewhere (its partial file cleaned) and the job succeeds', async () => {
    const [a, b] = [await worker(), await worker()];
    const { id } = await post();
    const running = (await waitForJob(api, id, (j) => ((j as Job).segments ?? []).some((s) => s.worker?.pid === a.pid && s.done > 10), auth)) as Job;
    const index = running.segments!.find((s) => s.worker?.pid === a.pid)!.index;
    expect(await a.kill()).toBe('SIGKILL');
    workers.splice(workers.indexOf(a), 1);
    await until(async () => !(await alive(a.pid)));
    const job = (await waitForJob(api, id, finished, auth)) as Job;
    expect(job, job.error).toMatchObject({ status: 'succeeded', attempts: 2, worker: { pid: b.pid } });
    expect(job.segments![index]).toMatchObject({ attempts: 2, worker: { pid: b.pid } });
    expect(job.progress.done).toBe(job.progress.total);
    if (ffprobeBin) {
      const out = join(tmp.dir, `${id}.mp4`);
      await writeFile(out, Buffer.from(await (await fetch(`${api.url}/v1/jobs/${id}/result`, { headers: auth })).arrayBuffer()));
      expect((await probeStreams(out))[0].frames).toBe(one[0].frames);
    }
    // The killed attempt's partial segment is gone with the others; only the result stays.
    await until(async () => (await listing(jobDir(id))).join() === 'result.mp4');
    await stopAll();
  });
});
