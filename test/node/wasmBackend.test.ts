/**
 * The WebAssembly runtime in Node (what runs when npm dropped onnxruntime-node): the same masks as
 * the native runtime, and inference off the main thread, so that the event loop (and with it the
 * pipes to ffmpeg) keeps going while the model runs, as it does with onnxruntime-node.
 */
import { expect, it } from 'vitest';
import { builtinSpec } from '../../src/core/modelSpec.js';
import { builtinOnnx } from '../../src/node/models.js';
import { onnxNodeBackend, onnxWasmBackend } from '../../src/node/onnxBackend.js';

const spec = builtinSpec('general');
const dims = [1, spec.inputHeight, spec.inputWidth, 3];
/** A smooth picture-like input (a gradient with a bright disc), not noise. */
const input = new Float32Array(spec.inputHeight * spec.inputWidth * 3).map((_, i) => {
  const p = Math.floor(i / 3);
  const x = p % spec.inputWidth;
  const y = Math.floor(p / spec.inputWidth);
  return Math.hypot(x - 128, y - 110) < 60 ? 0.9 : (x + y) / 1024;
});

it('gives the native runtime’s output and leaves the event loop running while the model runs', async () => {
  const model = await builtinOnnx('general');
  const native = await onnxNodeBackend().createSession(model);
  const wasm = await onnxWasmBackend().createSession(model);
  try {
    const expected = await native.run(input, dims);
    const copy = input.slice();
    let ticks = 0;
    let running = true;
    const spin = () => {
      ticks++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const outputs: Float32Array[] = [];
    for (let i = 0; i < 5; i++) outputs.push(await wasm.run(input, dims));
    running = false;
    // Blocking the thread, five inferences leave the loop a handful of turns (their own awaits);
    // off the thread, it turns freely the whole time (thousands of turns at any machine's speed).
    expect(ticks).toBeGreaterThan(200);
    expect(input).toEqual(copy); // the caller's buffer is neither detached nor changed
    for (const out of outputs) {
      expect(out.length).toBe(expected.length);
      let maxDiff = 0;
      for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - expected[i]));
      expect(maxDiff).toBeLessThan(1e-3);
    }
  } finally {
    await native.release();
    await wasm.release();
  }
});
