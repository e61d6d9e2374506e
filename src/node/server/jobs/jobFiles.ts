/** What a job leaves in its folder, and what is removed when: shared by the embedded queue, the scale-out API and workers. */
import { readdir, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { TaskFailed } from '../pool/workerPool.js';
import type { JobRecord } from './types.js';

/** Removes whatever an unfinished run left in a job's folder (temporary outputs, a partial result). */
export async function cleanOutputs(dir: string, job: JobRecord): Promise<void> {
  const keep = new Set(['job.json', 'job.json.tmp', job.work.input, job.work.background]);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!keep.has(name)) await rm(join(dir, name), { recursive: true, force: true });
  }
}

/** The file segment `index` of a split video is written to, beside the job's files: `segment-<index>.<the output's extension>`. */
export function segmentName(job: JobRecord, index: number): string {
  return `segment-${index}${extname(job.work.output)}`;
}

/** The segment a file name is, for this job (strictly: one of its segments' names, nothing else), or undefined. */
export function segmentIndexOf(job: JobRecord, name: string): number | undefined {
  const m = /^segment-(0|[1-9]\d{0,4})(\.[a-z0-9]{2,4})$/.exec(name);
  if (!m || m[2] !== extname(job.work.output)) return undefined;
  const index = Number(m[1]);
  return job.segments && index < job.segments.length ? index : undefined;
}

/** Removes a file and what unfinished writes of it left (`.<name>.backdrop-<pid>-<hex>.tmp`, safeWrite's temporary names). */
export async function removeWithLeftovers(dir: string, name: string): Promise<void> {
  const partial = `.${name}.backdrop-`;
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (entry === name || (entry.startsWith(partial) && entry.endsWith('.tmp'))) await rm(join(dir, entry), { force: true });
  }
}

/** A split video's segment files (and their leftovers), once joined or given up. */
export async function removeSegments(dir: string, job: JobRecord): Promise<void> {
  for (let i = 0; i < (job.segments?.length ?? 0); i++) await removeWithLeftovers(dir, segmentName(job, i));
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
  else await removeSegments(dir, job);
}
