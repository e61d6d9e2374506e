/**
 * A moving background: something the background effect asks, frame by frame, for the picture to
 * put behind the person — a video (src/node/video/backgroundVideo.ts decodes one with ffmpeg), a
 * canvas, another camera. The effect composites whatever it returns, fitted to the frame.
 */
import type { Frame } from './frame.js';

export interface BackgroundProvider {
  /**
   * The background for `frame`, chosen by its timestamp (a frame without one is a still: the
   * provider's first picture). Any size: the effect fits it to the frame. Treat returned frames as
   * read-only; the effect is done with one before it asks for the next.
   */
  frameFor(frame: Frame): Frame | Promise<Frame>;
  /** A new stream starts: the next frame gets the provider's first picture again. */
  reset?(): void;
  /** Release what the provider holds (a decoder); asking for a frame afterwards may start over. */
  close?(): Promise<void> | void;
  /** The same background for another stream: its own position (and decoder), from the start. */
  fork?(): BackgroundProvider;
}
