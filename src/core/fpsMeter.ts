/**
 * The seed's FPSmetric: frames per second averaged over the last N frames, from the times frames
 * arrive at the meter, readable from the API (`fps`) and optionally drawn on the frame ("FPS 29.9",
 * plus any extra lines such as per-stage timings) with the built-in bitmap font.
 */
import { now } from './clock.js';
import type { RGBA } from './color.js';
import { drawText, measureText } from './font.js';
import type { Frame } from './frame.js';
import type { FrameProcessor } from './processor.js';

export type Corner = 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';
export const CORNERS: readonly Corner[] = ['top-left', 'top-right', 'bottom-left', 'bottom-right'];

export interface FpsMeterOptions {
  /** Average over this many frame intervals. Default 30. */
  window?: number;
  /** Draw the reading on the frame. Default true (`toggle()` switches it, like the `f` key). */
  draw?: boolean;
  /** Corner to draw in. Default 'top-left'. */
  position?: Corner;
  /** Text colour. Default opaque white. */
  color?: RGBA;
  /** Font pixel size in frame pixels (integer ≥ 1). Default: about 1/100 of the frame's shorter side, at least 1. */
  scale?: number;
  /** Box behind the text for legibility; null for none. Default black at 60 % opacity. */
  background?: RGBA | null;
  /** Distance of the box from the frame's edges, frame pixels. Default 2 font pixels. */
  margin?: number;
  /** Extra lines drawn below the FPS line (e.g. per-stage milliseconds), asked for on every drawn frame. */
  lines?: () => string[];
  /** Clock in milliseconds (default: the monotonic clock); inject one for tests. */
  clock?: () => number;
  /** Draw into the incoming frame's buffer instead of a copy. Default false. */
  inPlace?: boolean;
}

export class FpsMeter implements FrameProcessor {
  /** Whether the reading is drawn on frames. */
  draw: boolean;
  position: Corner;
  color: RGBA;
  scale: number | undefined;
  background: RGBA | null;
  margin: number | undefined;
  lines: (() => string[]) | undefined;
  readonly window: number;
  private readonly clock: () => number;
  private readonly inPlace: boolean;
  /** Ring buffer of the last window + 1 arrival times. */
  private readonly times: Float64Array;
  private count = 0;
  private head = 0;
  /** Frames seen since creation or `reset()`. */
  frames = 0;

  constructor(options: FpsMeterOptions = {}) {
    const window = options.window ?? 30;
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`FPS window must be an integer ≥ 1, got ${window}`);
    if (options.position !== undefined && !CORNERS.includes(options.position)) {
      throw new RangeError(`FPS position must be one of ${CORNERS.join(', ')}, got ${String(options.position)}`);
    }
    if (options.scale !== undefined && !(Number.isInteger(options.scale) && options.scale >= 1)) {
      throw new RangeError(`FPS scale must be an integer ≥ 1, got ${options.scale}`);
    }
    this.window = window;
    this.times = new Float64Array(window + 1);
    this.draw = options.draw ?? true;
    this.position = options.position ?? 'top-left';
    this.color = options.color ?? [255, 255, 255, 255];
    this.scale = options.scale;
    this.background = options.background === undefined ? [0, 0, 0, 153] : options.background;
    this.margin = options.margin;
    this.lines = options.lines;
    this.clock = options.clock ?? now;
    this.inPlace = options.inPlace ?? false;
  }

  /** Frames per second over the last `window` intervals (0 until two frames have arrived). */
  get fps(): number {
    if (this.count < 2) return 0;
    const newest = this.times[(this.head - 1 + this.times.length) % this.times.length];
    const oldest = this.times[(this.head - this.count + this.times.length) % this.times.length];
    const span = newest - oldest;
    return span > 0 ? ((this.count - 1) * 1000) / span : 0;
  }

  /** Records that a frame arrived now (what `process` does), without touching any frame. */
  tick(): void {
    this.times[this.head] = this.clock();
    this.head = (this.head + 1) % this.times.length;
    if (this.count < this.times.length) this.count++;
    this.frames++;
  }

  reset(): void {
    this.count = 0;
    this.head = 0;
    this.frames = 0;
  }

  /** Shows or hides the drawn reading (the `f` key); returns the new state. */
  toggle(): boolean {
    this.draw = !this.draw;
    return this.draw;
  }

  /** The text drawn on frames: "FPS 29.9" and any extra lines. */
  text(): string {
    const extra = this.lines?.() ?? [];
    return [`FPS ${this.fps.toFixed(1)}`, ...extra].join('\n');
  }

  process(frame: Frame): Frame {
    this.tick();
    if (!this.draw) return frame;
    const out = this.inPlace ? frame : { ...frame, data: frame.data.slice() };
    this.drawOn(out);
    return out;
  }

  /** Draws the current reading onto a frame, in place. */
  drawOn(frame: Frame): void {
    const scale = this.scale ?? Math.max(1, Math.round(Math.min(frame.width, frame.height) / 100));
    const text = this.text();
    const pad = scale;
    const margin = this.margin ?? 2 * scale;
    const { width, height } = measureText(text, scale);
    const right = this.position.endsWith('right');
    const bottom = this.position.startsWith('bottom');
    const x = right ? frame.width - margin - pad - width : margin + pad;
    const y = bottom ? frame.height - margin - pad - height : margin + pad;
    drawText(frame, text, x, y, { color: this.color, scale, background: this.background, padding: 1 });
  }
}
