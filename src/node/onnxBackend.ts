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
  /** One thread is as fast as two for these small models on two cores, and leaves a core for IO. */
  threads?: number;
}

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
        intraOpNumThreads: options.threads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
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
