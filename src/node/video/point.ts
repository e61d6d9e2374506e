/**
 * A point in a video or a live session, as `--from`/`--to` give it: a frame number ("120"),
 * seconds ("4.5s") or a timestamp ("1:02.5"). Parsed once, where the command line is read; files
 * (cli/video.ts) and live sessions (live/runLive.ts) turn it into seconds, frames or ms at their rate.
 */
import type { Rational } from './probe.js';

/** A frame number at the video's (or camera's) rate, or seconds from its start; `text` is what the user wrote, for messages. */
export type VideoPoint = ({ frame: number } | { seconds: number }) & { text?: string };

export function parseVideoPoint(text: string): VideoPoint {
  const t = text.trim();
  if (/^\d+$/.test(t)) return { frame: Number(t), text };
  const s = /^(\d+(?:\.\d+)?)s$/.exec(t);
  if (s) return { seconds: Number(s[1]), text };
  const parts = t.split(':');
  if (parts.length >= 2 && parts.length <= 3 && parts.every((p) => /^\d+(\.\d+)?$/.test(p))) {
    return { seconds: parts.reduce((acc, p) => acc * 60 + Number(p), 0), text };
  }
  throw new Error(`"${text}" is not a frame number (120), seconds (4.5s) or a timestamp (1:02.5)`);
}

/** The point as the user wrote it (or, for a point made in code, as it would be written). */
export function pointText(p: VideoPoint): string {
  return p.text ?? ('frame' in p ? String(p.frame) : `${p.seconds}s`);
}

/** Seconds from the start at a point; a frame number counts at `fps`. */
export function pointSeconds(p: VideoPoint, fps: number): number {
  return 'frame' in p ? p.frame / fps : p.seconds;
}

/** The frame shown at a point: a time selects the frame nearest to it. */
export function pointFrame(p: VideoPoint, fps: number): number {
  return 'frame' in p ? p.frame : Math.round(p.seconds * fps);
}

/** Milliseconds from the start at a point, with frames counted at an exact rate. */
export function pointMs(p: VideoPoint, frameRate: Rational): number {
  return 'frame' in p ? (p.frame * 1000 * frameRate.den) / frameRate.num : p.seconds * 1000;
}
