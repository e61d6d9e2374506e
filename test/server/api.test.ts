/**
 * `backdrop serve` over real HTTP: the probes, the OpenAPI document, /v1/models, POST /v1/images
 * (the CLI's bytes for the same input and options), jobs (photo and video results, progress,
 * idempotency, cancel, list, signed callbacks), API keys and every error status as problem+json
 * with the CLI's wording.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { hugePngHeader } from '../helpers/images.js';
import { testdata } from '../helpers/testdata.js';
import { clipWithAudio, decodeFrames, makeTempDir, run, ffprobeBin } from '../helpers/videos.js';
import { cliOptionsFromFields } from '../../src/node/options/fields.js';
import { videoOptionsFrom } from '../../src/node/options/videoOptions.js';
import { probeVideo } from '../../src/node/video/probe.js';
import { finished, form, getJob, startServer, tempData, waitForJob, type JobJson, type TestServer } from '../helpers/server.js';

const KEY = 'test-key-123';
const auth = { authorization: `Bearer ${KEY}` };
const PHOTO = testdata('debian-opencv-doc/messi5.jpg');
const BACKGROUND = testdata('debian-python3-skimage/coffee.png');

let server: TestServer;
let data: Awaited<ReturnType<typeof tempData>>;
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let clip: string;
let longClip: string;

beforeAll(async () => {
  data = await tempData();
  tmp = await makeTempDir();
  clip = await clipWithAudio(tmp.dir, 2);
  longClip = await clipWithAudio(tmp.dir, 20, 'long.mp4');
  server = await startServer(['--data', data.dir, '--concurrency', '2', '--api-key', KEY, '--max-upload', '3MB', '--max-pixels', '4000000', '--allow-private-callbacks']);
});

afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  await data?.cleanup();
  await tmp?.cleanup();
});

async function problem(r: Response, status: number): Promise<{ type: string; title: string; status: number; detail: string }> {
  const text = await r.text();
  expect(r.status, text).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as { type: string; title: string; status: number; detail: string };
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  return body;
}

/** What the CLI writes for the same photo and flags. */
async function cliBytes(input: string, flags: string[], ext: string): Promise<Buffer> {
  const out = join(tmp.dir, `cli-${Math.random().toString(36).slice(2)}${ext}`);
  const r = await cli(input, ...flags, '-o', out, '-q');
  expect(r.code, r.stderr).toBe(0);
  return readFile(out);
}

describe('probes and documents', () => {
  it('answers /healthz, /readyz and /openapi.json without a key, and lists the models', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'ready' });
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(['/healthz', '/readyz', '/v1/images', '/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/result', '/v1/models']);
    expect(Object.keys(doc.paths['/v1/jobs/{id}']).sort()).toEqual(['delete', 'get']);
    // The option fields come from the CLI's definitions, allowed values included.
    expect(JSON.stringify(doc.paths['/v1/images'])).toContain('"enum":["guided","bilateral","bilinear","none"]');
    // Video fields for jobs only: every-frame, a boolean as trim and flip are.
    const jobFields = JSON.stringify(doc.paths['/v1/jobs']);
    expect(jobFields).toMatch(/"every-frame":\{"type":"string","description":"as --every-frame: video and cameras: run the model on every frame[^"]*","enum":\["true","false"\]\}/);
    expect(JSON.stringify(doc.paths['/v1/images'])).not.toContain('every-frame');
    const models = (await (await fetch(`${server.url}/v1/models`, { headers: auth })).json()) as { models: { name: string; input: { width: number; height: number }; loaded: boolean }[] };
    expect(models.models).toEqual([
      { name: 'general', input: { width: 256, height: 256 }, loaded: true, default: true },
      { name: 'landscape', input: { width: 256, height: 144 }, loaded: false, default: false },
    ]);
  });
});

describe('API keys', () => {
  it('refuses /v1/ without the key or with a wrong one (401), and takes the right one', async () => {
    const none = await problem(await fetch(`${server.url}/v1/jobs`), 401);
    expect(none.detail).toContain('Authorization: Bearer');
    await problem(await fetch(`${server.url}/v1/jobs`, { headers: { authorization: 'Bearer nope' } }), 401);
    expect((await fetch(`${server.url}/v1/jobs`, { headers: auth })).status).toBe(200);
  });
});

describe('POST /v1/images', () => {
  it('answers the same bytes the CLI writes, from multipart fields or a raw body with query parameters', async () => {
    const viaForm = await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(PHOTO, { blur: '80', 'light-wrap': '0.1' }) });
    expect(viaForm.status).toBe(200);
    expect(viaForm.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await viaForm.arrayBuffer()).equals(await cliBytes(PHOTO, ['--blur', '80', '--light-wrap', '0.1'], '.jpg'))).toBe(true);

    const raw = await fetch(`${server.url}/v1/images?effect=mask&refine=bilinear`, { method: 'POST', headers: { ...auth, 'content-type': 'image/jpeg' }, body: await readFile(PHOTO) });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await raw.arrayBuffer()).equals(await cliBytes(PHOTO, ['--mask', '--refine', 'bilinear'], '.png'))).toBe(true);
  });

  it('replaces the background with an uploaded image part (its filename is never used as a path)', async () => {
    const r = await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(PHOTO, { effect: 'background', fit: 'contain', format: 'webp' }, { background: BACKGROUND }) });
    expect(r.status, await r.clone().text()).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/webp');
    expect(Buffer.from(await r.arrayBuffer()).equals(await cliBytes(PHOTO, ['--background', BACKGROUND, '--fit', 'contain', '--format', 'webp'], '.webp'))).toBe(true);
  });

  it('answers bad options with 400 in the CLI\'s words, naming the option', async () => {
    const body = await problem(await fetch(`${server.url}/v1/images?blur=200`, { method: 'POST', headers: { ...auth, 'content-type': 'image/jpeg' }, body: await readFile(PHOTO) }), 400);
    const fromCli = await cli(PHOTO, '--blur', '200');
    expect(fromCli.code).toBe(2);
    expect(fromCli.stderr).toContain(body.detail);
    expect(body.detail).toContain('--blur must be a number from 0 to 100');
    const conflict = await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(PHOTO, { effect: 'transparent', format: 'jpeg' }) }), 400);
    expect((await cli(PHOTO, '--transparent', '--format', 'jpeg')).stderr).toContain(conflict.detail);
    expect((await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(PHOTO, { refine: 'sharp' }) }), 400)).detail).toContain('--refine');
    expect((await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(PHOTO, { wobble: '1' }) }), 400)).detail).toContain('"wobble"');
    expect((await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(PHOTO, { model: '/etc/passwd.onnx' }) }), 400)).detail).toContain('--model');
    expect((await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(PHOTO, { 'every-frame': 'true' }) }), 400)).detail).toContain('every-frame is a video option');
  });

  it('answers 415 for what is not a photo, 422 for a photo that cannot be decoded, 413 over --max-upload or --max-pixels', async () => {
    await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(Buffer.from('hello, not an image')) }), 415);
    expect((await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(clip) }), 415)).detail).toContain('/v1/jobs');
    await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'hi' }), 415);
    const jpeg = await readFile(PHOTO);
    await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(jpeg.subarray(0, jpeg.length / 3)) }), 422);
    // 3 MB limit: a 4 MB upload, as a part and as a raw body.
    const big = Buffer.concat([jpeg, Buffer.alloc(4 * 1024 * 1024)]);
    expect((await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(big) }), 413)).detail).toContain('--max-upload');
    await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: { ...auth, 'content-type': 'image/jpeg' }, body: big }), 413);
    // 4 MP limit: a PNG header claiming 3000×2000.
    expect((await problem(await fetch(`${server.url}/v1/images`, { method: 'POST', headers: auth, body: await form(hugePngHeader(3000, 2000)) }), 413)).detail).toContain('--max-pixels');
    // Still serving.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('/v1/jobs', () => {
  it('runs a photo job to the CLI\'s bytes, with Location, progress and a result URL', async () => {
    const r = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(PHOTO, { effect: 'color', color: '#00b140' }) });
    expect(r.status).toBe(202);
    const job = (await r.json()) as JobJson;
    expect(r.headers.get('location')).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({ kind: 'photo', links: { self: `/v1/jobs/${job.id}` } });
    const done = await waitForJob(server, job.id, finished, auth);
    expect(done).toMatchObject({ status: 'succeeded', progress: { done: 1, total: 1, unit: 'image' }, result: { url: `/v1/jobs/${job.id}/result`, content_type: 'image/jpeg' } });
    const result = await fetch(`${server.url}${done.result!.url}`, { headers: auth });
    const bytes = Buffer.from(await result.arrayBuffer());
    expect(bytes.length).toBe(done.result!.bytes);
    expect(bytes.equals(await cliBytes(PHOTO, ['--color', '#00b140'], '.jpg'))).toBe(true);
  });

  it('runs a video job to a video with its sound, counting frames', async () => {
    const r = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(clip, { smoothing: '0.3', crf: '28' }) });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as JobJson;
    const done = await waitForJob(server, id, finished, auth);
    expect(done).toMatchObject({ status: 'succeeded', kind: 'video', progress: { done: 50, total: 50, unit: 'frame' }, result: { content_type: 'video/mp4' } });
    const out = join(tmp.dir, `${id}.mp4`);
    await import('node:fs/promises').then(async (fs) => fs.writeFile(out, Buffer.from(await (await fetch(`${server.url}/v1/jobs/${id}/result`, { headers: auth })).arrayBuffer())));
    if (ffprobeBin) {
      const probe = await run(ffprobeBin, ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,nb_read_frames', '-of', 'csv=p=0', out]);
      const lines = probe.stdout.toString().trim().split('\n');
      expect(lines).toContain('video,50');
      expect(lines.some((l) => l.startsWith('audio'))).toBe(true);
    }
  });

  it('keeps only the --from/--to range with trim, a frame number and a time read as the CLI reads them', async () => {
    // The points are parsed once into the job's stored options and read again by a worker.
    const r = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(clip, { from: '10', to: '1.2s', trim: 'true' }) });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as JobJson;
    const done = await waitForJob(server, id, finished, auth);
    expect(done).toMatchObject({ status: 'succeeded', progress: { done: 20, total: 20, unit: 'frame' } });
    if (ffprobeBin) {
      const out = join(tmp.dir, `${id}.mp4`);
      await writeFile(out, Buffer.from(await (await fetch(`${server.url}/v1/jobs/${id}/result`, { headers: auth })).arrayBuffer()));
      const probe = await run(ffprobeBin, ['-v', 'error', '-count_frames', '-select_streams', 'v', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', out]);
      expect(probe.stdout.toString().trim()).toBe('20');
    }
  });

  it('every-frame=true runs the job\'s model on every frame, as the CLI\'s --every-frame: the same mask frames, not the default\'s', async () => {
    // The field → the effect's temporal options (false or absent: the default, predict on).
    const info = await probeVideo(clip);
    const temporalOf = (fields: Record<string, string>) => videoOptionsFrom('input', cliOptionsFromFields(fields, { video: true, maxPixels: 4_000_000 }), info).temporal;
    expect(temporalOf({ 'every-frame': 'true', smoothing: '0.3' })).toEqual({ strength: 0.3, predict: false });
    expect(temporalOf({ 'every-frame': '1' })).toEqual({ strength: 0.5, predict: false });
    expect(temporalOf({ 'every-frame': 'false' })).toEqual({ strength: 0.5 });
    expect(temporalOf({})).toEqual({ strength: 0.5 });

    // Over HTTP, through a worker: the lossless mask video is the CLI's with --every-frame.
    const r = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(clip, { effect: 'mask', crf: '0', 'every-frame': 'true' }) });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as JobJson;
    expect(await waitForJob(server, id, finished, auth)).toMatchObject({ status: 'succeeded' });
    const out = join(tmp.dir, `${id}.mp4`);
    await writeFile(out, Buffer.from(await (await fetch(`${server.url}/v1/jobs/${id}/result`, { headers: auth })).arrayBuffer()));
    const fromJob = await decodeFrames(out, 3);
    const fromCli = async (...flags: string[]) => {
      const file = join(tmp.dir, `cli-mask-${flags.length}.mp4`);
      const run = await cli(clip, '--mask', '--crf', '0', ...flags, '-o', file, '-q');
      expect(run.code, run.stderr).toBe(0);
      return decodeFrames(file, 3);
    };
    expect(fromJob.equals(await fromCli('--every-frame'))).toBe(true);
    // The default lets the talking head's steady frames go on the prediction: other masks.
    expect(fromJob.equals(await fromCli())).toBe(false);
  });

  it('refuses a bad video option with 400 before queueing, and an undecodable video with 422', async () => {
    expect((await problem(await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(clip, { from: 'soon' }) }), 400)).detail).toContain('"soon"');
    expect((await problem(await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(clip, { from: '500' }) }), 400)).detail).toContain('past the end');
    expect((await problem(await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(clip, { 'every-frame': 'maybe' }) }), 400)).detail).toContain('every-frame must be true or false');
    const bytes = await readFile(clip);
    const broken = Buffer.concat([bytes.subarray(0, 32), Buffer.alloc(4000, 7)]);
    await problem(await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(broken) }), 422);
    // Nothing refused is left on disk.
    const jobs = ((await (await fetch(`${server.url}/v1/jobs`, { headers: auth })).json()) as { jobs: JobJson[] }).jobs;
    expect((await readdir(join(server.data, 'jobs'))).sort()).toEqual(jobs.map((j) => j.id).sort());
  });

  it('returns the same job for a retried POST with the same Idempotency-Key, also when both arrive at once', async () => {
    const post = async () => fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { ...auth, 'idempotency-key': 'order-42' }, body: await form(PHOTO) });
    const [a, b] = await Promise.all([post(), post()]);
    const c = await post();
    const ids = await Promise.all([a, b, c].map(async (r) => {
      expect(r.status).toBe(202);
      return ((await r.json()) as JobJson).id;
    }));
    expect(new Set(ids).size).toBe(1);
    const other = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { ...auth, 'idempotency-key': 'order-43' }, body: await form(PHOTO) });
    expect(((await other.json()) as JobJson).id).not.toBe(ids[0]);
    await waitForJob(server, ids[0], finished, auth);
  });

  it('cancels a running video: its ffmpeg stops and no partial output remains', async () => {
    const r = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(longClip) });
    const { id } = (await r.json()) as JobJson;
    await waitForJob(server, id, (j) => j.status === 'running' && j.progress.done > 0, auth);
    const del = await fetch(`${server.url}/v1/jobs/${id}`, { method: 'DELETE', headers: auth });
    expect(del.status).toBe(200);
    expect(((await del.json()) as JobJson).status).toBe('canceled');
    const job = await getJob(server, id, auth);
    expect(job.status).toBe('canceled');
    expect(job.progress.done).toBeLessThan(500);
    // Only the state is left: no input, no output, no temporary file.
    expect(await readdir(join(server.data, 'jobs', id))).toEqual(['job.json']);
    await problem(await fetch(`${server.url}/v1/jobs/${id}/result`, { headers: auth }), 409);
    // A finished job is deleted by DELETE.
    expect((await fetch(`${server.url}/v1/jobs/${id}`, { method: 'DELETE', headers: auth })).status).toBe(204);
    await problem(await fetch(`${server.url}/v1/jobs/${id}`, { headers: auth }), 404);
  });

  it('lists jobs by status, and answers 404 for unknown jobs and ids that are not ids', async () => {
    const list = (await (await fetch(`${server.url}/v1/jobs?status=succeeded`, { headers: auth })).json()) as { jobs: JobJson[] };
    expect(list.jobs.length).toBeGreaterThan(0);
    expect(list.jobs.every((j) => j.status === 'succeeded')).toBe(true);
    await problem(await fetch(`${server.url}/v1/jobs?status=done`, { headers: auth }), 400);
    await problem(await fetch(`${server.url}/v1/jobs/00000000-0000-4000-8000-000000000000`, { headers: auth }), 404);
    await problem(await fetch(`${server.url}/v1/jobs/..%2F..%2Fetc%2Fpasswd`, { headers: auth }), 404);
    await problem(await fetch(`${server.url}/v1/nothing`, { headers: auth }), 404);
  });

  it('POSTs the finished job to callback_url, signed with the API key', async () => {
    const received: { body: string; signature: string | undefined }[] = [];
    let fail = 1;
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        // The first delivery is refused: the sender retries.
        res.statusCode = fail-- > 0 ? 500 : 204;
        received.push({ body, signature: req.headers['backdrop-signature'] as string | undefined });
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    try {
      const r = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(PHOTO, { callback_url: `http://127.0.0.1:${port}/hook` }) });
      expect(r.status).toBe(202);
      const { id } = (await r.json()) as JobJson;
      const job = await waitForJob(server, id, (j) => j.callback?.delivered === true, auth);
      expect(job.callback).toMatchObject({ delivered: true, attempts: 2 });
      expect(received).toHaveLength(2);
      const last = received[1];
      expect(last.signature).toBe(`sha256=${createHmac('sha256', KEY).update(last.body).digest('hex')}`);
      expect(JSON.parse(last.body)).toMatchObject({ id, status: 'succeeded' });
    } finally {
      receiver.close();
    }
    expect((await problem(await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: auth, body: await form(PHOTO, { callback_url: 'ftp://x' }) }), 400)).detail).toContain('callback_url');
  });
});

describe('back-pressure', () => {
  it('answers 429 with Retry-After once --queue-limit jobs wait, and takes jobs again when they have run', async () => {
    const d = await tempData();
    const small = await startServer(['--data', d.dir, '--concurrency', '1', '--queue-limit', '1']);
    try {
      const post = async () => fetch(`${small.url}/v1/jobs`, { method: 'POST', body: await form(longClip, { preset: 'ultrafast' }) });
      const running = (await (await post()).json()) as JobJson;
      await waitForJob(small, running.id, (j) => j.status === 'running');
      const queued = await post();
      expect(queued.status).toBe(202);
      const refused = await post();
      await problem(refused, 429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await fetch(`${small.url}/readyz`)).status).toBe(503);
      await fetch(`${small.url}/v1/jobs/${running.id}`, { method: 'DELETE' });
      await fetch(`${small.url}/v1/jobs/${((await queued.json()) as JobJson).id}`, { method: 'DELETE' });
      expect((await post()).status).toBe(202);
    } finally {
      expect(await small.stop()).toBe(0);
      await d.cleanup();
    }
  });
});

