/** The inference runtime on Node: onnxruntime-node, CPU by default. */
import * as ort from 'onnxruntime-node';
import type { InferenceBackend, InferenceSession } from '../core/runtime.js';

export interface OnnxBackendOptions {
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']; CPU is always the fallback. */
  executionProviders?: string[];
  /** One thread is as fast as two for these small models on two cores, and leaves a core for IO. */
  threads?: number;
}

let created = 0;

/** How many inference sessions this process has created (a batch should load its model once). */
export function sessionsCreated(): number {
  return created;
}

export function onnxNodeBackend(options: OnnxBackendOptions = {}): InferenceBackend {
  const providers = options.executionProviders ?? ['cpu'];
  return {
    name: `onnxruntime-node ${providers.join('+')}`,
    async createSession(model: Uint8Array): Promise<InferenceSession> {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: providers.includes('cpu') ? providers : [...providers, 'cpu'],
        intraOpNumThreads: options.threads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
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
    },
  };
}
