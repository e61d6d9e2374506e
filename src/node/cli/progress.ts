/**
 * The CLI's progress bars (photos in a batch, frames of a video), in a module of their own so
 * batch.ts and video.ts both use it without importing each other.
 */
import { SingleBar } from 'cli-progress';
import type { CliIO } from './io.js';

/** A cli-progress bar drawn on the CLI's stderr (which tests capture). */
export function progressBar(io: CliIO, format: string): SingleBar {
  const stream = { write: (s: string) => io.stderr(s), isTTY: true, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, on: () => {} };
  return new SingleBar({ format, barsize: 30, hideCursor: true, stream: stream as unknown as NodeJS.WriteStream });
}
