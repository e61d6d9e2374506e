/**
 * What a segmentation model expects and returns. The built-in MediaPipe selfie models are two
 * instances; a user's own ONNX model is described by the same fields.
 */
export interface ModelSpec {
  /** Shown in messages and summaries. */
  name: string;
  inputWidth: number;
  inputHeight: number;
  /** Input tensor layout: [1,H,W,3] or [1,3,H,W]. */
  inputLayout: 'nhwc' | 'nchw';
  /** RGB 0..255 is mapped linearly onto this range: [0,1] or [-1,1] for most models. */
  inputRange: readonly [number, number];
  outputWidth: number;
  outputHeight: number;
  outputChannels: number;
  outputLayout: 'nhwc' | 'nchw';
  /** Which output channel holds the person. */
  personChannel: number;
  /** What turns the output into a probability: already one, a sigmoid logit, or softmax over channels. */
  activation: 'none' | 'sigmoid' | 'softmax';
}

export type BuiltinModel = 'general' | 'landscape';

export const BUILTIN_MODELS: readonly BuiltinModel[] = ['general', 'landscape'];

/** The two MediaPipe selfie models: NHWC RGB/255 in, a probability (sigmoid already applied) out. */
export function builtinSpec(model: BuiltinModel): ModelSpec {
  const [w, h] = model === 'general' ? [256, 256] : [256, 144];
  return {
    name: model,
    inputWidth: w,
    inputHeight: h,
    inputLayout: 'nhwc',
    inputRange: [0, 1],
    outputWidth: w,
    outputHeight: h,
    outputChannels: 1,
    outputLayout: 'nhwc',
    personChannel: 0,
    activation: 'none',
  };
}

/** Checks a user-supplied spec and names the first bad field. */
export function validateSpec(spec: ModelSpec): ModelSpec {
  const positive = ['inputWidth', 'inputHeight', 'outputWidth', 'outputHeight', 'outputChannels'] as const;
  for (const key of positive) {
    if (!Number.isInteger(spec[key]) || spec[key] < 1) throw new RangeError(`model spec: ${key} must be a positive integer, got ${spec[key]}`);
  }
  for (const key of ['inputLayout', 'outputLayout'] as const) {
    if (spec[key] !== 'nhwc' && spec[key] !== 'nchw') throw new RangeError(`model spec: ${key} must be "nhwc" or "nchw", got ${String(spec[key])}`);
  }
  if (!['none', 'sigmoid', 'softmax'].includes(spec.activation)) {
    throw new RangeError(`model spec: activation must be "none", "sigmoid" or "softmax", got ${String(spec.activation)}`);
  }
  if (!Number.isInteger(spec.personChannel) || spec.personChannel < 0 || spec.personChannel >= spec.outputChannels) {
    throw new RangeError(`model spec: personChannel must be 0..${spec.outputChannels - 1}, got ${spec.personChannel}`);
  }
  const [lo, hi] = spec.inputRange ?? [];
  if (typeof lo !== 'number' || typeof hi !== 'number' || !(hi > lo)) {
    throw new RangeError(`model spec: inputRange must be [low, high] with high > low, e.g. [0, 1] or [-1, 1]`);
  }
  return spec;
}
