/**
 * Argument parsers for commander options, each with the one message a bad value gets, whether it
 * came from a flag or from an HTTP field. (Moved from cli/program.ts.)
 */
import { InvalidArgumentError } from 'commander';
import { parseColor } from '../../core/color.js';
import { parseVideoPoint, type VideoPoint } from '../video/point.js';

/** A bad combination of options (exit status 2 on the command line, 400 over HTTP). */
export class UsageError extends Error {}

export function numberIn(name: string, lo: number, hi: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be a number from ${lo} to ${hi}.`);
    return n;
  };
}

/** `--from`/`--to`, parsed here once for files and live sessions alike. */
export function point(value: string): VideoPoint {
  try {
    return parseVideoPoint(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

export function integerIn(name: string, lo: number, hi: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be a whole number from ${lo} to ${hi}.`);
    return n;
  };
}

export function colour(value: string): string {
  try {
    parseColor(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}
