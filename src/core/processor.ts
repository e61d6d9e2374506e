/**
 * A frame processor: the seed's `custom_objects`. The Engine calls `process` on every frame, in
 * order, passing each processor the previous one's output.
 */
import type { Frame } from './frame.js';

export interface FrameProcessor {
  init?(): Promise<void> | void;
  process(frame: Frame): Promise<Frame> | Frame;
  close?(): Promise<void> | void;
}
