/**
 * The inference runtime as core sees it. onnxruntime-node and onnxruntime-web each implement it
 * (src/node, src/browser); nothing in core imports either.
 */
export interface InferenceSession {
  /** Runs the model on one input tensor and returns its first output. */
  run(input: Float32Array, dims: readonly number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface InferenceBackend {
  /** Short name for summaries, e.g. "onnxruntime-node cpu". */
  readonly name: string;
  createSession(onnxModel: Uint8Array): Promise<InferenceSession>;
}
