/** Probes and the model list: /healthz, /readyz, /v1/models. */
import type { FastifyInstance } from 'fastify';
import { BUILTIN_MODELS, builtinSpec } from '../../../core/modelSpec.js';
import type { ServerContext } from '../context.js';
import { RETRY_AFTER_DRAINING, RETRY_AFTER_FULL } from '../context.js';
import { HttpProblem, problemSchema } from '../problem.js';

export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    '/healthz',
    { schema: { summary: 'The process is alive', tags: ['probes'], response: { 200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } } } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'The model is loaded and the queue takes work (else 503)',
        tags: ['probes'],
        response: { 200: { type: 'object', properties: { status: { type: 'string', enum: ['ready'] } } }, 503: problemSchema },
      },
    },
    async () => {
      if (ctx.draining) throw new HttpProblem(503, 'the server is stopping', { 'retry-after': RETRY_AFTER_DRAINING });
      if (!ctx.pool.ready) throw new HttpProblem(503, 'the model is loading', { 'retry-after': '1' });
      if (!ctx.queue.accepting) throw new HttpProblem(503, ctx.queue.refusal.detail, { 'retry-after': ctx.queue.refusal.retryAfter });
      if ((await ctx.queue.depth()) >= ctx.config.queueLimit) throw new HttpProblem(503, `the queue is full (${ctx.config.queueLimit} jobs waiting)`, { 'retry-after': RETRY_AFTER_FULL });
      return { status: 'ready' };
    },
  );

  app.get(
    '/v1/models',
    {
      schema: {
        summary: 'The built-in models, their input size, and whether the workers have them loaded',
        tags: ['models'],
        response: {
          200: {
            type: 'object',
            properties: {
              models: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    input: { type: 'object', properties: { width: { type: 'integer' }, height: { type: 'integer' } } },
                    loaded: { type: 'boolean' },
                    default: { type: 'boolean' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => ({
      models: BUILTIN_MODELS.map((name) => {
        const spec = builtinSpec(name);
        return { name, input: { width: spec.inputWidth, height: spec.inputHeight }, loaded: ctx.pool.loadedModels().has(name), default: name === 'general' };
      }),
    }),
  );
}
