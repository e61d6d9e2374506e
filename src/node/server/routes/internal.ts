/**
 * The API node's side of the HTTP claim-check (`backdrop worker --api URL`, scale-out only): a
 * worker downloads a job's input and background, and uploads its output, which is written to a
 * temporary name and renamed when complete (a worker killed mid-upload leaves nothing). Under
 * /v1/, so the API keys apply: workers send the shared key as `Authorization: Bearer KEY`.
 *
 * A split video's segments go the same way: a worker uploads `segment-<index>.<ext>` (the name
 * checked strictly against the job's segments; nothing else is accepted) and the join downloads
 * them. A file that lands after its job stopped running (canceled meanwhile) is removed at once.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { tempPathFor } from '../../safeWrite.js';
import type { ServerContext } from '../context.js';
import { isJobId, syncDir } from '../jobs/store.js';
import type { JobRecord } from '../jobs/types.js';
import { segmentIndexOf, segmentName } from '../jobs/jobFiles.js';
import { HttpProblem } from '../problem.js';
import { drainBody } from '../uploads.js';
import { errorResponses } from './schemas.js';

const params = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' } },
  required: ['id'],
} as const;

/**
 * A worker's upload of a whole file: the options of its PUT route. The body is a stream (the
 * raw-body parser), which the binary schema documents but cannot validate.
 */
function uploadRoute(summary: string) {
  return {
    attachValidation: true,
    schema: {
      summary,
      tags: ['internal'],
      params,
      body: { content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      response: { 200: { type: 'object', properties: { bytes: { type: 'integer' } } }, ...errorResponses(401, 404, 409) },
    },
  };
}

export function internalRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const running = async (id: string): Promise<JobRecord> => {
    const job = isJobId(id) ? await ctx.store.get(id) : undefined;
    if (!job) throw new HttpProblem(404, `no job ${id}`);
    if (job.status !== 'running') throw new HttpProblem(409, `job ${id} is ${job.status}, not running`);
    return job;
  };

  /** Writes an upload to a temporary name, fsyncs and renames it; removed again when the job stopped running meanwhile (a DELETE's clean-up ran before it landed). */
  const receive = async (body: Readable, job: JobRecord, name: string): Promise<{ bytes: number }> => {
    const dir = ctx.store.dirFor(job.id);
    const target = join(dir, name);
    const tmp = tempPathFor(target);
    try {
      await pipeline(body, createWriteStream(tmp));
      const handle = await open(tmp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, target);
      await syncDir(dir);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const now = await ctx.store.get(job.id);
    if (now?.status !== 'running') {
      await rm(target, { force: true });
      throw new HttpProblem(409, `job ${job.id} is ${now?.status ?? 'gone'}, not running`);
    }
    return { bytes: (await stat(target)).size };
  };

  app.get(
    '/v1/internal/jobs/:id/files/:name',
    {
      schema: {
        summary: "A running job's input, background or (a split video's) segment, for `backdrop worker --api`",
        tags: ['internal'],
        params,
        response: { 200: { description: 'the file', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }, ...errorResponses(401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { id, name } = request.params as { id: string; name: string };
      const job = await running(id);
      // Only the names the server gave this job's uploads and segments: nothing from the request reaches a path.
      if (name !== job.work.input && name !== job.work.background && segmentIndexOf(job, name) === undefined) throw new HttpProblem(404, `job ${id} has no file ${name}`);
      const path = join(ctx.store.dirFor(id), name);
      const size = await stat(path).then((s) => s.size, () => undefined);
      if (size === undefined) throw new HttpProblem(404, `the ${name} of job ${id} is gone`);
      return reply.type('application/octet-stream').header('content-length', size).send(createReadStream(path));
    },
  );

  app.put(
    '/v1/internal/jobs/:id/output',
    uploadRoute("A running job's output (from `backdrop worker --api`), written whole or not at all"),
    async (request) => {
      const { id } = request.params as { id: string };
      const job = await running(id);
      return receive(request.body as Readable, job, job.work.output);
    },
  );

  app.put(
    '/v1/internal/jobs/:id/segments/:name',
    uploadRoute("A segment of a running split video (from `backdrop worker --api`), `segment-<index>.<ext>`, written whole or not at all"),
    async (request) => {
      const { id, name } = request.params as { id: string; name: string };
      const job = await running(id);
      if (segmentIndexOf(job, name) === undefined) {
        drainBody(request);
        throw new HttpProblem(404, `job ${id} has no segment named ${name} (its segments are ${segmentName(job, 0)} to ${segmentName(job, Math.max(0, (job.segments?.length ?? 1) - 1))})`);
      }
      return receive(request.body as Readable, job, name);
    },
  );
}
