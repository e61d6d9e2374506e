/**
 * A live recording stopped by a signal from a script, or by Ctrl-C in a terminal (SIGINT to the
 * whole process group, ffmpeg included), is finished and kept, and the command exits with the
 * signal's status. Runs the built command (`npm run build` first).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempFileBytes, until } from '../helpers/processes.js';
import { makeTempDir, probeStreams } from '../helpers/videos.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  if (!existsSync('dist/node/cli.js')) throw new Error('dist/node/cli.js is missing: run `npm run build` first');
  ({ dir, cleanup } = await makeTempDir());
});
afterAll(() => cleanup());

/** Record a synthetic camera to `out`; once frames are being written, send `signal` (to the process group with `group`). */
async function recordThenSignal(out: string, signal: NodeJS.Signals, group: boolean) {
  const child = spawn(process.execPath, ['dist/node/cli.js', 'lavfi:testsrc2=size=320x240:rate=25', '-o', out, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], detached: group });
  let stdout = '';
  let stderr = '';
  let running = true;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => ((running = false), resolve(code))));
  try {
    // Frames are being recorded: ffmpeg has flushed more than the MP4 header (it writes 32 kB at a time).
    await until(async () => !running || (await tempFileBytes(out)) > 1000);
    expect(running, stderr).toBe(true);
    if (group) process.kill(-child.pid!, signal);
    else child.kill(signal);
    const code = await exited;
    return { code, stdout, stderr };
  } finally {
    if (running) process.kill(group ? -child.pid! : child.pid!, 'SIGKILL');
  }
}

async function expectKept(out: string, run: { stdout: string; stderr: string }): Promise<void> {
  const summary = JSON.parse(run.stdout) as { stoppedBy: string; seconds: number; frames: number; outputs: { output: string }[] };
  expect(summary.stoppedBy).toBe('signal');
  expect(summary.outputs.map((o) => o.output)).toEqual([out]);
  const [v] = await probeStreams(out);
  // A finished file, as long as the session was.
  expect(v.duration!).toBeGreaterThan(0.3);
  expect(Math.abs(v.duration! - summary.seconds), `recording ${v.duration} s, session ${run.stdout}, stderr ${run.stderr.slice(-2000)}`).toBeLessThan(0.3);
  expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
}

it('SIGTERM from a script finishes and keeps the recording, and exits 143', async () => {
  const out = join(dir, 'term.mp4');
  const run = await recordThenSignal(out, 'SIGTERM', false);
  expect(run.code, run.stderr).toBe(143);
  await expectKept(out, run);
});

it('SIGINT from a script finishes and keeps the recording, and exits 130', async () => {
  const out = join(dir, 'int.mp4');
  const run = await recordThenSignal(out, 'SIGINT', false);
  expect(run.code, run.stderr).toBe(130);
  await expectKept(out, run);
});

it("Ctrl-C in a terminal (SIGINT to the whole process group, ffmpeg too) keeps the recording", async () => {
  const out = join(dir, 'group.mp4');
  const run = await recordThenSignal(out, 'SIGINT', true);
  expect(run.code, run.stderr).toBe(130);
  await expectKept(out, run);
});
