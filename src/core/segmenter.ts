/**
 * Frame → person probability at the model's resolution: preprocess, inference, postprocess as
 * separate, timed steps. Upsampling and refinement to the frame's size happen downstream, where
 * the frame itself can guide them.
 */
import { stageNow } from './clock.js';
import type { Frame, Mask, Rect } from './frame.js';
import { validateSpec, type ModelSpec } from './modelSpec.js';
import { tensorToMask, type AxisTaps } from './postprocess.js';
import { frameToTensor, inputDims } from './preprocess.js';
import type { InferenceBackend, InferenceSession } from './runtime.js';

export interface SegmentTimings {
  preprocess: number;
  inference: number;
  postprocess: number;
}

export class Segmenter {
  private readonly input: Float32Array;
  private readonly dims: number[];
  /** Resampling tables for the input, refilled per call instead of allocated. */
  private readonly taps: [AxisTaps, AxisTaps];

  private constructor(
    private readonly session: InferenceSession,
    readonly spec: ModelSpec,
  ) {
    this.input = new Float32Array(spec.inputWidth * spec.inputHeight * 3);
    this.dims = inputDims(spec);
    const axis = (n: number): AxisTaps => ({ i0: new Int32Array(n), i1: new Int32Array(n), w1: new Float32Array(n) });
    this.taps = [axis(spec.inputWidth), axis(spec.inputHeight)];
  }

  static async create(backend: InferenceBackend, onnxModel: Uint8Array, spec: ModelSpec): Promise<Segmenter> {
    return new Segmenter(await backend.createSession(onnxModel), validateSpec(spec));
  }

  /**
   * The person probability at the model's own size (e.g. 256×256), 0..1: of the whole frame, or
   * of `crop` (frame pixels) alone, stretched to the model's input. Written into `into` (the
   * model's output size) when given, so a stream reuses its masks; else a new mask.
   */
  async segment(frame: Frame, timings?: SegmentTimings, crop?: Rect, into?: Mask): Promise<Mask> {
    const t0 = stageNow();
    frameToTensor(frame, this.spec, this.input, crop, this.taps);
    const t1 = stageNow();
    const output = await this.session.run(this.input, this.dims);
    const t2 = stageNow();
    const mask = tensorToMask(output, this.spec, into);
    if (timings) {
      timings.preprocess += t1 - t0;
      timings.inference += t2 - t1;
      timings.postprocess += stageNow() - t2;
    }
    return mask;
  }

  close(): Promise<void> {
    return this.session.release();
  }
}
