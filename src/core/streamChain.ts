/**
 * The processors of a video or camera stream, in the seed's order: the frame is mirrored first
 * (`flip_view`, so a replacement background is never mirrored), then the background effect and
 * any processors of the caller's, and the FPS meter last (drawn on top, never mirrored).
 */
import { FlipProcessor } from './flip.js';
import { FpsMeter, type FpsMeterOptions } from './fpsMeter.js';
import type { FrameProcessor } from './processor.js';
import type { TemporalOptions } from './temporal.js';

/** What a video file or a camera adds to the photo effect. */
export interface StreamOptions {
  /** Temporal smoothing of the mask: on for streams unless this is false (true or options: see TemporalSmoother). */
  temporal?: TemporalOptions | boolean;
  /** Mirror every frame left ↔ right before the effect (the seed's flip_view). */
  flip?: boolean;
  /** Draw the FPS meter on the frames (true, or its options). */
  fps?: boolean | FpsMeterOptions;
  /** More processors, run after the effect and before the FPS meter. */
  processors?: FrameProcessor[];
}

export interface StreamChain {
  processors: FrameProcessor[];
  /** The FPS meter in the chain (null when there is none). */
  fpsMeter: FpsMeter | null;
}

/**
 * Builds the chain around `effect`. With `meterAlways` (live sessions, where a key shows and hides
 * it) there is an FPS meter even when `fps` is off, hidden until toggled.
 */
export function streamChain(effect: FrameProcessor, opts: StreamOptions = {}, meterAlways = false): StreamChain {
  const { fps = false } = opts;
  const meterOptions: FpsMeterOptions = typeof fps === 'object' ? fps : { draw: fps };
  const fpsMeter = fps !== false || meterAlways ? new FpsMeter(meterOptions) : null;
  const processors: FrameProcessor[] = [];
  if (opts.flip) processors.push(new FlipProcessor());
  processors.push(effect, ...(opts.processors ?? []));
  if (fpsMeter) processors.push(fpsMeter);
  return { processors, fpsMeter };
}
