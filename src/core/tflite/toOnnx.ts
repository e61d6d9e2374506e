/**
 * TensorFlow Lite → ONNX, in memory, for the float models backdrop runs (the MediaPipe selfie
 * models and ones like them). TFLite works in NHWC; the ONNX graph works in NCHW inside, with one
 * Transpose at each end so its input and output keep the TFLite shapes. float16 weights behind
 * DEQUANTIZE are folded into float32 constants. An op outside the supported set is an error that
 * names it.
 */
import onnxProto from 'onnx-proto';
import { opName, Op } from './opNames.js';
import { readTflite, TensorType, type TfliteModel, type TfliteOperator } from './reader.js';

const { onnx } = onnxProto;
type Node = onnxProto.onnx.INodeProto;
type Attr = onnxProto.onnx.IAttributeProto;
type Tensor = onnxProto.onnx.ITensorProto;

export interface OnnxModel {
  /** Serialised ModelProto, ready for an InferenceSession. */
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  /** As in the TFLite model, e.g. [1, 256, 256, 3]. */
  inputShape: number[];
  outputShape: number[];
}

interface Constant {
  dims: number[];
  values: Float32Array | Int32Array;
}

const OPSET = 15;
/** NHWC axis → NCHW axis. */
const TO_NCHW_AXIS = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

export function tfliteToOnnx(tflite: Uint8Array): OnnxModel {
  return new Converter(readTflite(tflite)).convert();
}

class Converter {
  private readonly nodes: Node[] = [];
  private readonly initializers: Tensor[] = [];
  private readonly constants = new Map<number, Constant>();
  private fresh = 0;

  constructor(private readonly model: TfliteModel) {
    model.tensors.forEach((t, i) => {
      if (t.data) this.constants.set(i, { dims: t.shape, values: decodeTensor(t.data, t.type, t.name) });
    });
  }

  convert(): OnnxModel {
    const { model } = this;
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new Error(`expected a model with one input and one output, found ${model.inputs.length} and ${model.outputs.length}`);
    }
    const inIdx = model.inputs[0];
    const outIdx = model.outputs[0];
    const inputShape = model.tensors[inIdx].shape;
    const outputShape = model.tensors[outIdx].shape;
    for (const [what, shape] of [['input', inputShape], ['output', outputShape]] as const) {
      if (shape.length !== 4) throw new Error(`expected a 4-D NHWC ${what}, found shape [${shape.join(', ')}]`);
    }
    this.node('Transpose', ['input'], [name(inIdx)], [ints('perm', NHWC_TO_NCHW)]);
    for (const op of model.operators) this.convertOp(op);
    this.node('Transpose', [name(outIdx)], ['output'], [ints('perm', NCHW_TO_NHWC)]);

    const valueInfo = (n: string, shape: number[]) => ({
      name: n,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
    });
    const proto = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'backdrop tflite-to-onnx',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: 'converted',
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo('input', inputShape)],
        output: [valueInfo('output', outputShape)],
      },
    });
    return { bytes: onnx.ModelProto.encode(proto).finish(), inputName: 'input', outputName: 'output', inputShape, outputShape };
  }

  private convertOp(op: TfliteOperator): void {
    const { inputs, outputs } = op;
    const out = outputs[0];
    const shapeOf = (i: number) => this.model.tensors[i].shape;
    switch (op.builtinCode) {
      case Op.DEQUANTIZE: {
        const c = this.constants.get(inputs[0]);
        if (!c) throw new Error('DEQUANTIZE of a non-constant tensor is not supported');
        this.constants.set(out, { dims: c.dims, values: Float32Array.from(c.values) });
        return;
      }
      case Op.CONV_2D:
      case Op.DEPTHWISE_CONV_2D: {
        const depthwise = op.builtinCode === Op.DEPTHWISE_CONV_2D;
        const w = this.constant(inputs[1], op);
        const [, kh, kw] = w.dims;
        const [, ih, iw, ic] = shapeOf(inputs[0]);
        const sw = op.option(1, 'int32') ?? 1;
        const sh = op.option(2, 'int32') ?? 1;
        const dw = op.option(depthwise ? 5 : 4, 'int32') ?? 1;
        const dh = op.option(depthwise ? 6 : 5, 'int32') ?? 1;
        const same = (op.option(0, 'int8') ?? 0) === 0;
        const [pt, pb] = same ? samePads(ih, kh, sh, dh) : [0, 0];
        const [pl, pr] = same ? samePads(iw, kw, sw, dw) : [0, 0];
        // OHWI → OIHW for a plain conv; 1HWC → C1HW (one filter per group) for a depthwise one.
        const weight = this.initializer(permute(w, depthwise ? [3, 0, 1, 2] : [0, 3, 1, 2]));
        const operands = [this.activation(inputs[0], op), weight];
        if (inputs[2] !== undefined && inputs[2] >= 0) operands.push(this.initializer(this.constant(inputs[2], op)));
        this.withActivation('Conv', operands, out, op.option(depthwise ? 4 : 3, 'int8') ?? 0, [
          ints('kernel_shape', [kh, kw]),
          ints('strides', [sh, sw]),
          ints('dilations', [dh, dw]),
          ints('pads', [pt, pl, pb, pr]),
          int('group', depthwise ? ic : 1),
        ]);
        return;
      }
      case Op.AVERAGE_POOL_2D:
      case Op.MAX_POOL_2D: {
        const [, ih, iw] = shapeOf(inputs[0]);
        const sw = op.option(1, 'int32') ?? 1;
        const sh = op.option(2, 'int32') ?? 1;
        const fw = op.option(3, 'int32') ?? 1;
        const fh = op.option(4, 'int32') ?? 1;
        const same = (op.option(0, 'int8') ?? 0) === 0;
        const x = this.activation(inputs[0], op);
        const avg = op.builtinCode === Op.AVERAGE_POOL_2D;
        if (fh === ih && fw === iw && !same) {
          this.withActivation(avg ? 'GlobalAveragePool' : 'GlobalMaxPool', [x], out, op.option(5, 'int8') ?? 0);
          return;
        }
        const [pt, pb] = same ? samePads(ih, fh, sh, 1) : [0, 0];
        const [pl, pr] = same ? samePads(iw, fw, sw, 1) : [0, 0];
        const attrs = [ints('kernel_shape', [fh, fw]), ints('strides', [sh, sw]), ints('pads', [pt, pl, pb, pr])];
        // TFLite averages over the real pixels only, never over padding.
        if (avg) attrs.push(int('count_include_pad', 0));
        this.withActivation(avg ? 'AveragePool' : 'MaxPool', [x], out, op.option(5, 'int8') ?? 0, attrs);
        return;
      }
      case Op.MEAN: {
        const axes = [...this.constant(inputs[1], op).values].map((a) => TO_NCHW_AXIS[a < 0 ? a + 4 : a]);
        const keepDims = (op.option(0, 'bool') ?? 0) !== 0;
        if (!keepDims) throw new Error('MEAN without keep_dims is not supported (it would change the tensor layout)');
        const x = this.activation(inputs[0], op);
        if (axes.length === 2 && axes.includes(2) && axes.includes(3)) this.node('GlobalAveragePool', [x], [name(out)]);
        else this.node('ReduceMean', [x], [name(out)], [ints('axes', axes), int('keepdims', 1)]);
        return;
      }
      case Op.ADD:
      case Op.SUB:
      case Op.MUL:
      case Op.DIV: {
        const type = { [Op.ADD]: 'Add', [Op.SUB]: 'Sub', [Op.MUL]: 'Mul', [Op.DIV]: 'Div' }[op.builtinCode];
        const operands = inputs.map((i) => (this.constants.has(i) ? this.initializer(broadcastable(this.constant(i, op))) : name(i)));
        this.withActivation(type, operands, out, op.option(0, 'int8') ?? 0);
        return;
      }
      case Op.CONCATENATION: {
        const axis = op.option(0, 'int32') ?? 0;
        const operands = inputs.map((i) => this.activation(i, op));
        this.withActivation('Concat', operands, out, op.option(1, 'int8') ?? 0, [int('axis', TO_NCHW_AXIS[axis < 0 ? axis + 4 : axis])]);
        return;
      }
      case Op.RELU:
        this.node('Relu', [this.activation(inputs[0], op)], [name(out)]);
        return;
      case Op.RELU6:
        this.clip(this.activation(inputs[0], op), name(out), 0, 6);
        return;
      case Op.LOGISTIC:
        this.node('Sigmoid', [this.activation(inputs[0], op)], [name(out)]);
        return;
      case Op.TANH:
        this.node('Tanh', [this.activation(inputs[0], op)], [name(out)]);
        return;
      case Op.HARD_SWISH:
        this.node('HardSwish', [this.activation(inputs[0], op)], [name(out)]);
        return;
      case Op.RESIZE_BILINEAR: {
        const [, oh, ow, oc] = shapeOf(out);
        const alignCorners = (op.option(2, 'bool') ?? 0) !== 0;
        const halfPixel = (op.option(3, 'bool') ?? 0) !== 0;
        const sizes = this.initializer({ dims: [4], values: new Int32Array([1, oc, oh, ow]) }, 'int64');
        this.node('Resize', [this.activation(inputs[0], op), '', '', sizes], [name(out)], [
          str('mode', 'linear'),
          str('coordinate_transformation_mode', alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric'),
        ]);
        return;
      }
      case Op.CUSTOM:
        if (op.customCode === 'Convolution2DTransposeBias') {
          this.transposeConvBias(op);
          return;
        }
        break;
    }
    throw new Error(`unsupported TFLite op ${opName(op.builtinCode, op.customCode)}`);
  }

  /**
   * MediaPipe's custom transposed convolution with bias. Its options are a raw C struct
   * (int32 padding, stride_w, stride_h; padding 1 = SAME), not FlexBuffers.
   */
  private transposeConvBias(op: TfliteOperator): void {
    const raw = op.customOptions;
    if (!raw || raw.length < 12) throw new Error('Convolution2DTransposeBias: missing options');
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const strideW = view.getInt32(4, true);
    const strideH = view.getInt32(8, true);
    const w = this.constant(op.inputs[1], op); // OHWI
    const [, kh, kw] = w.dims;
    const [, ih, iw] = this.model.tensors[op.inputs[0]].shape;
    const [, oh, ow] = this.model.tensors[op.outputs[0]].shape;
    const padH = strideH * (ih - 1) + kh - oh;
    const padW = strideW * (iw - 1) + kw - ow;
    if (padH < 0 || padW < 0) throw new Error('Convolution2DTransposeBias: output larger than the kernel can produce');
    const half = (p: number) => Math.floor(p / 2);
    this.node(
      'ConvTranspose',
      [this.activation(op.inputs[0], op), this.initializer(permute(w, [3, 0, 1, 2])), this.initializer(this.constant(op.inputs[2], op))],
      [name(op.outputs[0])],
      [ints('kernel_shape', [kh, kw]), ints('strides', [strideH, strideW]), ints('pads', [half(padH), half(padW), padH - half(padH), padW - half(padW)])],
    );
  }

  private withActivation(type: string, inputs: string[], out: number, fused: number, attrs: Attr[] = []): void {
    if (fused === 0) {
      this.node(type, inputs, [name(out)], attrs);
      return;
    }
    const tmp = `${name(out)}_pre`;
    this.node(type, inputs, [tmp], attrs);
    switch (fused) {
      case 1:
        this.node('Relu', [tmp], [name(out)]);
        return;
      case 2:
        this.clip(tmp, name(out), -1, 1);
        return;
      case 3:
        this.clip(tmp, name(out), 0, 6);
        return;
      case 4:
        this.node('Tanh', [tmp], [name(out)]);
        return;
    }
    throw new Error(`unsupported fused activation ${fused} on ${type}`);
  }

  private clip(x: string, out: string, lo: number, hi: number): void {
    const min = this.initializer({ dims: [], values: new Float32Array([lo]) });
    const max = this.initializer({ dims: [], values: new Float32Array([hi]) });
    this.node('Clip', [x, min, max], [out]);
  }

  private node(opType: string, input: string[], output: string[], attribute: Attr[] = []): void {
    this.nodes.push({ opType, input, output, attribute, name: `${opType}_${this.nodes.length}` });
  }

  private constant(index: number, op: TfliteOperator): Constant {
    const c = this.constants.get(index);
    if (!c) throw new Error(`${opName(op.builtinCode, op.customCode)}: expected constant weights in tensor ${index}`);
    return c;
  }

  /** The ONNX name of an activation input; a constant there would need a layout we do not track. */
  private activation(index: number, op: TfliteOperator): string {
    if (this.constants.has(index)) throw new Error(`${opName(op.builtinCode, op.customCode)}: a constant data input is not supported`);
    return name(index);
  }

  private initializer(c: Constant, as: 'float' | 'int64' = 'float'): string {
    const n = `const_${this.fresh++}`;
    if (as === 'int64') {
      this.initializers.push({ name: n, dims: c.dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: [...c.values] });
    } else {
      const f = c.values instanceof Float32Array ? c.values : Float32Array.from(c.values);
      this.initializers.push({ name: n, dims: c.dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: littleEndianBytes(f) });
    }
    return n;
  }
}

const name = (tensor: number) => `t${tensor}`;
const int = (n: string, i: number): Attr => ({ name: n, type: onnx.AttributeProto.AttributeType.INT, i });
const ints = (n: string, v: number[]): Attr => ({ name: n, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
const str = (n: string, s: string): Attr => ({ name: n, type: onnx.AttributeProto.AttributeType.STRING, s: asciiBytes(s) });

/** TensorFlow's SAME padding: [before, after], the extra pixel (if any) after. */
export function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** A constant operand of an elementwise op, reshaped so it broadcasts against NCHW activations. */
function broadcastable(c: Constant): Constant {
  if (c.dims.length === 4) return permute(c, NHWC_TO_NCHW);
  if (c.dims.length === 1) return { dims: [c.dims[0], 1, 1], values: c.values };
  if (c.dims.length === 0) return c;
  throw new Error(`elementwise op with a constant of shape [${c.dims.join(', ')}] is not supported`);
}

export function permute(c: Constant, perm: number[]): Constant {
  const { dims, values } = c;
  const rank = dims.length;
  const outDims = perm.map((p) => dims[p]);
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= dims[i];
  }
  const strides = perm.map((p) => inStrides[p]);
  const out = new (values.constructor as Float32ArrayConstructor)(values.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < rank; k++) src += idx[k] * strides[k];
    out[o] = values[src];
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k] < outDims[k]) break;
      idx[k] = 0;
    }
  }
  return { dims: outDims, values: out };
}

function decodeTensor(bytes: Uint8Array, type: number, tensorName: string): Float32Array | Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case TensorType.FLOAT32:
      return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
    case TensorType.FLOAT16:
      return Float32Array.from({ length: bytes.length / 2 }, (_, i) => halfToFloat(view.getUint16(2 * i, true)));
    case TensorType.INT32:
      return Int32Array.from({ length: bytes.length / 4 }, (_, i) => view.getInt32(4 * i, true));
  }
  throw new Error(`tensor ${tensorName}: unsupported constant type ${type} (float32, float16 and int32 are supported)`);
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function littleEndianBytes(f: Float32Array): Uint8Array {
  const out = new Uint8Array(f.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < f.length; i++) view.setFloat32(4 * i, f[i], true);
  return out;
}

function asciiBytes(s: string): Uint8Array {
  return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
}
