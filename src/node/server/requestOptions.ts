/**
 * A request's fields → checked CLI options and the output the CLI would write for them: the same
 * parsing, the same conflicts (choose one effect…), the same default format.
 */
import type { ImageFormat } from '../imageIO.js';
import { toBackdropOptions } from '../options/backdropOptions.js';
import type { CliOptions } from '../options/cliOptions.js';
import { cliOptionsFromFields } from '../options/fields.js';
import { UsageError } from '../options/parsers.js';
import { HttpProblem } from './problem.js';

export function parseRequestOptions(fields: Record<string, string>, context: { video: boolean; background?: string; maxPixels: number }): CliOptions {
  try {
    const cli = cliOptionsFromFields(fields, context);
    toBackdropOptions(cli);
    return cli;
  } catch (err) {
    if (err instanceof UsageError) throw new HttpProblem(400, err.message);
    throw err;
  }
}

const KEPT: Record<string, ImageFormat> = { jpeg: 'jpeg', png: 'png', webp: 'webp', avif: 'avif', tiff: 'tiff' };

/** The CLI's output format for a photo: --format, else PNG for transparent and mask, else the input's own where it can be written. */
export function photoFormat(cli: CliOptions, inputFormat: string, hasAlpha: boolean): ImageFormat {
  if (cli.format) return cli.format;
  if (cli.transparent || cli.mask) return 'png';
  const kept = KEPT[inputFormat] ?? 'png';
  return kept === 'jpeg' && hasAlpha ? 'png' : kept;
}

export const EXTENSIONS: Record<ImageFormat, string> = { jpeg: '.jpg', png: '.png', webp: '.webp', avif: '.avif', tiff: '.tif' };
