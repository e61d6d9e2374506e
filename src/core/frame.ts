/**
 * The two kinds of pixel data that flow through backdrop.
 *
 * A Frame is 8-bit interleaved RGB or RGBA (straight, not premultiplied, alpha), the layout that
 * sharp, ffmpeg's rawvideo pipes and the browser's ImageData all speak, so no conversion is needed
 * at either edge. A Mask is one float per pixel, 0 = background, 1 = person.
 */
export interface Frame {
  readonly width: number;
  readonly height: number;
  /** 3 = RGB, 4 = RGBA. */
  readonly channels: 3 | 4;
  readonly data: Uint8Array | Uint8ClampedArray;
  /** Presentation time in milliseconds, for video and cameras. */
  readonly timestamp?: number;
  /**
   * A video file's frame: its position in the file (0-based), whatever range this run reads. What
   * must come out the same when a video is processed in pieces (the frames that skip the model)
   * keys on it.
   */
  readonly index?: number;
}

export interface Mask {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** A rectangle in a frame's pixel coordinates (not necessarily whole pixels). */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export function createFrame(width: number, height: number, channels: 3 | 4, timestamp?: number): Frame {
  return { width, height, channels, data: new Uint8Array(width * height * channels), timestamp };
}

export function createMask(width: number, height: number, fill = 0): Mask {
  const data = new Float32Array(width * height);
  if (fill !== 0) data.fill(fill);
  return { width, height, data };
}

/** Throws when a frame's buffer does not hold exactly width × height × channels bytes. */
export function assertFrame(frame: Frame): void {
  const { width, height, channels, data } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`frame size must be positive integers, got ${width}×${height}`);
  }
  if (channels !== 3 && channels !== 4) throw new RangeError(`frame channels must be 3 or 4, got ${channels}`);
  if (data.length !== width * height * channels) {
    throw new RangeError(`frame buffer holds ${data.length} bytes; ${width}×${height}×${channels} needs ${width * height * channels}`);
  }
}
