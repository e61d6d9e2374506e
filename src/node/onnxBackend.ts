/**
 * The inference runtime on Node: onnxruntime-node on the CPU by default; onnxruntime-web's
 * WebAssembly build when onnxruntime-node is not there.
 *
 * onnxruntime-node is an optional dependency. Its install script downloads CUDA libraries on
 * Linux x64 and fails without internet; npm then leaves the package out instead of failing the
 * whole install, so the package installs anywhere. What runs the model then is onnxruntime-web
 * (a dependency anyway, for browsers), several times slower per inference but the same model and
 * results. `defaultNodeBackend` picks; `onnxNodeBackend` insists on the native one.
 */
import type * as OrtNode from 'onnxruntime-node';
import type { InferenceBackend, InferenceSession } from '../core/runtime.js';

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

/** How to get the native runtime when it is missing. */
export const NATIVE_RUNTIME_HINT = 'ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node';

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
      if (ort instanceof Error) throw new Error(`onnxruntime-node cannot be loaded (${ort.message.split('\n')[0]}); install it with: ${NATIVE_RUNTIME_HINT}`);
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

/** onnxruntime-web's WebAssembly build (SIMD) running in Node: no native code at all. */
export function onnxWasmBackend(options: Pick<OnnxBackendOptions, 'threads'> = {}): InferenceBackend {
  return {
    name: 'onnxruntime-web wasm',
    async createSession(model: Uint8Array): Promise<InferenceSession> {
      // The same API as onnxruntime-node (both implement onnxruntime-common).
      const ort = (await import('onnxruntime-web')) as unknown as Ort;
      ort.env.wasm.numThreads = options.threads ?? 1;
      const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      return wrap(ort, session);
    },
  };
}

/**
 * onnxruntime-node on the CPU when it can be loaded, else onnxruntime-web's WebAssembly build;
 * `onFallback` is told why (once per call).
 */
export async function defaultNodeBackend(onFallback?: (message: string) => void): Promise<InferenceBackend> {
  const native = await loadNative();
  if (!(native instanceof Error)) return onnxNodeBackend();
  onFallback?.(`onnxruntime-node is not installed, so the model runs on onnxruntime-web (WebAssembly), several times slower; for the native runtime: ${NATIVE_RUNTIME_HINT}`);
  return onnxWasmBackend();
}
