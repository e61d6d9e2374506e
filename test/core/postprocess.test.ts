/** tensorToMask: the model's output as a mask, with the "nothing here" values the models give flushed to 0. */
import { describe, expect, it } from 'vitest';
import { createMask } from '../../src/core/frame.js';
import type { ModelSpec } from '../../src/core/modelSpec.js';
import { tensorToMask } from '../../src/core/postprocess.js';

const spec: ModelSpec = {
  name: 'test', inputWidth: 4, inputHeight: 1, inputLayout: 'nhwc', inputRange: [0, 1],
  outputWidth: 4, outputHeight: 1, outputChannels: 1, outputLayout: 'nhwc', personChannel: 0, activation: 'none',
};

describe('tensorToMask', () => {
  it('sets values too small to matter to 0 (they would turn subnormal, slow on x86), clamps to 0..1', () => {
    const out = tensorToMask(Float32Array.of(1.2e-38, 1e-10, 0.7, 1.5), spec);
    expect(Array.from(out.data)).toEqual([0, Math.fround(1e-10), Math.fround(0.7), 1]);
  });

  it('writes into the mask it is given, which must have the output size', () => {
    const into = createMask(4, 1);
    expect(tensorToMask(Float32Array.of(0, 0.25, 0.5, -1), spec, into)).toBe(into);
    expect(Array.from(into.data)).toEqual([0, 0.25, 0.5, 0]);
    expect(() => tensorToMask(Float32Array.of(0, 0, 0, 0), spec, createMask(2, 2))).toThrow(/4×1/);
  });

  it('applies a sigmoid before clamping and flushing', () => {
    const out = tensorToMask(Float32Array.of(0, -100, 100, 2), { ...spec, activation: 'sigmoid' });
    expect(out.data[0]).toBeCloseTo(0.5, 6);
    expect(out.data[1]).toBe(0);
    expect(out.data[2]).toBe(1);
    expect(out.data[3]).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
  });
});
