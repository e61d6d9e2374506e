/**
 * Reads the parts of a TensorFlow Lite flatbuffer that a converter needs, with the `flatbuffers`
 * runtime. Only the fields we use are mapped; ids follow tensorflow/lite/schema/schema.fbs.
 */
import { ByteBuffer, Encoding } from 'flatbuffers';

export const TensorType = { FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4 } as const;

export interface TfliteTensor {
  name: string;
  shape: number[];
  type: number;
  /** Constant contents, or null for activations. */
  data: Uint8Array | null;
}

export interface TfliteOperator {
  /** Builtin code (max of the deprecated byte and the int32 field), or 32 for CUSTOM. */
  builtinCode: number;
  customCode: string | null;
  inputs: number[];
  outputs: number[];
  /** Reads a field of the builtin options table; undefined when absent (the schema default applies). */
  option(id: number, kind: 'int8' | 'int32' | 'bool'): number | undefined;
  customOptions: Uint8Array | null;
}

export interface TfliteModel {
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}

/** A table position inside the buffer, with typed field access by schema field id. */
class Table {
  constructor(readonly bb: ByteBuffer, readonly pos: number) {}
  private off(id: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * id);
  }
  has(id: number): boolean {
    return this.off(id) !== 0;
  }
  int8(id: number, dflt = 0): number {
    const o = this.off(id);
    return o ? this.bb.readInt8(this.pos + o) : dflt;
  }
  uint8(id: number, dflt = 0): number {
    const o = this.off(id);
    return o ? this.bb.readUint8(this.pos + o) : dflt;
  }
  int32(id: number, dflt = 0): number {
    const o = this.off(id);
    return o ? this.bb.readInt32(this.pos + o) : dflt;
  }
  uint32(id: number, dflt = 0): number {
    const o = this.off(id);
    return o ? this.bb.readUint32(this.pos + o) : dflt;
  }
  string(id: number): string | null {
    const o = this.off(id);
    return o ? decodeAscii(this.bb.__string(this.pos + o, Encoding.UTF8_BYTES) as Uint8Array) : null;
  }
  table(id: number): Table | null {
    const o = this.off(id);
    return o ? new Table(this.bb, this.bb.__indirect(this.pos + o)) : null;
  }
  tables(id: number): Table[] {
    const o = this.off(id);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    const out: Table[] = [];
    for (let i = 0; i < n; i++) out.push(new Table(this.bb, this.bb.__indirect(start + 4 * i)));
    return out;
  }
  int32s(id: number): number[] {
    const o = this.off(id);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.bb.readInt32(start + 4 * i));
    return out;
  }
  bytes(id: number): Uint8Array | null {
    const o = this.off(id);
    if (!o) return null;
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    return this.bb.bytes().subarray(start, start + n);
  }
}

function decodeAscii(bytes: Uint8Array): string {
  // Tensor and op names are ASCII; this keeps core free of TextDecoder.
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

export function readTflite(bytes: Uint8Array): TfliteModel {
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(4, 8)) !== 'TFL3') {
    throw new Error('not a TensorFlow Lite model (no TFL3 identifier)');
  }
  const bb = new ByteBuffer(bytes);
  const model = new Table(bb, bb.readInt32(bb.position()) + bb.position());
  const opcodes = model.tables(1).map((c) => ({
    builtinCode: Math.max(c.int8(0), c.int32(3)),
    customCode: c.string(1),
  }));
  const buffers = model.tables(4).map((b) => {
    if (b.uint32(1) !== 0 || b.has(2)) {
      // Models over 2 GB keep weights outside the flatbuffer; the selfie models never do.
      throw new Error('tflite buffers stored outside the flatbuffer are not supported');
    }
    return b.bytes(0);
  });
  const subgraphs = model.tables(2);
  if (subgraphs.length !== 1) throw new Error(`expected one subgraph, found ${subgraphs.length}`);
  const g = subgraphs[0];
  const tensors = g.tables(0).map((t) => {
    const data = buffers[t.uint32(2)] ?? null;
    return {
      name: t.string(3) ?? '',
      shape: t.int32s(0),
      type: t.int8(1),
      data: data && data.length > 0 ? data : null,
    };
  });
  const operators = g.tables(3).map((op): TfliteOperator => {
    const code = opcodes[op.uint32(0)];
    if (!code) throw new Error(`operator refers to missing opcode ${op.uint32(0)}`);
    const options = op.table(4);
    return {
      builtinCode: code.builtinCode,
      customCode: code.customCode,
      inputs: op.int32s(1),
      outputs: op.int32s(2),
      option(id, kind) {
        if (!options || !options.has(id)) return undefined;
        return kind === 'int32' ? options.int32(id) : kind === 'bool' ? options.uint8(id) : options.int8(id);
      },
      customOptions: op.bytes(5),
    };
  });
  return { tensors, operators, inputs: g.int32s(1), outputs: g.int32s(2) };
}
