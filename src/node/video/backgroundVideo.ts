/**
 * A video as the background (BackgroundProvider): decoded by ffmpeg, looped without end
 * (`-stream_loop -1`), scaled and cropped to the frame's size in ffmpeg (cover, like background
 * images; or contain/stretch), at the video's own frame rate.
 *
 * The picture behind a frame is chosen by time: the background video starts with the first frame
 * it is asked for and then runs at its own rate, so it plays at its speed whatever the output's
 * frame rate is, skipping pictures when it is faster and repeating them when it is slower. A step
 * back in time (another clip) or reset() starts it over; a frame without a timestamp (a photo) gets
 * its first picture. The decoder starts on the first request (at that frame's size) and starts
 * again when the size changes; close() stops it.
 *
 * One stream at a time: use a provider per stream when several run at once.
 */
import type { BackgroundProvider } from '../../core/backgroundProvider.js';
import type { Frame } from '../../core/frame.js';
import type { Fit } from '../../core/resize.js';
import type { FfmpegOptions } from './ffmpegPath.js';
import { probeVideo, rationalValue, VideoInputError, type VideoInfo } from './probe.js';
import { openVideoSource, VideoSourceError, type VideoSource } from './source.js';

export interface BackgroundVideoOptions extends FfmpegOptions {
  /** How the video fills the frame: cover (default; scale and crop), contain (letterbox, black) or stretch. */
  fit?: Fit;
  /** Facts already probed for the file. */
  info?: VideoInfo;
}

/** The ffmpeg filter that makes a picture exactly width × height with the given fit. */
export function fitFilter(width: number, height: number, fit: Fit): string {
  const size = `${width}:${height}`;
  switch (fit) {
    case 'cover':
      return `scale=${size}:force_original_aspect_ratio=increase,crop=${size},setsar=1`;
    case 'contain':
      return `scale=${size}:force_original_aspect_ratio=decrease,pad=${size}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1`;
    case 'stretch':
      return `scale=${size},setsar=1`;
    default:
      throw new RangeError(`fit must be 'cover', 'contain' or 'stretch', got ${JSON.stringify(fit)}`);
  }
}

/** Probes `path` (a missing or unreadable file fails here, with VideoInputError); decoding starts on the first frame asked for. */
export async function openBackgroundVideo(path: string, opts: BackgroundVideoOptions = {}): Promise<BackgroundVideo> {
  const info = opts.info ?? (await probeVideo(path, opts));
  return new BackgroundVideo(path, info, opts);
}

/** A background video that ffmpeg cannot decode, said as such (the message names the file). */
function unreadable(path: string, err: unknown): Error {
  if (!(err instanceof VideoInputError || err instanceof VideoSourceError)) return err as Error;
  // The reason without the file name the source's message starts with.
  const reason = err.message.startsWith(`${path}: `) ? err.message.slice(path.length + 2) : err.message;
  return new VideoInputError(path, `the background video ${path} is not a readable video: ${reason}`, 'corrupt');
}

export class BackgroundVideo implements BackgroundProvider {
  private source: VideoSource | null = null;
  private frames: AsyncIterator<Frame> | null = null;
  private width = 0;
  private height = 0;
  /** The last decoded picture and its number since the decoder started (-1: none yet). */
  private current: Frame | null = null;
  private position = -1;
  /** Timestamp the background started at, and the last one seen (undefined: start at the next frame). */
  private start: number | undefined = undefined;
  private last = 0;
  private readonly frameMs: number;

  constructor(
    readonly path: string,
    readonly info: VideoInfo,
    private readonly opts: BackgroundVideoOptions = {},
  ) {
    this.frameMs = 1000 / rationalValue(info.frameRate);
  }

  async frameFor(frame: Frame): Promise<Frame> {
    let wanted = 0;
    const t = frame.timestamp;
    if (t !== undefined) {
      if (this.start === undefined || t < this.last) this.start = t;
      this.last = t;
      // The epsilon keeps a timestamp that is a whole number of frames (in floating point) on that frame.
      wanted = Math.floor((t - this.start) / this.frameMs + 1e-6);
    }
    if (frame.width !== this.width || frame.height !== this.height || wanted < this.position) await this.restart(frame.width, frame.height);
    while (this.position < wanted || !this.current) await this.advance();
    return this.current;
  }

  reset(): void {
    this.start = undefined;
  }

  /**
   * Decodes the first picture, then stops: throws what frameFor would for a file ffmpeg cannot
   * decode. For a compositor that decodes the video itself (ffmpeg's would wait on it for ever).
   */
  async checkReadable(): Promise<void> {
    try {
      await this.restart(this.info.width, this.info.height);
      await this.advance();
    } finally {
      await this.close();
    }
  }

  /** How the pictures fill the frame. */
  get fit(): Fit {
    return this.opts.fit ?? 'cover';
  }

  fork(): BackgroundVideo {
    return new BackgroundVideo(this.path, this.info, this.opts);
  }

  async close(): Promise<void> {
    const source = this.source;
    this.source = null;
    this.frames = null;
    this.current = null;
    this.position = -1;
    this.width = this.height = 0;
    await source?.close();
  }

  private async restart(width: number, height: number): Promise<void> {
    await this.close();
    // Read as a file (not as a live input): data ffmpeg cannot decode stops it at once (-xerror)
    // with the file's own error, instead of a camera's start timeout.
    try {
      this.source = await openVideoSource(this.path, {
        ffmpegPath: this.opts.ffmpegPath,
        ffprobePath: this.opts.ffprobePath,
        info: this.info,
        loop: true,
        channels: 3,
        outputArgs: ['-vf', fitFilter(width, height, this.fit)],
      });
    } catch (err) {
      throw unreadable(this.path, err);
    }
    this.frames = this.source.frames();
    this.width = width;
    this.height = height;
  }

  private async advance(): Promise<void> {
    let r: IteratorResult<Frame>;
    try {
      r = await this.frames!.next();
    } catch (err) {
      throw unreadable(this.path, err);
    }
    if (r.done) throw new Error(`${this.path}: the background video gave no ${this.position < 0 ? '' : 'more '}frames`);
    // The effect is done with the previous picture by the time it asks for another one.
    if (this.current) this.source!.recycle(this.current);
    this.current = r.value;
    this.position++;
  }
}
