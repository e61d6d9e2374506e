/**
 * Where the models come from on Node: the MediaPipe selfie .tflite files inside the npm package
 * @mediapipe/selfie_segmentation, converted to ONNX in memory once per process; or a user's .onnx.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { builtinSpec, type BuiltinModel, type ModelSpec } from '../core/modelSpec.js';
import { tfliteToOnnx } from '../core/tflite/toOnnx.js';

const require = createRequire(import.meta.url);

const FILES: Record<BuiltinModel, string> = {
  general: 'selfie_segmentation.tflite',
  landscape: 'selfie_segmentation_landscape.tflite',
};

export function builtinModelPath(model: BuiltinModel): string {
  return join(dirname(require.resolve('@mediapipe/selfie_segmentation/package.json')), FILES[model]);
}

const converted = new Map<BuiltinModel, Promise<Uint8Array>>();

/** The built-in model as ONNX bytes, converted on first use and cached for the process. */
export function builtinOnnx(model: BuiltinModel): Promise<Uint8Array> {
  let bytes = converted.get(model);
  if (!bytes) {
    bytes = readFile(builtinModelPath(model)).then((tflite) => tfliteToOnnx(tflite).bytes);
    converted.set(model, bytes);
  }
  return bytes;
}

export interface LoadedModel {
  onnx: Uint8Array;
  spec: ModelSpec;
}

export async function loadBuiltinModel(model: BuiltinModel): Promise<LoadedModel> {
  return { onnx: await builtinOnnx(model), spec: builtinSpec(model) };
}
