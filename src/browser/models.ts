/// <reference lib="dom" />
/**
 * Where the models come from in the browser: the MediaPipe selfie .tflite files, served by the
 * bundler from the npm package (or any URL the app gives), fetched once and converted to ONNX in
 * the page by the core converter. A user's own .onnx model is fetched as it is.
 */
import { builtinSpec, validateSpec, type BuiltinModel, type ModelSpec } from '../core/modelSpec.js';
import { Segmenter } from '../core/segmenter.js';
import type { InferenceBackend } from '../core/runtime.js';
import { tfliteToOnnx } from '../core/tflite/toOnnx.js';

export interface LoadedModel {
  onnx: Uint8Array;
  spec: ModelSpec;
}

/** A built-in model by name, or any model by URL with its spec (`.tflite` is converted, anything else is taken as ONNX). */
export type ModelSource = BuiltinModel | { url: string; spec: ModelSpec };

const cache = new Map<string, Promise<Uint8Array>>();

async function fetchBytes(url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch the model from ${url}: ${(e as Error).message}`);
  }
  if (!response.ok) throw new Error(`could not fetch the model from ${url}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

function isTflite(url: string): boolean {
  return /\.tflite(?:[?#]|$)/i.test(url);
}

/** Fetches (once per URL and page) and, for .tflite, converts the model to ONNX bytes. */
export function modelBytes(url: string): Promise<Uint8Array> {
  let bytes = cache.get(url);
  if (!bytes) {
    bytes = fetchBytes(url).then((raw) => (isTflite(url) ? tfliteToOnnx(raw).bytes : raw));
    bytes.catch(() => cache.delete(url));
    cache.set(url, bytes);
  }
  return bytes;
}

export async function loadModel(source: ModelSource): Promise<LoadedModel> {
  if (typeof source === 'string') {
    if (source !== 'general' && source !== 'landscape') {
      throw new RangeError(`model must be "general", "landscape" or { url, spec }, got ${JSON.stringify(source)}`);
    }
    const { builtinModelUrls } = await import('./assets.js');
    return { onnx: await modelBytes(builtinModelUrls[source]), spec: builtinSpec(source) };
  }
  return { onnx: await modelBytes(source.url), spec: validateSpec(source.spec) };
}

/** A core Segmenter for the model on the backend. */
export async function createSegmenter(backend: InferenceBackend, source: ModelSource): Promise<Segmenter> {
  const { onnx, spec } = await loadModel(source);
  return Segmenter.create(backend, onnx, spec);
}
