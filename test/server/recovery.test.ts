/**
 * Nothing accepted is lost: a server killed with SIGKILL mid-video runs the job again after a
 * restart on the same --data and it succeeds; results survive restarts and are deleted after
 * --retention; SIGTERM drains (503 for new jobs, running jobs finish or go back in the queue) and
 * exits 0.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, childPids, until } from '../helpers/processes.js';
import { clipWithAudio, makeTempDir } from '../helpers/videos.js';
import { finished, form, getJob, startServer, tempData, waitForJob, type JobJson } from '../helpers/server.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let clip: string;

beforeAll(async () => {
  tmp = await makeTempDir();
  clip = await clipWithAudio(tmp.dir, 12, 'twelve.mp4');
});
afterAll(async () => tmp?.cleanup());

/** ffmpeg processes started by the server (its worker threads' children). */
async function ffmpegChildren(pid: number): Promise<number[]> {
  return childPids(pid);
}

describe('restarts', () => {
  it('runs a video again after kill -9 mid-run, and keeps finished results across restarts', async () => {
    const data = await tempData();
    try {
      let server = await startServer(['--data', data.dir, '--concurrency', '1']);
      const photo = (await (await fetch(`${server.url}/v1/jobs`, { method: 'POST', body: await form(clip.replace('twelve.mp4', 'twelve.mp4'), { preset: 'ultrafast' }) })).json()) as JobJson;
      const { id } = photo;
      await waitForJob(server, id, (j) => j.status === 'running' && j.progress.done > 10);
      const children = await ffmpegChildren(server.proc.pid!);
      server.proc.kill('SIGKILL');
      expect(await server.exited).toBe('SIGKILL');
      // ffmpeg notices its pipes closed and ends too.
      await until(async () => !(await Promise.all(children.map(alive))).some(Boolean));

      server = await startServer(['--data', data.dir, '--concurrency', '1']);
      const again = await waitForJob(server, id, finished);
      expect(again).toMatchObject({ status: 'succeeded', attempts: 2, progress: { done: 300, total: 300 } });
      // The input goes once the finished state is on disk.
      await until(async () => (await readdir(join(data.dir, 'jobs', id))).sort().join() === 'job.json,result.mp4');
      const bytes = again.result!.bytes;
      expect(await server.stop()).toBe(0);

      server = await startServer(['--data', data.dir, '--concurrency', '1']);
      const kept = await getJob(server, id);
      expect(kept.status).toBe('succeeded');
      const result = await fetch(`${server.url}/v1/jobs/${id}/result`);
      expect(result.status).toBe(200);
      expect((await result.arrayBuffer()).byteLength).toBe(bytes);
      expect(await server.stop()).toBe(0);

      // A restart with a short retention deletes the finished job and its files.
      server = await startServer(['--data', data.dir, '--concurrency', '1', '--retention', '1s']);
      await until(async () => (await fetch(`${server.url}/v1/jobs/${id}`)).status === 404);
      expect(await readdir(join(data.dir, 'jobs'))).toEqual([]);
      expect(await server.stop()).toBe(0);
    } finally {
      await data.cleanup();
    }
  });
});

describe('SIGTERM', () => {
  it('drains: new jobs get 503, the running job is put back in the queue after --drain-timeout, exit 0; the next start finishes it', async () => {
    const data = await tempData();
    try {
      let server = await startServer(['--data', data.dir, '--concurrency', '1', '--drain-timeout', '200ms']);
      const { id } = (await (await fetch(`${server.url}/v1/jobs`, { method: 'POST', body: await form(clip) })).json()) as JobJson;
      await waitForJob(server, id, (j) => j.status === 'running' && j.progress.done > 0);
      server.proc.kill('SIGTERM');
      // While it drains: no new work, status still answered.
      const refused = await fetch(`${server.url}/v1/jobs`, { method: 'POST', body: await form(clip) }).catch(() => undefined);
      if (refused) {
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toBeTruthy();
      }
      expect(await server.exited).toBe(0);
      expect((await readdir(join(data.dir, 'jobs', id))).sort()).toEqual(['input.mp4', 'job.json']);

      server = await startServer(['--data', data.dir, '--concurrency', '1']);
      expect(await waitForJob(server, id, finished)).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(await server.stop()).toBe(0);
    } finally {
      await data.cleanup();
    }
  });

  it('drains: a job that finishes within --drain-timeout finishes before the exit', async () => {
    const data = await tempData();
    try {
      const server = await startServer(['--data', data.dir, '--concurrency', '1']);
      const short = await clipWithAudio(tmp.dir, 2, 'two.mp4');
      const { id } = (await (await fetch(`${server.url}/v1/jobs`, { method: 'POST', body: await form(short) })).json()) as JobJson;
      await waitForJob(server, id, (j) => j.status === 'running');
      server.proc.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect((await readdir(join(data.dir, 'jobs', id))).sort()).toEqual(['job.json', 'result.mp4']);
    } finally {
      await data.cleanup();
    }
  });
});
