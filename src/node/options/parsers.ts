/**
 * Argument parsers for commander options, each with the one message a bad value gets, whether it
 * came from a flag or from an HTTP field. (Moved from cli/program.ts.)
 */
import { InvalidArgumentError } from 'commander';
import { parseColor } from '../../core/color.js';
import { parseVideoPoint } from '../cli/video.js';

/** A bad combination of options (exit status 2 on the command line, 400 over HTTP). */
export class UsageError extends Error {}

export function numberIn(name: string, lo: number, hi: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be a number from ${lo} to ${hi}.`);
    return n;
  };
}

export function point(value: string): string {
  try {
    parseVideoPoint(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
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
