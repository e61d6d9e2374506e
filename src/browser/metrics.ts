/**
 * Rolling per-stage timings and frame rate over the last N frames, without allocating per frame.
 */

export interface ProcessorMetrics {
  /** Output frames per second over the window. */
  fps: number;
  /** New masks per second: the frame rate while the model keeps up (each frame waits for its own mask); lower when it cannot and frames go out with the newest mask. */
  maskFps: number;
  /** Mean milliseconds over the window. */
  ms: {
    /**
     * One mask, as the page sees it: the model's runs for it (preprocessing, inference,
     * postprocessing; with ROI zoom one per person, plus a look at the whole frame now and then)
     * and the zoom's own bookkeeping. Per mask, not per frame.
     */
    inference: number;
    /** Drawing the frame (or the crops of it the model looks at) at the model's size and reading it back, summed over one mask's runs. */
    modelInput: number;
    /** Per frame: upload + refinement + blur + composite. */
    composite: number;
    /** Per frame: everything from receiving the frame to handing it on, including waiting for its own mask when it is held for it. */
    total: number;
  };
  /** Frames processed since start; frames dropped because another was already waiting for its mask; runs of the model. */
  frames: number;
  dropped: number;
  inferences: number;
  /** Mean runs of the model per mask over the window: 1 without ROI zoom; with it, one per person zoomed in on, plus the look at the whole frame when there is one. */
  inferencesPerMask: number;
  /** Which compositor and backend are in use. */
  compositor: string;
  backend: string;
  /** Why a fallback is in use (no WebGL2, no WebGPU…), if one is. */
  fallbacks: string[];
}

export const METRIC_STAGES = ['composite', 'total'] as const;
export type MetricStage = (typeof METRIC_STAGES)[number];

/** A ring of the last N samples with their times. */
export class Ring {
  private readonly values: Float64Array;
  private readonly stamps: Float64Array;
  private index = 0;
  private count = 0;

  constructor(private readonly size: number) {
    this.values = new Float64Array(size);
    this.stamps = new Float64Array(size);
  }

  push(value: number, timestamp: number): void {
    this.values[this.index] = value;
    this.stamps[this.index] = timestamp;
    this.index = (this.index + 1) % this.size;
    if (this.count < this.size) this.count++;
  }

  mean(): number {
    if (this.count === 0) return 0;
    let sum = 0;
    for (let i = 0; i < this.count; i++) sum += this.values[i];
    return sum / this.count;
  }

  /** How many samples the ring holds (at most its size). */
  get samples(): number {
    return this.count;
  }

  /** The middle sample (0 when empty): one slow run, such as the first after a model loads, does not move it. */
  median(): number {
    if (this.count === 0) return 0;
    const sorted = Array.from(this.values.subarray(0, this.count)).sort((a, b) => a - b);
    return sorted[this.count >> 1];
  }

  /** Samples per second between the oldest and the newest sample. */
  rate(): number {
    if (this.count < 2) return 0;
    const newest = this.stamps[(this.index - 1 + this.size) % this.size];
    const oldest = this.stamps[(this.index - this.count + this.size) % this.size];
    return newest > oldest ? ((this.count - 1) * 1000) / (newest - oldest) : 0;
  }

  reset(): void {
    this.index = 0;
    this.count = 0;
  }
}

export class RollingMetrics {
  private readonly frames: Record<MetricStage, Ring>;
  /** Per mask: ms of inference and of model input, and runs of the model. */
  readonly inference: Ring;
  readonly modelInput: Ring;
  readonly runs: Ring;

  constructor(size = 60) {
    this.frames = { composite: new Ring(size), total: new Ring(size) };
    this.inference = new Ring(Math.max(2, size >> 1));
    this.modelInput = new Ring(Math.max(2, size >> 1));
    this.runs = new Ring(Math.max(2, size >> 1));
  }

  /** Records one mask: `input` ms reading the model's input, `inference` ms in the model, over `runs` runs. */
  mask(input: number, inference: number, runs: number, timestamp: number): void {
    this.modelInput.push(input, timestamp);
    this.inference.push(inference, timestamp);
    this.runs.push(runs, timestamp);
  }

  /** Records one output frame. */
  frame(composite: number, total: number, timestamp: number): void {
    this.frames.composite.push(composite, timestamp);
    this.frames.total.push(total, timestamp);
  }

  fps(): number {
    return this.frames.total.rate();
  }

  mean(stage: MetricStage): number {
    return this.frames[stage].mean();
  }

  reset(): void {
    this.frames.composite.reset();
    this.frames.total.reset();
    this.inference.reset();
    this.modelInput.reset();
    this.runs.reset();
  }
}
