/**
 * The inference runtime on Node: onnxruntime-node on the CPU by default; onnxruntime-web's
 * WebAssembly build when onnxruntime-node is not there.
 *
 * onnxruntime-node is an optional dependency. Its install script downloads CUDA libraries on
 * Linux x64 and fails without internet; npm then leaves the package out instead of failing the
 * whole install, so the package installs anywhere. What runs the model then is onnxruntime-web
 * (a dependency anyway, for browsers): the same model and results, slower per inference
 * (`npm run bench -- runtime` measures by how much). `defaultNodeBackend` picks (or obeys
 * BACKDROP_RUNTIME); `onnxNodeBackend` insists on the native one; `backdrop doctor` reports which
 * one runs and how to get the native one.
 */
import type * as OrtNode from 'onnxruntime-node';
import { availableParallelism } from 'node:os';
import type { InferenceBackend, InferenceSession } from '../core/runtime.js';
import { nativeRuntimeFix } from './nativeRuntimeFix.js';
import { createWasmSession } from './wasmThread.js';

type Ort = typeof OrtNode;

export interface OnnxBackendOptions {
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']; CPU is always the fallback. */
  executionProviders?: string[];
  /** Intra-op threads (default 1: see INTRA_OP_THREADS). */
  threads?: number;
  /**
   * Whether onnxruntime's intra-op worker threads spin while waiting for work (its own default,
   * true) or sleep; only matters with more than one thread.
   */
  spinning?: boolean;
}

/**
 * onnxruntime's intra-op threads for the selfie models: one. `npm run bench -- node threads`
 * (2 cores shared with other work, load average 13–15; CPU = user+sys of the process, per inference):
 *
 * | model, input        | 1 thread       | 2, spinning    | 2, no spinning |
 * |---------------------|----------------|----------------|----------------|
 * | general 256×256     | 5.7, 6.2 ms    | 7.3, 6.8 ms    | 7.4, 7.3 ms    |
 * | landscape 256×144   | 4.2, 3.2 ms    | 4.3, 3.3 ms    | 4.4, 4.0 ms    |
 *
 * (two runs each). A second thread never saved CPU and cost up to 28 % more; the wall times
 * (7–23 ms) followed the machine's load, not the setting. A video frame's budget is CPU shared with
 * two ffmpegs, and a camera's frame has a core to itself, so one thread: no spinning to turn off.
 */
export const INTRA_OP_THREADS = 1;

/** The environment variable that chooses the runtime: `native`, `wasm`, or `auto` (the default). */
export const RUNTIME_ENV = 'BACKDROP_RUNTIME';
export type RuntimeChoice = 'auto' | 'native' | 'wasm';

/** What BACKDROP_RUNTIME asks for; an unknown value is an error that lists the known ones. */
export function runtimeChoice(env: NodeJS.ProcessEnv = process.env): RuntimeChoice {
  const value = (env[RUNTIME_ENV] ?? '').trim().toLowerCase();
  if (value === '' || value === 'auto') return 'auto';
  if (value === 'native' || value === 'wasm') return value;
  throw new Error(`${RUNTIME_ENV}=${env[RUNTIME_ENV]}: use native (onnxruntime-node), wasm (onnxruntime-web) or auto`);
}

/** How much slower the WebAssembly runtime is than the native one (`npm run bench -- runtime`). */
export const WASM_SLOWDOWN = 'about 4× slower per inference';

let created = 0;

/** How many inference sessions this process has created (a batch should load its model once). */
export function sessionsCreated(): number {
  return created;
}

let nativeRuntime: Promise<Ort | Error> | undefined;

/** onnxruntime-node, or why it cannot be loaded (not installed; no binary for this platform). */
function loadNative(): Promise<Ort | Error> {
  nativeRuntime ??= import('onnxruntime-node').then(
    (ort) => ort as Ort,
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
  return nativeRuntime;
}

export type NativeRuntimeStatus = { ok: true; version: string } | { ok: false; installed: boolean; reason: string };

/** Whether onnxruntime-node can be loaded here: its version, or why not (and whether it is installed at all). */
export async function nativeRuntimeStatus(): Promise<NativeRuntimeStatus> {
  const ort = await loadNative();
  if (!(ort instanceof Error)) return { ok: true, version: ort.env.versions.node ?? ort.env.versions.common };
  const installed = (ort as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND';
  return { ok: false, installed, reason: installed ? ort.message.split('\n')[0] : 'onnxruntime-node is not installed' };
}

function wrap(ort: Pick<Ort, 'Tensor'>, session: OrtNode.InferenceSession): InferenceSession {
  created++;
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  return {
    async run(input, dims) {
      const result = await session.run({ [inputName]: new ort.Tensor('float32', input, dims) });
      return result[outputName].data as Float32Array;
    },
    release: () => session.release(),
  };
}

/** onnxruntime-node (native). Creating a session fails with a clear message when it is not installed. */
export function onnxNodeBackend(options: OnnxBackendOptions = {}): InferenceBackend {
  const providers = options.executionProviders ?? ['cpu'];
  return {
    name: `onnxruntime-node ${providers.join('+')}`,
    async createSession(model: Uint8Array): Promise<InferenceSession> {
      const ort = await loadNative();
      if (ort instanceof Error) throw new Error(`onnxruntime-node cannot be loaded (${ort.message.split('\n')[0]}); install it with: ${nativeRuntimeFix()}`);
      const session = await ort.InferenceSession.create(model, {
        executionProviders: providers.includes('cpu') ? providers : [...providers, 'cpu'],
        intraOpNumThreads: options.threads ?? INTRA_OP_THREADS,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
      });
      return wrap(ort, session);
    },
  };
}

/**
 * WebAssembly threads by default: 2 on 4 or more cores, else 1 (as in the browser). On 2 cores a
 * second thread cut the general model's wall time in one quiet moment (12–16 against 18–23 ms) at
 * twice the CPU, and made it slower in every `npm run bench -- runtime` with the cores busy (as
 * they are with ffmpeg encoding beside it).
 */
export function defaultWasmThreads(cores = availableParallelism()): number {
  return cores >= 4 ? 2 : 1;
}

/** The thread count onnxruntime-web was started with: it reads env.wasm.numThreads once, at its first session. */
let wasmThreads: number | undefined;

/**
 * onnxruntime-web's WebAssembly build running in Node: no native code at all. In Node it loads
 * ort-wasm-simd-threaded.wasm, the only build without WebGPU/JSPI glue (SIMD is always on; Node
 * needs no cross-origin isolation for its threads). It runs in a worker thread (wasmThread.ts):
 * on the main thread each inference would block the event loop, and with it the pipes to ffmpeg.
 * The first session fixes the thread count for the process.
 */
export function onnxWasmBackend(options: Pick<OnnxBackendOptions, 'threads'> = {}): InferenceBackend {
  const threads = () => wasmThreads ?? options.threads ?? defaultWasmThreads();
  return {
    get name() {
      return `onnxruntime-web wasm (SIMD, ${threads()} thread${threads() > 1 ? 's' : ''})`;
    },
    async createSession(model: Uint8Array): Promise<InferenceSession> {
      const session = await createWasmSession(model, (wasmThreads ??= threads()));
      created++;
      return session;
    },
  };
}

/** Why onnxruntime-node is not the runtime, in a few words. */
export function fallbackReason(native: Extract<NativeRuntimeStatus, { ok: false }>): string {
  return native.installed ? `onnxruntime-node cannot be loaded (${native.reason})` : 'onnxruntime-node is not installed';
}

/** Why the WebAssembly runtime runs, when it is not the user's own choice: for warnings and `backdrop doctor`. */
export function fallbackMessage(reason: string): string {
  return `${reason}, so the model runs on onnxruntime-web (WebAssembly), ${WASM_SLOWDOWN}. For the native runtime: ${nativeRuntimeFix()} (\`npx backdrop doctor\` checks everything backdrop needs)`;
}

/**
 * The runtime BACKDROP_RUNTIME asks for; by default onnxruntime-node on the CPU when it can be
 * loaded, else onnxruntime-web's WebAssembly build, and then `onFallback` is told why and what
 * gets the native runtime (once per call).
 */
export async function defaultNodeBackend(onFallback?: (message: string) => void): Promise<InferenceBackend> {
  const choice = runtimeChoice();
  if (choice === 'wasm') return onnxWasmBackend();
  if (choice === 'native') return onnxNodeBackend();
  const native = await nativeRuntimeStatus();
  if (native.ok) return onnxNodeBackend();
  onFallback?.(fallbackMessage(fallbackReason(native)));
  return onnxWasmBackend();
}
