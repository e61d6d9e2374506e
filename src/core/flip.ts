/**
 * Mirror frames: the seed's `flip_view` (a selfie camera shows you as in a mirror). Horizontal by
 * default; vertical too on request. Returns a new frame; the input is not modified.
 */
import type { Frame } from './frame.js';
import type { FrameProcessor } from './processor.js';

export interface FlipOptions {
  /** Mirror left ↔ right. Default true. */
  horizontal?: boolean;
  /** Mirror top ↔ bottom. Default false. */
  vertical?: boolean;
}

/** Returns a mirrored copy of the frame (timestamp kept). */
export function flipFrame(frame: Frame, horizontal = true, vertical = false): Frame {
  const { width: W, height: H, channels: C, data } = frame;
  const out = new Uint8Array(W * H * C);
  const row = W * C;
  for (let y = 0; y < H; y++) {
    const src = (vertical ? H - 1 - y : y) * row;
    const dst = y * row;
    if (!horizontal) {
      out.set(data.subarray(src, src + row), dst);
    } else if (C === 4) {
      for (let x = 0, s = src + row - 4, d = dst; x < W; x++, s -= 4, d += 4) {
        out[d] = data[s];
        out[d + 1] = data[s + 1];
        out[d + 2] = data[s + 2];
        out[d + 3] = data[s + 3];
      }
    } else {
      for (let x = 0, s = src + row - 3, d = dst; x < W; x++, s -= 3, d += 3) {
        out[d] = data[s];
        out[d + 1] = data[s + 1];
        out[d + 2] = data[s + 2];
      }
    }
  }
  return { width: W, height: H, channels: C, data: out, timestamp: frame.timestamp };
}

export class FlipProcessor implements FrameProcessor {
  horizontal: boolean;
  vertical: boolean;
  /** When false, frames pass through untouched. */
  enabled = true;

  constructor(options: FlipOptions = {}) {
    this.horizontal = options.horizontal ?? true;
    this.vertical = options.vertical ?? false;
  }

  /** Switches the flip on or off; returns the new state. */
  toggle(): boolean {
    this.enabled = !this.enabled;
    return this.enabled;
  }

  process(frame: Frame): Frame {
    if (!this.enabled || (!this.horizontal && !this.vertical)) return frame;
    return flipFrame(frame, this.horizontal, this.vertical);
  }
}
