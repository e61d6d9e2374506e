/**
 * A worker thread of the server's pool: loads the model, then runs one task at a time as the main
 * thread sends them, reporting progress; a `cancel` aborts the running video (ffmpeg stopped, the
 * unfinished output removed by the video module).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ImageInputError } from '../../imageIO.js';
import { VideoInputError } from '../../video/probe.js';
import type { CliOptions } from '../../options/cliOptions.js';
import type { FromWorker, TaskError, ToWorker } from './messages.js';
import { TaskRunner } from './runTask.js';

const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);
const { warmOptions } = workerData as { warmOptions: CliOptions };

const runner = await TaskRunner.create(
  (message) => post({ type: 'warning', message }),
  (model) => post({ type: 'loaded', model }),
);
const running = new Map<number, AbortController>();

port.on('message', (m: ToWorker) => {
  if (m.type === 'cancel') {
    running.get(m.taskId)?.abort(new Error('canceled'));
    return;
  }
  const controller = new AbortController();
  running.set(m.taskId, controller);
  runner
    .run(m.task, controller.signal, (done, total) => post({ type: 'progress', taskId: m.taskId, done, total }))
    .then(
      (result) => post({ type: 'done', taskId: m.taskId, ...result }),
      (err: unknown) => post({ type: 'failed', taskId: m.taskId, error: describe(err, controller.signal.aborted) }),
    )
    .finally(() => running.delete(m.taskId));
});

await runner.warm(warmOptions);
post({ type: 'ready' });

function describe(err: unknown, aborted: boolean): TaskError {
  if (aborted) return { name: 'Canceled', message: 'canceled' };
  const e = err instanceof Error ? err : new Error(String(err));
  const code = e instanceof ImageInputError || e instanceof VideoInputError ? e.code : undefined;
  return { name: e.constructor.name, code, message: e.message };
}
