/**
 * The HTTP API as a Fastify app: multipart uploads streamed to disk, raw image/video bodies passed
 * through as streams, the OpenAPI document generated from the route schemas, API keys checked on
 * /v1/, and every error answered as problem+json.
 */
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { RETRY_AFTER_FULL, type ServerContext } from './context.js';
import { HttpProblem, PROBLEM_TYPE } from './problem.js';
import { healthRoutes } from './routes/health.js';
import { imageRoutes } from './routes/images.js';
import { internalRoutes } from './routes/internal.js';
import { jobRoutes } from './routes/jobs.js';
import { StoreUnavailable } from './jobs/store.js';
import { drainBody, tooLarge } from './uploads.js';

export async function buildApp(ctx: ServerContext, version: string): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: 'idle', return503OnClosing: false });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'backdrop',
        version,
        description: 'Blur, replace, recolour or remove the background behind people in photos and videos. Errors are RFC 9457 problem details.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API key (--api-key or BACKDROP_API_KEYS), when the server has any' } } },
      security: ctx.keys.enabled ? [{ bearer: [] }] : [],
    },
  });
  await app.register(multipart, { throwFileSizeLimit: true });
  // A raw photo or video body stays a stream: the route writes it to disk.
  app.addContentTypeParser(/^(image|video)\/[\w.+-]+$|^application\/octet-stream$/, (_request, payload, done) => done(null, payload));

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/') || !ctx.keys.enabled) return;
    const id = ctx.keys.verify(request.headers.authorization);
    if (id === null) {
      const detail = request.headers.authorization ? 'the API key is not one of this server\'s' : 'send an API key: Authorization: Bearer KEY';
      throw new HttpProblem(401, detail, { 'www-authenticate': 'Bearer realm="backdrop"' });
    }
    request.keyId = id;
  });

  app.setErrorHandler((error: FastifyError | HttpProblem, request, reply) => {
    drainBody(request);
    const problem = toProblem(error, ctx.config.maxUpload);
    if (problem.status >= 500 && problem.status !== 503) process.stderr.write(`backdrop serve: ${error.stack ?? error.message}\n`);
    void reply.code(problem.status).headers(problem.headers).type(PROBLEM_TYPE).send(problem.body());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).type(PROBLEM_TYPE).send(new HttpProblem(404, `no route ${request.method} ${request.url.split('?')[0]}`).body());
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  healthRoutes(app, ctx);
  imageRoutes(app, ctx);
  jobRoutes(app, ctx);
  // Scale-out: workers started with --api fetch inputs and send outputs here.
  if (ctx.config.redis) internalRoutes(app, ctx);
  return app;
}

function toProblem(error: FastifyError | HttpProblem, maxUpload: number): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof StoreUnavailable) return new HttpProblem(503, error.message, { 'retry-after': RETRY_AFTER_FULL });
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new HttpProblem(415, 'send multipart/form-data with a "file" part, or the file itself as the body with an image/* or video/* Content-Type');
  }
  if (error.code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(maxUpload);
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new HttpProblem(413, error.message);
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return new HttpProblem(status, error.message);
  return new HttpProblem(500, 'internal error (a bug: please report it with the server\'s log)');
}
