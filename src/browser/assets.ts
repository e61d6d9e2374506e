/// <reference lib="dom" />
/**
 * The files the browser runtime fetches, as URLs a bundler serves locally: the MediaPipe selfie
 * models from the npm package and onnxruntime-web's WebAssembly binaries. This is the only module
 * that relies on Vite's `?url` imports; with another bundler, pass the URLs yourself
 * (`ortWebBackend({ wasmPaths })`, `loadModel({ url })`) and leave this module out.
 */
import generalModelUrl from '@mediapipe/selfie_segmentation/selfie_segmentation.tflite?url';
import landscapeModelUrl from '@mediapipe/selfie_segmentation/selfie_segmentation_landscape.tflite?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import ortWasmMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import ortWebGpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortWebGpuMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import type { BuiltinModel } from '../core/modelSpec.js';

/** Where each built-in .tflite model is served from. */
export const builtinModelUrls: Readonly<Record<BuiltinModel, string>> = {
  general: generalModelUrl,
  landscape: landscapeModelUrl,
};

/** onnxruntime-web's CPU (WASM SIMD, threads-capable) runtime: the binary and its loader. */
export const ortWasmPaths = { wasm: ortWasmUrl, mjs: ortWasmMjsUrl } as const;

/** The WebGPU build (asyncify), loaded only when WebGPU is asked for and available. */
export const ortWebGpuWasmPaths = { wasm: ortWebGpuWasmUrl, mjs: ortWebGpuMjsUrl } as const;
