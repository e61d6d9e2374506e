/**
 * The worker thread behind onnxWasmBackend (onnxBackend.ts, through wasmThread.ts). onnxruntime-web runs a model
 * synchronously on the thread that calls it; on Node's main thread that stalls the event loop for
 * the whole inference, so the pipes to ffmpeg stop flowing and a video waits on every frame.
 * Here the main thread stays free, as with onnxruntime-node (which runs inference off it too).
 *
 * Messages in: `create` (an ONNX model; the first one also fixes the thread count), `run`,
 * `release`. Out: `done` with the session id or the output tensor (its buffer transferred), or
 * `failed` with the error's message.
 */
import { parentPort } from 'node:worker_threads';
import type * as OrtWeb from 'onnxruntime-web';

export type ToWasmWorker =
  | { type: 'create'; id: number; model: Uint8Array; threads: number }
  | { type: 'run'; id: number; session: number; input: Float32Array; dims: number[] }
  | { type: 'release'; id: number; session: number };

export type FromWasmWorker = { type: 'done'; id: number; session?: number; output?: Float32Array } | { type: 'failed'; id: number; message: string };

let ort: typeof OrtWeb | undefined;
const sessions = new Map<number, OrtWeb.InferenceSession>();
let nextSession = 1;

async function handle(message: ToWasmWorker): Promise<Extract<FromWasmWorker, { type: 'done' }>> {
  if (message.type === 'create') {
    if (!ort) {
      ort = await import('onnxruntime-web');
      ort.env.wasm.numThreads = message.threads;
    }
    const session = await ort.InferenceSession.create(message.model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const id = nextSession++;
    sessions.set(id, session);
    return { type: 'done', id: message.id, session: id };
  }
  const session = sessions.get(message.session);
  if (!session) throw new Error('the inference session was released');
  if (message.type === 'release') {
    sessions.delete(message.session);
    await session.release();
    return { type: 'done', id: message.id };
  }
  const result = await session.run({ [session.inputNames[0]]: new ort!.Tensor('float32', message.input, message.dims) });
  const data = result[session.outputNames[0]].data as Float32Array;
  // Transferred to the main thread: it must own its whole buffer.
  const output = data.byteOffset === 0 && data.buffer.byteLength === data.byteLength ? data : data.slice();
  return { type: 'done', id: message.id, output };
}

parentPort!.on('message', (message: ToWasmWorker) => {
  handle(message).then(
    (reply) => parentPort!.postMessage(reply, reply.output ? [reply.output.buffer as ArrayBuffer] : []),
    (err: unknown) => parentPort!.postMessage({ type: 'failed', id: message.id, message: err instanceof Error ? err.message : String(err) } satisfies FromWasmWorker),
  );
});
