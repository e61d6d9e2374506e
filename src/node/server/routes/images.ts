/**
 * POST /v1/images: one photo in, the processed photo out, in the same request. The upload goes to
 * a temporary folder (deleted after the answer); a pool worker sends the encoded result back in
 * its reply (an image, bounded by --max-pixels), which is answered as it is.
 *
 * Why not a file: streaming a 640×480 blur's result back from disk took 1–3 ms of its ~50 ms at
 * one client (measured in this route), on top of the worker's atomic write, out of the 15 % the
 * server may add.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { RETRY_AFTER_DRAINING, RETRY_AFTER_FULL } from '../context.js';
import { inspectImage } from '../inspect.js';
import { TaskFailed } from '../pool/workerPool.js';
import { HttpProblem } from '../problem.js';
import { parseRequestOptions, photoFormat } from '../requestOptions.js';
import { imageContentType } from '../sniff.js';
import { receiveUpload } from '../uploads.js';
import { errorResponses, optionProperties, uploadBody } from './schemas.js';

export function imageRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post(
    '/v1/images',
    {
      attachValidation: true,
      schema: {
        summary: 'Process one photo and answer the result (synchronous)',
        description:
          'The options are the CLI\'s (same names, defaults and messages), as form fields or query parameters. The answer is the image, in the input\'s format unless `format` says otherwise (PNG for transparent and mask).',
        tags: ['images'],
        querystring: { type: 'object', properties: optionProperties(false) },
        body: uploadBody(false),
        response: {
          200: { description: 'the processed image', content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } },
          ...errorResponses(400, 401, 413, 415, 422, 429, 503),
        },
      },
    },
    async (request, reply) => {
      if (ctx.draining) throw new HttpProblem(503, 'the server is stopping', { 'retry-after': RETRY_AFTER_DRAINING });
      if (ctx.pool.waitingCount() >= ctx.config.queueLimit) {
        throw new HttpProblem(429, `${ctx.pool.waitingCount()} photos are waiting for a worker (--queue-limit ${ctx.config.queueLimit}); try again shortly`, { 'retry-after': RETRY_AFTER_FULL });
      }
      const dir = join(ctx.tmpDir, randomUUID());
      await mkdir(dir, { recursive: true });
      const cleanup = () => void rm(dir, { recursive: true, force: true });
      try {
        const upload = await receiveUpload(request, dir, ctx.config.maxUpload);
        if (upload.input.sniffed.kind !== 'image') throw new HttpProblem(415, 'POST /v1/images takes photos; send videos to POST /v1/jobs');
        const options = parseRequestOptions(upload.fields, { video: false, background: upload.background?.path, maxPixels: ctx.config.maxPixels });
        const facts = await inspectImage(upload.input.path, 'input', ctx.config.maxPixels);
        const format = photoFormat(options, upload.input.sniffed.format, facts.hasAlpha);
        const handle = ctx.pool.run({ kind: 'photo', input: upload.input.path, options, format });
        // A client that gives up does not keep its photo in the line.
        const onClose = () => handle.cancel();
        request.raw.once('close', onClose);
        let data: Uint8Array | undefined;
        try {
          ({ data } = await handle.promise);
        } catch (err) {
          throw problemFor(err, dir);
        } finally {
          request.raw.off('close', onClose);
        }
        if (!data) throw new Error('the worker sent no image');
        return reply.type(imageContentType(format)).send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      } finally {
        cleanup();
      }
    },
  );
}

/** A worker's failure as the HTTP status the issue names: bad option 400, too large 413, undecodable 422. */
export function problemFor(err: unknown, dir: string): Error {
  if (!(err instanceof TaskFailed)) return err as Error;
  const message = err.message.split(dir + '/').join('');
  const { name, code } = err.error;
  if (name === 'UsageError' || name === 'RangeError') return new HttpProblem(400, message);
  if (code === 'too-large') return new HttpProblem(413, message);
  if (name === 'ImageInputError' || name === 'VideoInputError') return new HttpProblem(422, message);
  if (name === 'Canceled') return new HttpProblem(503, 'the server is stopping', { 'retry-after': RETRY_AFTER_DRAINING });
  return new Error(message);
}
