/**
 * Pictures the tests leave under out/ for a person to look at (the issues ask for them): one
 * place that knows where out/ is.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const outRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out');

/** The path of out/<relative>, with its folder created. */
export async function outPath(relative: string): Promise<string> {
  const path = join(outRoot, relative);
  await mkdir(dirname(path), { recursive: true });
  return path;
}

/** Save raw RGB or RGBA pixels as out/<relative> (a .png keeps the alpha). */
export async function saveRaw(relative: string, data: Uint8Array, width: number, height: number, channels: 3 | 4): Promise<void> {
  await sharp(data, { raw: { width, height, channels } }).toFile(await outPath(relative));
}
