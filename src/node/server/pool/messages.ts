/** What the server's main thread and its worker threads say to each other. */
import type { ImageFormat } from '../../imageIO.js';
import type { CliOptions } from '../../options/cliOptions.js';
import type { VideoSegment } from '../../video/segmentPlan.js';

/** One photo or video to process; paths are absolute and server-made. */
export interface Task {
  kind: 'photo' | 'video';
  input: string;
  /**
   * Where the result is written. Absent for a synchronous photo: its encoded bytes come back in
   * the `done` message, so a waiting client does not pay for a disk round trip.
   */
  output?: string;
  options: CliOptions;
  /** Photos: the output format. */
  format?: ImageFormat;
  /** A video: only this segment of it (a split job's part: its read range and lead-in, no sound). */
  segment?: VideoSegment;
}

/** A finished task: the output's size, and the output itself when the task had no `output` path. */
export interface TaskResult {
  bytes: number;
  /** A video: the frames written. */
  frames?: number;
  data?: Uint8Array;
}

export interface TaskError {
  name: string;
  /** ImageInputError / VideoInputError code, when there is one. */
  code?: string;
  message: string;
}

export type ToWorker = { type: 'run'; taskId: number; task: Task } | { type: 'cancel'; taskId: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'loaded'; model: string }
  | { type: 'progress'; taskId: number; done: number; total: number | null }
  | { type: 'done'; taskId: number; bytes: number; frames?: number; data?: Uint8Array }
  | { type: 'failed'; taskId: number; error: TaskError }
  | { type: 'warning'; message: string };
