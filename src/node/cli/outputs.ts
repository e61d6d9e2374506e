/**
 * Where each input's result goes. Beside the input as `<name>_out.<ext>` (the seed's naming), into
 * a folder as `<relative path>/<name>.<ext>`, or to one named file. Two inputs never share an output.
 */
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import type { ImageFormat } from '../imageIO.js';

export interface InputFile {
  path: string;
  /** The folder argument it was found under, to mirror its layout in an output folder. */
  root?: string;
}

/** Where -o points: a folder, one file, or (undefined) beside each input. */
export type Target = { dir: string } | { file: string } | undefined;

export interface PlannedOutput {
  input: string;
  output: string;
}

const EXTENSIONS: Record<ImageFormat, string> = { jpeg: '.jpg', png: '.png', webp: '.webp', avif: '.avif', tiff: '.tif' };

export function extensionFor(format: ImageFormat): string {
  return EXTENSIONS[format];
}

export { isPhotoInput, isVideoPath } from '../mediaKind.js';

/**
 * @param extensionOf the output file extension per input (with the dot; decided from flags and input type)
 * @param target an output folder or file, or undefined to write beside each input
 */
export function planOutputs(inputs: InputFile[], extensionOf: (input: string) => string, target?: Target): PlannedOutput[] {
  if (target && 'file' in target) {
    if (inputs.length !== 1) throw new Error(`-o ${target.file} names one file, but there are ${inputs.length} inputs; give a folder instead`);
    return [{ input: inputs[0].path, output: target.file }];
  }
  const plans = inputs.map(({ path, root }) => {
    const ext = extensionOf(path);
    const stem = basename(path, extname(path));
    if (!target) return { input: path, output: join(dirname(path), `${stem}_out${ext}`) };
    const sub = root ? dirname(relative(root, path)) : '.';
    return { input: path, output: join(target.dir, sub, `${stem}${ext}`) };
  });
  const seen = new Map<string, string>();
  for (const p of plans) {
    const key = resolve(p.output);
    const other = seen.get(key);
    if (other) throw new Error(`${other} and ${p.input} would both be written to ${p.output}; process them separately or into different folders`);
    seen.set(key, p.input);
  }
  return plans;
}
