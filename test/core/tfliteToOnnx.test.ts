import { Builder } from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { halfToFloat, permute, samePads, tfliteToOnnx } from '../../src/core/tflite/toOnnx.js';
import onnxProto from 'onnx-proto';

/** A one-op TFLite model x[1,2,2,1] → op → y, built with the flatbuffers Builder. */
function oneOpModel(builtinCode: number, customCode?: string): Uint8Array {
  const b = new Builder(256);
  const tensor = (name: string, bufferIndex: number) => {
    const n = b.createString(name);
    b.startVector(4, 4, 4);
    for (const d of [1, 1, 2, 2].reverse()) b.addInt32(d);
    const dims = b.endVector();
    b.startObject(4);
    b.addFieldOffset(0, dims, 0);
    b.addFieldInt8(1, 0, -1);
    b.addFieldInt32(2, bufferIndex, -1);
    b.addFieldOffset(3, n, 0);
    return b.endObject();
  };
  const intVector = (values: number[]) => {
    b.startVector(4, values.length, 4);
    for (const v of [...values].reverse()) b.addInt32(v);
    return b.endVector();
  };
  const offsets = (values: number[]) => {
    b.startVector(4, values.length, 4);
    for (const v of [...values].reverse()) b.addOffset(v);
    return b.endVector();
  };
  const t0 = tensor('x', 0);
  const t1 = tensor('y', 0);
  const opInputs = intVector([0]);
  const opOutputs = intVector([1]);
  b.startObject(3);
  b.addFieldInt32(0, 0, -1);
  b.addFieldOffset(1, opInputs, 0);
  b.addFieldOffset(2, opOutputs, 0);
  const op = b.endObject();
  const tensors = offsets([t0, t1]);
  const ops = offsets([op]);
  const gIn = intVector([0]);
  const gOut = intVector([1]);
  b.startObject(4);
  b.addFieldOffset(0, tensors, 0);
  b.addFieldOffset(1, gIn, 0);
  b.addFieldOffset(2, gOut, 0);
  b.addFieldOffset(3, ops, 0);
  const subgraph = b.endObject();
  const custom = customCode ? b.createString(customCode) : 0;
  b.startObject(4);
  b.addFieldInt8(0, Math.min(builtinCode, 127), -1);
  if (custom) b.addFieldOffset(1, custom, 0);
  b.addFieldInt32(3, builtinCode, -1);
  const opcode = b.endObject();
  b.startObject(0);
  const buffer = b.endObject();
  const opcodes = offsets([opcode]);
  const subgraphs = offsets([subgraph]);
  const buffers = offsets([buffer]);
  b.startObject(5);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, opcodes, 0);
  b.addFieldOffset(2, subgraphs, 0);
  b.addFieldOffset(4, buffers, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array();
}

describe('tfliteToOnnx', () => {
  it('converts a supported op into a decodable ONNX graph with NHWC I/O', () => {
    const model = tfliteToOnnx(oneOpModel(117)); // HARD_SWISH
    expect(model.inputShape).toEqual([1, 1, 2, 2]);
    const decoded = onnxProto.onnx.ModelProto.decode(model.bytes);
    expect(decoded.graph?.node?.map((n) => n.opType)).toEqual(['Transpose', 'HardSwish', 'Transpose']);
    expect(Number(decoded.opsetImport?.[0]?.version)).toBeGreaterThanOrEqual(14);
  });

  it('names an op it does not know', () => {
    expect(() => tfliteToOnnx(oneOpModel(75))).toThrow('unsupported TFLite op SQRT');
    expect(() => tfliteToOnnx(oneOpModel(32, 'MyFancyOp'))).toThrow('unsupported TFLite op CUSTOM MyFancyOp');
  });

  it('rejects a file that is not a tflite model', () => {
    expect(() => tfliteToOnnx(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toThrow('not a TensorFlow Lite model');
  });

  it('pads SAME like TensorFlow: the odd pixel goes after', () => {
    expect(samePads(256, 3, 2, 1)).toEqual([0, 1]);
    expect(samePads(64, 5, 2, 1)).toEqual([1, 2]);
    expect(samePads(16, 3, 1, 1)).toEqual([1, 1]);
    expect(samePads(15, 1, 1, 1)).toEqual([0, 0]);
  });

  it('decodes float16', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.33325, 5);
    expect(halfToFloat(0x0001)).toBeCloseTo(5.96e-8, 10);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
  });

  it('permutes OHWI weights to OIHW', () => {
    // O=2, H=1, W=2, I=3: value = o*100 + w*10 + i
    const values = new Float32Array(12);
    for (let o = 0; o < 2; o++) for (let w = 0; w < 2; w++) for (let i = 0; i < 3; i++) values[o * 6 + w * 3 + i] = o * 100 + w * 10 + i;
    const out = permute({ dims: [2, 1, 2, 3], values }, [0, 3, 1, 2]);
    expect(out.dims).toEqual([2, 3, 1, 2]);
    // OIHW index (o=1, i=2, h=0, w=1) = 1*6 + 2*2 + 0 + 1 = 11
    expect(out.values[11]).toBe(112);
    expect(out.values[1]).toBe(10); // o=0,i=0,w=1
  });
});
