/** What a job leaves in its folder, and what is removed when: shared by the embedded queue, the scale-out API and workers. */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TaskFailed } from '../pool/workerPool.js';
import type { JobRecord } from './types.js';

/** Removes whatever an unfinished run left in a job's folder (temporary outputs, a partial result). */
export async function cleanOutputs(dir: string, job: JobRecord): Promise<void> {
  const keep = new Set(['job.json', 'job.json.tmp', job.work.input, job.work.background]);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!keep.has(name)) await rm(join(dir, name), { recursive: true, force: true });
  }
}

/** A failure's reason for the job JSON, without the server's own paths. */
export function reasonOf(err: unknown, dir: string): string {
  const message = err instanceof TaskFailed || err instanceof Error ? err.message : String(err);
  return message.split(dir + '/').join('').split(dir).join('');
}

/** A finished job needs its input no more; the output stays (until the retention time) only when it succeeded. */
export async function removeSpentFiles(dir: string, job: JobRecord): Promise<void> {
  await rm(join(dir, job.work.input), { force: true });
  if (job.work.background) await rm(join(dir, job.work.background), { force: true });
  if (job.status !== 'succeeded') await cleanOutputs(dir, job);
}
