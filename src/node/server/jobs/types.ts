/** A job as the store keeps it, and as the API shows it. */
import type { ImageFormat } from '../../imageIO.js';
import type { CliOptions } from '../../options/cliOptions.js';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINISHED: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'canceled']);

export interface JobProgress {
  done: number;
  total: number | null;
  unit: 'frame' | 'image';
}

export interface JobResult {
  url: string;
  content_type: string;
  bytes: number;
}

/** What a worker needs to run the job; file names are relative to the job's folder and server-made. */
export interface JobWork {
  kind: 'photo' | 'video';
  input: string;
  background?: string;
  output: string;
  content_type: string;
  options: CliOptions;
  /** Photos: the output format (the CLI's choice for this input and options). */
  format?: ImageFormat;
  /** Videos: the input's duration in seconds, when the probe knows it (scale-out splits long ones). */
  seconds?: number;
}

export interface JobWorker {
  host: string;
  pid: number;
}

/** One segment of a video split across workers (scale-out, --segment-seconds). */
export interface JobSegment {
  index: number;
  /** Its frames' range in the input, seconds (end null: to the end of the video). */
  start: number;
  end: number | null;
  /** Frames it has written (its lead-in not counted); when it finished, all of them. */
  done: number;
  /** Times a worker started it (as a whole job's attempts). */
  attempts: number;
  /** The process that runs or ran it. */
  worker?: JobWorker;
}

export interface JobRecord {
  id: string;
  status: JobStatus;
  progress: JobProgress;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /**
   * Times a worker started it (a restart mid-run counts; a job handed back on a drain does not). A
   * split video: the most any one of its parts (a segment, the join) took, so 1 when nothing was
   * tried again.
   */
  attempts: number;
  /** The process that runs or ran it (scale-out: `backdrop worker`, or a serve that works; a split video: the one that joined it). */
  worker?: JobWorker;
  /** A video split across workers: its segments, in playing order. */
  segments?: JobSegment[];
  /** A split video: times a worker started joining its segments (counted into `attempts`, not shown). */
  join_attempts?: number;
  error?: string;
  result?: JobResult;
  work: JobWork;
  /** SHA-256 of the API key's fingerprint and the Idempotency-Key header. */
  idempotency?: string;
  /** Fingerprint of the API key that created it (signs its callback). */
  key_id?: string;
  callback?: { url: string; delivered: boolean; attempts: number; last_error?: string };
}

/** The job as GET /v1/jobs/{id} shows it. */
export function publicJob(job: JobRecord) {
  return {
    id: job.id,
    status: job.status,
    kind: job.work.kind,
    progress: job.progress,
    created_at: job.created_at,
    started_at: job.started_at,
    finished_at: job.finished_at,
    attempts: job.attempts,
    ...(job.worker ? { worker: job.worker } : {}),
    ...(job.segments ? { segments: job.segments } : {}),
    ...(job.error !== undefined ? { error: job.error } : {}),
    ...(job.result ? { result: job.result } : {}),
    ...(job.callback ? { callback: { url: job.callback.url, delivered: job.callback.delivered, attempts: job.callback.attempts } } : {}),
    links: { self: `/v1/jobs/${job.id}`, ...(job.result ? { result: job.result.url } : {}) },
  };
}

export const jobSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: [...JOB_STATUSES] },
    kind: { type: 'string', enum: ['photo', 'video'] },
    progress: {
      type: 'object',
      properties: { done: { type: 'number' }, total: { type: ['number', 'null'] }, unit: { type: 'string', enum: ['frame', 'image'] } },
    },
    created_at: { type: 'string', format: 'date-time' },
    started_at: { type: ['string', 'null'], format: 'date-time' },
    finished_at: { type: ['string', 'null'], format: 'date-time' },
    attempts: { type: 'integer' },
    worker: { type: 'object', description: 'the process that runs or ran it', properties: { host: { type: 'string' }, pid: { type: 'integer' } } },
    segments: {
      type: 'array',
      description: 'a video split across workers (scale-out): each segment, its range (s), frames done, attempts and worker',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer' },
          start: { type: 'number' },
          end: { type: ['number', 'null'] },
          done: { type: 'integer' },
          attempts: { type: 'integer' },
          worker: { type: 'object', properties: { host: { type: 'string' }, pid: { type: 'integer' } } },
        },
      },
    },
    error: { type: 'string' },
    result: { type: 'object', properties: { url: { type: 'string' }, content_type: { type: 'string' }, bytes: { type: 'integer' } } },
    callback: { type: 'object', properties: { url: { type: 'string' }, delivered: { type: 'boolean' }, attempts: { type: 'integer' } } },
    links: { type: 'object', properties: { self: { type: 'string' }, result: { type: 'string' } } },
  },
} as const;
