/**
 * One runtime in a process of its own, for `npm run bench -- runtime` (bench/runtime.ts): the
 * WebAssembly thread count is fixed when onnxruntime-web starts, so every configuration needs a
 * fresh process. BACKDROP_RUNTIME picks the runtime; WASM_THREADS, when set, the thread count.
 * Jobs arrive over IPC so that the parent can alternate configurations round by round.
 */
import { join } from 'node:path';
import { builtinSpec } from '../src/core/modelSpec.js';
import type { InferenceSession } from '../src/core/runtime.js';
import { defaultNodeBackend, onnxWasmBackend } from '../src/node/onnxBackend.js';
import { builtinOnnx } from '../src/node/models.js';
import { createBackdrop } from '../src/node/facade.js';
import { cli } from '../test/helpers/cli.js';
import { median } from './table.js';

export type Job =
  | { job: 'infer'; model: 'general' | 'landscape'; runs: number }
  | { job: 'photo'; input: string; dir: string; runs: number }
  | { job: 'video'; clip: string; output: string };

export interface Reply {
  /** Wall ms per item (inference, photo or video frame). */
  wallMs: number;
  /** CPU ms (user + sys, every thread of this process, not ffmpeg's) per item. */
  cpuMs: number;
  /** Session creation (load + compile) the first time a model is used, for 'infer'. */
  loadMs?: number;
  backend?: string;
}

const threads = process.env.WASM_THREADS ? Number(process.env.WASM_THREADS) : undefined;
const backend = threads ? onnxWasmBackend({ threads }) : await defaultNodeBackend();
const sessions = new Map<string, { session: InferenceSession; loadMs: number }>();

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

async function infer(model: 'general' | 'landscape', runs: number): Promise<Reply> {
  let s = sessions.get(model);
  if (!s) {
    const t0 = performance.now();
    const session = await backend.createSession(await builtinOnnx(model));
    s = { session, loadMs: performance.now() - t0 };
    sessions.set(model, s);
    for (let i = 0; i < 5; i++) await run(s.session, model); // warm-up
  }
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) await run(s.session, model);
  return { wallMs: (performance.now() - t0) / runs, cpuMs: cpuMs(c0) / runs, loadMs: s.loadMs, backend: backend.name };
}

const inputs = new Map<string, Float32Array>();
function run(session: InferenceSession, model: 'general' | 'landscape') {
  const spec = builtinSpec(model);
  const dims = [1, spec.inputHeight, spec.inputWidth, 3];
  let input = inputs.get(model);
  if (!input) {
    input = new Float32Array(spec.inputHeight * spec.inputWidth * 3).map((_, i) => ((i * 7919) % 256) / 255);
    inputs.set(model, input);
  }
  return session.run(input, dims);
}

let photoBackdrop: Awaited<ReturnType<typeof createBackdrop>> | undefined;
async function photo(input: string, dir: string, runs: number): Promise<Reply> {
  photoBackdrop ??= await createBackdrop({ effect: { type: 'blur', strength: 50 }, backend });
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await photoBackdrop.processFile(input, join(dir, `out-${process.pid}.jpg`), { force: true });
    if (i === 0) continue; // warm-up
    walls.push(performance.now() - t0);
    cpus.push(cpuMs(c0));
  }
  return { wallMs: median(walls), cpuMs: median(cpus), backend: backend.name };
}

/** The command a newcomer types, `backdrop clip.mp4`, in-process (so its CPU time is this process's). */
async function video(clip: string, output: string): Promise<Reply> {
  const c0 = process.cpuUsage();
  const r = await cli(clip, '-o', output, '--force', '--json');
  if (r.code !== 0) throw new Error(`backdrop ${clip} failed: ${r.stderr}`);
  const file = (JSON.parse(r.stdout) as { files: { frames: number; ms: number }[] }).files[0];
  return { wallMs: file.ms / file.frames, cpuMs: cpuMs(c0) / file.frames, backend: backend.name };
}

process.on('message', (message: Job) => {
  const work = message.job === 'infer' ? infer(message.model, message.runs) : message.job === 'photo' ? photo(message.input, message.dir, message.runs) : video(message.clip, message.output);
  work.then(
    (reply) => process.send!({ ok: true, reply }),
    (err: unknown) => process.send!({ ok: false, error: String((err as Error).stack ?? err) }),
  );
});
process.send!({ ready: true });
