/**
 * /v1/jobs: photos and videos processed in the background. A job is on disk (its state and its
 * input, fsynced) before the 202 is sent; an Idempotency-Key makes a retried POST return the job
 * the first one made; DELETE cancels a queued or running job, or deletes a finished one.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { expectedFrameCount, type VideoInfo } from '../../video/probe.js';
import { videoExtensionFor, videoOptionsFrom } from '../../options/videoOptions.js';
import { callbackProblem } from '../callbacks.js';
import type { ServerContext } from '../context.js';
import { RETRY_AFTER_DRAINING, RETRY_AFTER_FULL } from '../context.js';
import { inspectImage, inspectVideo } from '../inspect.js';
import { isJobId, syncDir } from '../jobs/store.js';
import { FINISHED, JOB_STATUSES, jobSchema, publicJob, type JobRecord, type JobStatus, type JobWork } from '../jobs/types.js';
import { HttpProblem } from '../problem.js';
import { EXTENSIONS, parseRequestOptions, photoFormat } from '../requestOptions.js';
import { imageContentType, videoContentType } from '../sniff.js';
import { drainBody, receiveUpload, type StoredFile } from '../uploads.js';
import { errorResponses, optionProperties, uploadBody } from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Fingerprint of the API key the request carried (keys set). */
    keyId?: string;
  }
}

const idParams = { type: 'object', properties: { id: { type: 'string', description: 'the job id (from POST /v1/jobs)' } }, required: ['id'] } as const;
const callbackField = { callback_url: { type: 'string', format: 'uri', description: 'POSTed the final job JSON, signed with the API key (header Backdrop-Signature: sha256=<HMAC-SHA256 of the body>), retried with backoff' } };

export function jobRoutes(app: FastifyInstance, ctx: ServerContext): void {
  /** Idempotency keys whose first request is still uploading. */
  const pending = new Map<string, Promise<JobRecord | undefined>>();

  const find = async (id: string): Promise<JobRecord> => {
    const job = isJobId(id) ? await ctx.store.get(id) : undefined;
    if (!job) throw new HttpProblem(404, `no job ${id} (finished jobs are deleted after the retention time)`);
    return job;
  };

  const accepted = (reply: FastifyReply, job: JobRecord) => reply.code(202).header('location', `/v1/jobs/${job.id}`).send(publicJob(job));

  app.post(
    '/v1/jobs',
    {
      attachValidation: true,
      schema: {
        summary: 'Queue a photo or video; answers 202 with the job and its Location',
        description:
          'Options as for POST /v1/images plus the video ones, with the CLI\'s names, defaults and messages. An `Idempotency-Key` header makes a retried POST return the same job.',
        tags: ['jobs'],
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', description: 'a client-chosen key: a retried POST with it returns the same job' } } },
        querystring: { type: 'object', properties: { ...optionProperties(true), ...callbackField } },
        body: uploadBody(true, callbackField),
        response: { 202: { description: 'the job, queued', ...jobSchema }, ...errorResponses(400, 401, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      if (ctx.draining) throw new HttpProblem(503, 'the server is stopping', { 'retry-after': RETRY_AFTER_DRAINING });
      if (!ctx.queue.accepting) throw new HttpProblem(503, ctx.queue.refusal.detail, { 'retry-after': ctx.queue.refusal.retryAfter });
      const key = request.headers['idempotency-key'];
      const idempotency = typeof key === 'string' && key !== '' ? createHash('sha256').update(`${request.keyId ?? ''}\0${key}`).digest('hex') : undefined;
      if (idempotency) {
        const earlier = (await ctx.store.byIdempotency(idempotency)) ?? (await pending.get(idempotency));
        if (earlier && (await ctx.store.get(earlier.id))) {
          drainBody(request);
          return accepted(reply, earlier);
        }
      }
      const depth = await ctx.queue.depth();
      if (depth >= ctx.config.queueLimit) {
        throw new HttpProblem(429, `${depth} jobs are waiting (--queue-limit ${ctx.config.queueLimit}); try again shortly`, { 'retry-after': RETRY_AFTER_FULL });
      }
      const create = createJob(request, ctx, idempotency);
      if (idempotency) pending.set(idempotency, create.catch(() => undefined));
      try {
        return accepted(reply, await create);
      } finally {
        if (idempotency) pending.delete(idempotency);
      }
    },
  );

  app.get(
    '/v1/jobs',
    {
      attachValidation: true,
      schema: {
        summary: 'List jobs, oldest first',
        tags: ['jobs'],
        querystring: { type: 'object', properties: { status: { type: 'string', enum: [...JOB_STATUSES] } } },
        response: { 200: { type: 'object', properties: { jobs: { type: 'array', items: jobSchema } } }, ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const { status, ...rest } = request.query as Record<string, unknown>;
      const unknown = Object.keys(rest);
      if (unknown.length) throw new HttpProblem(400, `unknown parameter "${unknown[0]}"; GET /v1/jobs takes status`);
      if (status !== undefined && !JOB_STATUSES.includes(status as JobStatus)) throw new HttpProblem(400, `status must be one of ${JOB_STATUSES.join(', ')}, got "${String(status)}"`);
      return { jobs: (await ctx.store.list(status as JobStatus | undefined)).map(publicJob) };
    },
  );

  app.get(
    '/v1/jobs/:id',
    { schema: { summary: 'A job: status, progress, result', tags: ['jobs'], params: idParams, response: { 200: jobSchema, ...errorResponses(401, 404) } } },
    async (request) => publicJob(await find((request.params as { id: string }).id)),
  );

  app.get(
    '/v1/jobs/:id/result',
    {
      schema: {
        summary: "A finished job's output (a video keeps its sound, as the CLI makes it)",
        tags: ['jobs'],
        params: idParams,
        response: { 200: { description: 'the output file', content: { 'image/*': { schema: { type: 'string', format: 'binary' } }, 'video/*': { schema: { type: 'string', format: 'binary' } } } }, ...errorResponses(401, 404, 409) },
      },
    },
    async (request, reply) => {
      const job = await find((request.params as { id: string }).id);
      if (job.status !== 'succeeded' || !job.result) throw new HttpProblem(409, `job ${job.id} is ${job.status}${job.status === 'failed' ? ` (${job.error})` : ''}; it has no result${FINISHED.has(job.status) ? '' : ' yet'}`);
      const path = join(ctx.store.dirFor(job.id), job.work.output);
      return reply
        .type(job.result.content_type)
        .header('content-length', job.result.bytes)
        .header('content-disposition', `attachment; filename="${job.id}${extname(job.work.output)}"`)
        .send(createReadStream(path));
    },
  );

  app.delete(
    '/v1/jobs/:id',
    {
      schema: {
        summary: 'Cancel a queued or running job (200, the canceled job); delete a finished one and its result (204)',
        tags: ['jobs'],
        params: idParams,
        response: { 200: jobSchema, 204: { description: 'deleted', type: 'null' }, ...errorResponses(401, 404) },
      },
    },
    async (request, reply) => {
      const job = await find((request.params as { id: string }).id);
      if (FINISHED.has(job.status)) {
        await ctx.store.remove(job.id);
        return reply.code(204).send();
      }
      return publicJob((await ctx.queue.cancel(job.id)) ?? job);
    },
  );
}

async function createJob(request: Parameters<typeof receiveUpload>[0], ctx: ServerContext, idempotency: string | undefined): Promise<JobRecord> {
  const { id, dir } = await ctx.store.reserve();
  let created = false;
  try {
    const upload = await receiveUpload(request, dir, ctx.config.maxUpload);
    const { callback_url: callbackUrl, ...fields } = upload.fields;
    const kind = upload.input.sniffed.kind === 'image' ? 'photo' : 'video';
    const options = parseRequestOptions(fields, { video: true, background: upload.background?.path, maxPixels: ctx.config.maxPixels });
    let work: JobWork;
    let total: number | null;
    let info: VideoInfo | undefined;
    if (kind === 'photo') {
      const facts = await inspectImage(upload.input.path, 'input', ctx.config.maxPixels);
      const format = photoFormat(options, upload.input.sniffed.format, facts.hasAlpha);
      work = { kind, input: upload.input.name, output: `result${EXTENSIONS[format]}`, content_type: imageContentType(format), options, format };
      total = 1;
    } else {
      info = await inspectVideo(upload.input.path, 'input');
      try {
        videoOptionsFrom('input', options, info);
      } catch (err) {
        throw new HttpProblem(400, (err as Error).message);
      }
      const ext = videoExtensionFor(options);
      work = { kind, input: upload.input.name, output: `result${ext}`, content_type: videoContentType(ext), options, ...(info.duration !== undefined ? { seconds: info.duration } : {}) };
      total = expectedFrameCount(info) ?? null;
    }
    work.options = { ...options, background: undefined };
    if (upload.background) work.background = upload.background.name;
    if (callbackUrl !== undefined) {
      const problem = await callbackProblem(callbackUrl, ctx.config.allowPrivateCallbacks);
      if (problem) throw new HttpProblem(400, problem);
    }
    // Durable before the 202: the uploads' bytes, then the state that names them.
    await fsyncFile(upload.input);
    if (upload.background) await fsyncFile(upload.background);
    const job: JobRecord = {
      id,
      status: 'queued',
      progress: { done: 0, total, unit: kind === 'photo' ? 'image' : 'frame' },
      created_at: new Date().toISOString(),
      started_at: null,
      finished_at: null,
      attempts: 0,
      work,
      ...(idempotency ? { idempotency } : {}),
      ...(request.keyId ? { key_id: request.keyId } : {}),
      ...(callbackUrl !== undefined ? { callback: { url: callbackUrl, delivered: false, attempts: 0 } } : {}),
    };
    await ctx.store.create(job);
    created = true;
    await syncDir(dir);
    await ctx.queue.enqueue(job, info);
    return job;
  } catch (err) {
    // Refused (or the queue could not take it: Redis went away meanwhile): nothing was promised, nothing stays.
    if (created) await ctx.store.remove(id).catch(() => ctx.store.release(id));
    else await ctx.store.release(id);
    throw err;
  }
}

async function fsyncFile(file: StoredFile): Promise<void> {
  const handle = await open(file.path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
