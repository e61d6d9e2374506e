/**
 * The API node's half of a long video split across workers (scale-out, --segment-seconds): the
 * split hook of BullQueue. Where the input is, its keyframes are listed (the upload's probe is
 * reused) and the job planned into segments cut at keyframes (segmentPlan.ts); the job becomes a
 * BullMQ flow:
 *
 *   join {id, segments: n}            (jobId = the job id; runs once every child completed)
 *   ├── segment {id, index: 0, segment}   (jobId = `<id>-s0`)
 *   ├── segment {id, index: 1, segment}
 *   └── …
 *
 * Each child processes its segment's frames (with a lead-in) into `segment-<index>.<ext>`; the
 * parent joins them by stream copy and muxes the input's sound (concatSegments.ts). Children have
 * the whole job's attempts and backoff, and `failParentOnFailure`: a segment that fails its last
 * attempt (or keeps stalling) fails the join, and the job with the segment's reason.
 *
 * Not split, run whole by one worker instead: variable-frame-rate inputs (a cut may differ by a
 * frame), jobs with an effect range (--from/--to without --trim: frames counted from where
 * reading starts, which a segment moves), transparent outputs (joins of alpha video are
 * untested), outputs that are not one file, and videos whose keyframes allow a single segment.
 */
import { FlowProducer, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { videoOptionsFrom } from '../../options/videoOptions.js';
import { listKeyframes } from '../../video/keyframes.js';
import { expectedFrameCount, probeVideo, rationalValue, type VideoInfo } from '../../video/probe.js';
import { planSegments, type VideoSegment } from '../../video/segmentPlan.js';
import { fileContainer } from '../../video/sinkPlan.js';
import { videoTools } from '../../video/tools.js';
import { QUEUE_NAME } from '../redis.js';
import { JOIN_JOB, SEGMENT_JOB, jobOptions, segmentJobId } from './bullQueue.js';
import type { RedisJobStore } from './redisStore.js';
import type { JobRecord, JobSegment } from './types.js';

/** What a segment child carries (small JSON: the segment's read range and lead-in, no files). */
export interface SegmentData {
  id: string;
  index: number;
  segment: VideoSegment;
}

/** What the join parent carries. */
export interface JoinData {
  id: string;
  segments: number;
}

/** Why this job is run whole rather than split (undefined: it can be split). */
export function splitRefusal(job: JobRecord, info: VideoInfo): string | undefined {
  const { options, output } = job.work;
  if (info.variableFrameRate) return 'a variable frame rate';
  if (!fileContainer(output)) return 'its output is not one video file';
  if (options.transparent) return 'a transparent output';
  try {
    if (videoOptionsFrom('input', options, info).range) return 'an effect range (--from/--to without --trim)';
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

export interface SplitterOptions {
  segmentSeconds: number;
  attempts: number;
  warn: (message: string) => void;
}

export class VideoSplitter {
  private readonly flows: FlowProducer;

  constructor(
    private readonly store: RedisJobStore,
    redis: Redis,
    private readonly options: SplitterOptions,
  ) {
    this.flows = new FlowProducer({ connection: redis });
    this.flows.on('error', () => {});
  }

  /**
   * BullQueue's split hook: queues `job` as a flow and answers true, or answers false (it is run
   * whole). `info` is the upload's probe; without it (a job re-queued at start-up) it is probed again.
   */
  readonly split = async (job: JobRecord, queue: Queue, info?: VideoInfo): Promise<boolean> => {
    // Planned before and the flow is in BullMQ (re-queued at start-up): adding it again changes nothing.
    if (job.segments && (await queue.getJob(job.id))) return true;
    const input = `${this.store.dirFor(job.id)}/${job.work.input}`;
    const tools = videoTools();
    info ??= await probeVideo(input, { tools });
    const refusal = splitRefusal(job, info);
    if (refusal) return false;
    const video = videoOptionsFrom('input', job.work.options, info);
    const keyframes = await listKeyframes(input, tools, { info });
    const plan = planSegments({ from: video.from, to: video.to, duration: info.duration, keyframes, segmentSeconds: this.options.segmentSeconds, frameRate: info.frameRate });
    if (plan.length < 2) return false;

    const segments: JobSegment[] = plan.map((s) => ({ index: s.index, start: s.start, end: s.end ?? null, done: 0, attempts: 0 }));
    const fps = rationalValue(info.frameRate);
    const total = video.from !== undefined || video.to !== undefined ? Math.round(((video.to ?? info.duration ?? 0) - (video.from ?? 0)) * fps) : (expectedFrameCount(info) ?? null);
    await this.store.update(job.id, { segments, join_attempts: 0, progress: { ...job.progress, total: total && total > 0 ? total : job.progress.total } });
    const opts = jobOptions(job.id, this.options.attempts);
    await this.flows.add({
      name: JOIN_JOB,
      queueName: QUEUE_NAME,
      data: { id: job.id, segments: plan.length } satisfies JoinData,
      opts,
      children: plan.map((segment) => ({
        name: SEGMENT_JOB,
        queueName: QUEUE_NAME,
        data: { id: job.id, index: segment.index, segment } satisfies SegmentData,
        opts: { ...jobOptions(segmentJobId(job.id, segment.index), this.options.attempts), failParentOnFailure: true },
      })),
    });
    return true;
  };

  async close(): Promise<void> {
    await this.flows.close().catch(() => {});
  }
}

