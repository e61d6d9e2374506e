/**
 * Runs tasks inside a worker thread through the public facade, with the CLI's option mapping:
 * a photo as `backdrop <in> -o <out> [flags]` writes it, a video likewise (sound kept). The model
 * is loaded once per worker: every Backdrop here shares one inference session per model (the
 * backend below hands out the same session for the same model bytes), and Backdrops for the same
 * options are kept for the next task.
 */
import { readFile, stat } from 'node:fs/promises';
import type { InferenceBackend, InferenceSession } from '../../../core/runtime.js';
import { defaultNodeBackend } from '../../onnxBackend.js';
import { createBackdrop, type Backdrop, type BackdropOptions } from '../../facade.js';
import { ImageInputError } from '../../imageIO.js';
import { toBackdropOptions } from '../../options/backdropOptions.js';
import type { CliOptions } from '../../options/cliOptions.js';
import { videoOptionsFrom } from '../../options/videoOptions.js';
import { probeVideo } from '../../video/probe.js';
import { segmentJobOptions } from '../../video/segmentPlan.js';
import { videoTools } from '../../video/tools.js';
import type { Task, TaskResult } from './messages.js';

/** One session per model, never released while the worker lives. */
function sharedSessions(backend: InferenceBackend): InferenceBackend {
  const sessions = new Map<Uint8Array, Promise<InferenceSession>>();
  return {
    name: backend.name,
    createSession(model) {
      let session = sessions.get(model);
      if (!session) {
        session = backend.createSession(model).then((s) => ({ run: (input, dims) => s.run(input, dims), release: async () => {} }));
        sessions.set(model, session);
      }
      return session;
    },
  };
}

const KEEP = 4;

export class TaskRunner {
  private readonly cache = new Map<string, Promise<Backdrop>>();

  private readonly announced = new Set<string>();

  private constructor(
    private readonly backend: InferenceBackend,
    private readonly warn: (message: string) => void,
    /** Told the name of each model the first time a Backdrop with it is ready. */
    private readonly onLoaded: (model: string) => void,
  ) {}

  static async create(warn: (message: string) => void, onLoaded: (model: string) => void): Promise<TaskRunner> {
    return new TaskRunner(sharedSessions(await defaultNodeBackend(warn)), warn, onLoaded);
  }

  /** Loads the model the default options use, so the first request does not wait for it. */
  async warm(options: CliOptions): Promise<void> {
    await this.backdropFor(options);
  }

  async run(task: Task, signal: AbortSignal, onProgress: (done: number, total: number | null) => void): Promise<TaskResult> {
    const backdrop = await this.backdropFor(task.options);
    try {
      const encode = { format: task.format, quality: task.options.quality };
      if (task.kind === 'photo' && task.output === undefined) {
        const data = await backdrop.processBuffer(await readFile(task.input), encode).catch((err: unknown) => {
          // processBuffer names its input "buffer"; the client's messages name the upload, as processFile's do.
          throw err instanceof ImageInputError ? new ImageInputError(task.input, err.reason, err.code) : err;
        });
        onProgress(1, 1);
        return { bytes: data.length, data };
      }
      if (task.output === undefined) throw new Error('a video task needs an output path');
      if (task.kind === 'photo') {
        await backdrop.processFile(task.input, task.output, { ...encode, force: true });
        onProgress(1, 1);
      } else {
        const info = await probeVideo(task.input, { tools: videoTools() });
        const video = videoOptionsFrom('input', task.options, info);
        let last = 0;
        const summary = await backdrop.processVideo(task.input, task.output, {
          // A segment of a split job: its range with a lead-in, no sound (muxed once by the join).
          ...(task.segment ? segmentJobOptions(video, task.segment) : video),
          force: true,
          signal,
          onProgress: (done, total) => {
            const t = Date.now();
            if (t - last < 250 && done !== total) return;
            last = t;
            onProgress(done, total ?? null);
          },
        });
        return { bytes: (await stat(task.output)).size, frames: summary.frames };
      }
      return { bytes: (await stat(task.output)).size };
    } finally {
      if (task.options.background !== undefined) await backdrop.close();
    }
  }

  /** A Backdrop for these options: kept for reuse, except with a background image (one per upload). */
  private async backdropFor(cli: CliOptions): Promise<Backdrop> {
    const options: BackdropOptions = { ...toBackdropOptions(cli), backend: this.backend, onWarning: this.warn };
    if (cli.background !== undefined) return this.announce(await createBackdrop(options));
    const key = JSON.stringify(toBackdropOptions(cli));
    let backdrop = this.cache.get(key);
    if (backdrop) {
      this.cache.delete(key);
    } else {
      backdrop = createBackdrop(options);
      backdrop.catch(() => this.cache.delete(key));
    }
    this.cache.set(key, backdrop);
    while (this.cache.size > KEEP) {
      const [oldest, evicted] = this.cache.entries().next().value as [string, Promise<Backdrop>];
      this.cache.delete(oldest);
      void evicted.then((b) => b.close()).catch(() => {});
    }
    return this.announce(await backdrop);
  }

  private announce(backdrop: Backdrop): Backdrop {
    const name = backdrop.model.name;
    if (!this.announced.has(name)) {
      this.announced.add(name);
      this.onLoaded(name);
    }
    return backdrop;
  }
}
