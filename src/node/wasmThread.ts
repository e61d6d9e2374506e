/**
 * The main thread's side of wasmWorker.ts: one worker thread per process hosts onnxruntime-web,
 * and every session and inference is a request to it. The worker is unreferenced while no
 * request is pending, so it never keeps a finished process alive.
 */
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from '../core/runtime.js';
import type { FromWasmWorker, ToWasmWorker } from './wasmWorker.js';

type Request = ToWasmWorker extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, { resolve: (reply: FromWasmWorker & { type: 'done' }) => void; reject: (err: Error) => void }>();

function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./wasmWorker.js', here));
  // From the TypeScript sources (tsx, vitest): Node 20 gives a Worker no module loader from
  // execArgv, so a small module registers tsx's loader in the worker, then loads the worker.
  const code = `(await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})).register();\nawait import(${JSON.stringify(new URL('./wasmWorker.ts', here).href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
}

function theWorker(): Worker {
  if (worker) return worker;
  const w = startWorker();
  w.on('message', (reply: FromWasmWorker) => {
    const request = pending.get(reply.id);
    pending.delete(reply.id);
    if (pending.size === 0) w.unref();
    if (reply.type === 'done') request?.resolve(reply);
    else request?.reject(new Error(reply.message));
  });
  const fail = (err: Error) => {
    worker = undefined;
    for (const request of pending.values()) request.reject(err);
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the WebAssembly runtime's worker thread exited (${code})`)));
  worker = w;
  return w;
}

function ask(request: Request, transfer: ArrayBuffer[] = []): Promise<FromWasmWorker & { type: 'done' }> {
  const w = theWorker();
  const id = nextId++;
  w.ref();
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ ...request, id }, transfer);
  });
}

/** A session of `model` on onnxruntime-web in the worker thread (the first session fixes the thread count). */
export async function createWasmSession(model: Uint8Array, threads: number): Promise<InferenceSession> {
  const { session } = await ask({ type: 'create', model, threads });
  return {
    // The input is copied (structured clone): callers may reuse their buffer.
    run: async (input, dims) => (await ask({ type: 'run', session: session!, input, dims: [...dims] })).output!,
    release: async () => {
      await ask({ type: 'release', session: session! });
    },
  };
}
