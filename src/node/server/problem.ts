/**
 * Errors as RFC 9457 problem details (`application/problem+json`: type, title, status, detail).
 * Route code throws an HttpProblem; the app's error handler writes it, and maps Fastify's and
 * @fastify/multipart's own errors (bad JSON, unknown media type, a part over the size limit) to
 * the same shape. A 500 is only ever a bug, never bad input.
 */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, [slug: string, title: string]> = {
  400: ['bad-option', 'Bad option'],
  401: ['unauthorized', 'Missing or wrong API key'],
  404: ['not-found', 'Not found'],
  405: ['method-not-allowed', 'Method not allowed'],
  409: ['conflict', 'Conflict'],
  413: ['too-large', 'Too large'],
  415: ['unsupported-media-type', 'Not an image or video backdrop reads'],
  422: ['cannot-decode', 'The file cannot be decoded'],
  429: ['queue-full', 'Too many jobs waiting'],
  500: ['internal', 'Internal error'],
  503: ['unavailable', 'Not accepting work'],
};

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly headers: Record<string, string> = {},
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }

  body(): ProblemBody {
    const [slug, title] = TITLES[this.status] ?? ['error', 'Error'];
    return { type: `urn:backdrop:problem:${slug}`, title, status: this.status, detail: this.message, ...this.extensions };
  }
}

export const PROBLEM_TYPE = 'application/problem+json';

/** The OpenAPI schema of a problem body (for every route's error responses). */
export const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'detail'],
} as const;
