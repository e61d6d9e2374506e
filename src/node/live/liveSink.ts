/**
 * Where a live session's frames go, as the Engine's FrameSink: the preview page (always the latest
 * frame) and any file, stream URL or virtual camera (each an ffmpeg sink, started before the first
 * frame when its shape is known — `prepare` — else on the first frame).
 *
 * Files and streams are written at the source's frame rate in real time: each processed frame is
 * sent once and shows until the next one arrives (ffmpeg repeats it as often as the rate asks), so
 * a recording lasts as long as the session did, and a slow effect does not also pay for piping and
 * converting the repeats. A frame goes into the pipes while the next one is processed (write()
 * returns once the previous frame is in, so each ffmpeg sink has one write at a time): a frame is
 * megabytes that ffmpeg takes in as its encoder allows, and waiting for that held up the camera's
 * next frame by ~10 ms at 720p. The first frame is the exception: ffmpeg stamps a frame when it
 * reads it, so the recordings start when their encoders have taken it in (after starting up, a few
 * hundred ms on a busy machine), and the session, timed from its first frame out, starts there too.
 *
 * When the session fails, what happens to the outputs depends on why: a camera that stalled or an
 * output that failed (a stream URL going away) leaves the other outputs to be finished, so a
 * recording survives; a failing effect or processor discards them.
 */
import type { FrameSink } from '../../core/engine.js';
import type { Frame } from '../../core/frame.js';
import type { FfmpegOptions } from '../video/ffmpegPath.js';
import type { Rational } from '../video/probe.js';
import { openVideoSink, type VideoSink, type VideoSinkResult } from '../video/sink.js';
import type { PreviewServer } from './previewServer.js';

export interface LiveSinkOptions extends FfmpegOptions {
  preview: PreviewServer | null;
  /** Outputs written by ffmpeg, in order: a file, a stream URL, a device. */
  targets: string[];
  /** The one target that is a file (an RGBA result is recorded with transparency there). */
  file?: string;
  frameRate: Rational;
  force?: boolean;
  crf?: number;
  preset?: string;
  /** Failures after which the outputs are still finished (the camera's), besides an output's own. */
  keepOutputsAfter(reason: unknown): boolean;
}

interface Target {
  output: string;
  opening: Promise<VideoSink> | null;
  /** The frame shape the sink was opened for, `W×H×C`. */
  shape: string | null;
  /** Whether a frame went to it. */
  used: boolean;
}

export class LiveSink implements FrameSink {
  /** The finished ffmpeg outputs. */
  readonly results: VideoSinkResult[] = [];
  /** The first output that failed. */
  error: unknown = null;
  private readonly targets: Target[];
  /** The last frame's writes to the targets, until the next write (or finish) waits for them. */
  private writing: Promise<void> | null = null;
  /** Whether a frame was written: the first one's write returns only once it is in. */
  private started = false;

  constructor(private readonly opts: LiveSinkOptions) {
    this.targets = opts.targets.map((output) => ({ output, opening: null, shape: null, used: false }));
  }

  get hasTargets(): boolean {
    return this.targets.length > 0;
  }

  /**
   * Start the outputs' ffmpegs now, for frames of this shape: the first processed frame is then
   * recorded when it arrives, not once ffmpeg has started (a few hundred ms, seconds on a busy
   * machine, that a recording used to miss). A first frame of another shape opens them again.
   */
  prepare(width: number, height: number, channels: Frame['channels']): void {
    for (const target of this.targets) if (!target.opening) this.start(target, width, height, channels);
  }

  async write(frame: Frame): Promise<void> {
    this.opts.preview?.push(frame);
    // The previous frame's failure is this write's.
    await this.written();
    const writing = this.writeTargets(frame);
    // Its failure is the next write's (or finish's): not an unhandled rejection meanwhile.
    writing.catch(() => undefined);
    this.writing = writing;
    if (!this.started) {
      this.started = true;
      await this.written();
    }
  }

  /** Waits for the last frame's writes; throws their failure. */
  private async written(): Promise<void> {
    const writing = this.writing;
    this.writing = null;
    await writing;
  }

  private async writeTargets(frame: Frame): Promise<void> {
    if (this.targets.length === 0) return;
    // Every output gets the frame even when one fails, so a recording survives a dropped stream.
    const written = await Promise.allSettled(this.targets.map(async (target) => (await this.open(target, frame)).write(frame)));
    const rejected = written.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) {
      this.error ??= rejected.reason;
      throw rejected.reason;
    }
  }

  async finish(): Promise<void> {
    let failure: unknown = null;
    // The last frame's failure fails the session, but the other outputs are still finished.
    await this.written().catch((err: unknown) => (failure = err));
    for (const target of this.targets) {
      const sink = await this.opened(target);
      if (!sink) continue;
      // Prepared but never given a frame: nothing to keep.
      if (!target.used) {
        await sink.abort();
        continue;
      }
      try {
        this.results.push(await sink.finish());
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure) throw failure;
  }

  async abort(reason?: unknown): Promise<void> {
    if (reason === this.error || this.opts.keepOutputsAfter(reason)) {
      // Keep what was recorded; the session still ends with `reason`.
      await this.finish().catch(() => undefined);
      return;
    }
    // The last frame's writes end with the sinks (an aborted ffmpeg settles them).
    const written = this.written().catch(() => undefined);
    for (const target of this.targets) await (await this.opened(target))?.abort();
    await written;
  }

  private opened(target: Target): Promise<VideoSink | null> {
    return target.opening ? target.opening.catch(() => null) : Promise.resolve(null);
  }

  private open(target: Target, frame: Frame): Promise<VideoSink> {
    const { width, height, channels } = frame;
    if (target.opening && !target.used && target.shape !== `${width}×${height}×${channels}`) {
      // Prepared for frames of another shape, and nothing written yet: start again.
      void this.opened(target).then((sink) => sink?.abort());
      target.opening = null;
    }
    target.used = true;
    return target.opening ?? this.start(target, width, height, channels);
  }

  private start(target: Target, width: number, height: number, channels: Frame['channels']): Promise<VideoSink> {
    const { opts } = this;
    target.shape = `${width}×${height}×${channels}`;
    const opening = openVideoSink({
      output: target.output,
      width,
      height,
      channels,
      transparent: target.output === opts.file && channels === 4 ? true : undefined,
      fps: opts.frameRate,
      timing: 'arrival',
      force: opts.force,
      crf: opts.crf,
      preset: opts.preset,
      ffmpegPath: opts.ffmpegPath,
      ffprobePath: opts.ffprobePath,
    });
    // The first write awaits it; a failure before then is not an unhandled rejection.
    opening.catch(() => undefined);
    target.opening = opening;
    return opening;
  }
}
