/// <reference lib="dom" />
/**
 * The inference runtime in the browser: onnxruntime-web. WASM SIMD on the CPU by default (two
 * threads when the page is cross-origin isolated, else one); WebGPU when asked for and the browser
 * has an adapter, falling back to WASM when WebGPU is missing or the session cannot be created.
 *
 * onnxruntime-web keeps one WebAssembly instance per page, set up by the first session: the thread
 * count and file locations of the first backend created win; `numThreads` on the returned backend
 * says what is really in use.
 */
import type * as OrtTypes from 'onnxruntime-web';
import type { InferenceBackend, InferenceSession } from '../core/runtime.js';

type Ort = typeof OrtTypes;
type WasmPaths = OrtTypes.Env.WasmPrefixOrFilePaths;

export type ExecutionProvider = 'wasm' | 'webgpu';

export interface OrtWebBackendOptions {
  /**
   * 'wasm' (default): the CPU. 'webgpu': the GPU through WebGPU when `navigator.gpu` gives an
   * adapter, else the CPU. On machines without a real GPU (SwiftShader) WebGPU is much slower.
   */
  executionProvider?: ExecutionProvider;
  /**
   * WASM threads. Default {@link defaultThreadCount}: 2 when the page is cross-origin isolated
   * (threads need SharedArrayBuffer) and there are at least 4 cores, else 1. Forced to 1 when the
   * page is not isolated.
   */
  numThreads?: number;
  /** Run inference in a worker so the page's thread stays free. Default false. */
  proxy?: boolean;
  /**
   * Where onnxruntime-web's .wasm/.mjs files are served. Default: the files inside the npm package,
   * served by the bundler (see assets.ts) — never a CDN.
   */
  wasmPaths?: WasmPaths;
  /** Same for the WebGPU build (asyncify .wasm/.mjs). */
  webgpuWasmPaths?: WasmPaths;
}

export interface OrtWebBackend extends InferenceBackend {
  /** What sessions really run on after feature detection and fallback. */
  readonly executionProvider: ExecutionProvider;
  /** WASM threads in use (1 when the page is not cross-origin isolated). */
  readonly numThreads: number;
  /** True when inference runs outside the page's main thread (proxy worker or GPU). */
  readonly offMainThread: boolean;
  /** Why WebGPU was not used when it was asked for. */
  readonly fallbackReason?: string;
}

/**
 * Two threads when SharedArrayBuffer is usable (the page is cross-origin isolated) and the machine
 * has at least 4 logical cores; else one. On 2 cores the second inference thread competes with the
 * compositor (and, with software GL, with the GPU process): measured at 640×360 blur in headless
 * Chromium on 2 cores, 2 threads gave fewer frames per second than 1, both in and out of a worker.
 */
export function defaultThreadCount(): number {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const cores = globalThis.navigator?.hardwareConcurrency ?? 2;
  return isolated && cores >= 4 ? 2 : 1;
}

interface Runtime {
  ort: Ort;
  numThreads: number;
  proxy: boolean;
}

let wasmRuntime: Promise<Runtime> | undefined;
let webgpuRuntime: Promise<Runtime> | undefined;

async function defaultPaths(kind: ExecutionProvider): Promise<WasmPaths> {
  const assets = await import('./assets.js');
  return kind === 'wasm' ? assets.ortWasmPaths : assets.ortWebGpuWasmPaths;
}

function configure(ort: Ort, paths: WasmPaths, numThreads: number, proxy: boolean): Runtime {
  ort.env.wasm.wasmPaths = paths;
  ort.env.wasm.numThreads = numThreads;
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = proxy;
  ort.env.logLevel = 'error';
  return { ort, numThreads, proxy };
}

function loadWasmRuntime(options: OrtWebBackendOptions, numThreads: number): Promise<Runtime> {
  wasmRuntime ??= (async () => {
    const ort = (await import('onnxruntime-web/wasm')) as Ort;
    return configure(ort, options.wasmPaths ?? (await defaultPaths('wasm')), numThreads, options.proxy ?? false);
  })();
  return wasmRuntime;
}

function loadWebGpuRuntime(options: OrtWebBackendOptions, numThreads: number): Promise<Runtime> {
  webgpuRuntime ??= (async () => {
    const ort = (await import('onnxruntime-web/webgpu')) as Ort;
    return configure(ort, options.webgpuWasmPaths ?? (await defaultPaths('webgpu')), numThreads, false);
  })();
  return webgpuRuntime;
}

/** Resolves to why WebGPU cannot be used here, or undefined when an adapter is available. */
async function webgpuUnavailable(): Promise<string | undefined> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
  if (!gpu) return 'this browser has no WebGPU (navigator.gpu is missing)';
  try {
    return (await gpu.requestAdapter()) ? undefined : 'WebGPU gave no adapter';
  } catch (e) {
    return `WebGPU adapter request failed: ${(e as Error).message}`;
  }
}

function wrapSession(ort: Ort, session: OrtTypes.InferenceSession, proxy: boolean): InferenceSession {
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  return {
    async run(input, dims) {
      // The proxy worker takes the input's buffer (transfers it), so it gets a copy: the caller reuses its buffer.
      const feeds = { [inputName]: new ort.Tensor('float32', proxy ? input.slice() : input, dims) };
      const result = await session.run(feeds);
      const output = result[outputName];
      const data = output.data as Float32Array;
      return data;
    },
    release: () => session.release(),
  };
}

/**
 * Creates the onnxruntime-web backend. WebGPU is probed here (not on first use), so the returned
 * backend already says which provider it will use.
 */
export async function ortWebBackend(options: OrtWebBackendOptions = {}): Promise<OrtWebBackend> {
  const requested = options.executionProvider ?? 'wasm';
  if (requested !== 'wasm' && requested !== 'webgpu') {
    throw new RangeError(`executionProvider must be "wasm" or "webgpu", got ${JSON.stringify(requested)}`);
  }
  let numThreads = options.numThreads ?? defaultThreadCount();
  if (!Number.isInteger(numThreads) || numThreads < 1) throw new RangeError(`numThreads must be a positive integer, got ${numThreads}`);
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== true) numThreads = 1;

  let fallbackReason: string | undefined;
  if (requested === 'webgpu') {
    fallbackReason = await webgpuUnavailable();
    if (!fallbackReason) {
      try {
        const runtime = await loadWebGpuRuntime(options, numThreads);
        return makeBackend(runtime, 'webgpu', undefined, options);
      } catch (e) {
        fallbackReason = `WebGPU runtime failed to load: ${(e as Error).message}`;
      }
    }
  }
  const runtime = await loadWasmRuntime(options, numThreads);
  return makeBackend(runtime, 'wasm', fallbackReason, options);
}

function makeBackend(runtime: Runtime, provider: ExecutionProvider, fallbackReason: string | undefined, options: OrtWebBackendOptions): OrtWebBackend {
  const { ort } = runtime;
  const backend: OrtWebBackend = {
    name: provider === 'wasm' ? `onnxruntime-web wasm ×${runtime.numThreads}${runtime.proxy ? ' (worker)' : ''}` : 'onnxruntime-web webgpu',
    executionProvider: provider,
    numThreads: runtime.numThreads,
    offMainThread: provider === 'webgpu' || runtime.proxy,
    fallbackReason,
    async createSession(model: Uint8Array): Promise<InferenceSession> {
      if (provider === 'webgpu') {
        try {
          const session = await ort.InferenceSession.create(model, {
            executionProviders: ['webgpu', 'wasm'],
            graphOptimizationLevel: 'all',
          });
          return wrapSession(ort, session, false);
        } catch (e) {
          // A driver or op problem: fall back to the CPU for this session.
          const wasm = await ortWebBackend({ ...options, executionProvider: 'wasm', numThreads: runtime.numThreads });
          console.warn(`backdrop: WebGPU session failed (${(e as Error).message}); using WASM`);
          return wasm.createSession(model);
        }
      }
      // The proxy worker takes the model's buffer too: give it a copy, the caller may reuse the bytes.
      const session = await ort.InferenceSession.create(runtime.proxy ? model.slice() : model, {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
      });
      return wrapSession(ort, session, runtime.proxy);
    },
  };
  return backend;
}
