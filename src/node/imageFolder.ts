/**
 * Folders of images: listing them in a human order, and loading background images (one file, or
 * every usable image in a folder).
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Frame } from '../core/frame.js';
import { DEFAULT_MAX_PIXELS, ImageInputError, decodeImage, isImagePath } from './imageIO.js';
import { TEMP_FILE_PATTERN } from './safeWrite.js';

const IMAGE_EXTENSIONS_TEXT = '.jpg, .png, .webp, .avif or .tif';

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Natural order: img2 before img10, case-insensitive, ties broken by code point for a stable order. */
function naturalCompare(a: string, b: string): number {
  const pa = a.split(sep);
  const pb = b.split(sep);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = collator.compare(pa[i], pb[i]);
    if (c !== 0) return c;
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

function isHiddenOrTemp(name: string): boolean {
  return name.startsWith('.') || TEMP_FILE_PATTERN.test(name);
}

async function statFolder(dir: string): Promise<void> {
  let st;
  try {
    st = await stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ImageInputError(dir, 'no such folder', 'missing');
    if (code === 'EACCES' || code === 'EPERM') throw new ImageInputError(dir, 'permission denied', 'unreadable');
    throw new ImageInputError(dir, `cannot read (${(err as Error).message.split('\n')[0]})`, 'unreadable');
  }
  if (!st.isDirectory()) throw new ImageInputError(dir, 'is not a folder', 'unsupported');
}

interface Listing {
  images: string[];
  others: string[];
}

async function walk(root: string, dir: string, recursive: boolean, out: Listing, accept: (name: string) => boolean): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    if (isHiddenOrTemp(entry.name)) continue;
    const full = join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const st = await stat(full).catch(() => null);
      isDir = st?.isDirectory() ?? false;
      isFile = st?.isFile() ?? false;
    }
    if (isDir) {
      if (recursive) await walk(root, full, recursive, out, accept);
    } else if (isFile) {
      (accept(entry.name) ? out.images : out.others).push(relative(root, full));
    }
  }
}

async function listAll(dir: string, recursive: boolean, accept: (name: string) => boolean = isImagePath): Promise<Listing> {
  await statFolder(dir);
  const out: Listing = { images: [], others: [] };
  await walk(dir, dir, recursive, out, accept);
  out.images.sort(naturalCompare);
  out.others.sort(naturalCompare);
  return { images: out.images.map((p) => join(dir, p)), others: out.others.map((p) => join(dir, p)) };
}

/**
 * Image files in `dir` (by extension: .jpg .jpeg .png .webp .avif .tif .tiff, any case), in natural
 * order (img2 before img10). Hidden files and folders, and backdrop's own temporary files, are
 * skipped; symlinks are followed. Paths are `dir` joined with the file's relative path.
 */
export async function listImages(dir: string, opts: { recursive?: boolean } = {}): Promise<string[]> {
  return (await listAll(dir, opts.recursive === true)).images;
}

/** Files in `dir` that `accept` takes by name, in the same order and with the same skipping as listImages. */
export async function listFiles(dir: string, opts: { recursive?: boolean; accept: (name: string) => boolean }): Promise<string[]> {
  return (await listAll(dir, opts.recursive === true, opts.accept)).images;
}

export interface LoadBackgroundOptions {
  /** Called once per skipped file with `skipping <file>: <reason>`. */
  onWarning(msg: string): void;
  maxPixels?: number;
}

/**
 * Background images as RGB frames. A file gives [its frame] (any error is thrown); a folder gives
 * every decodable image in it, in natural order, warning about each file that is skipped (other
 * extensions, unreadable or corrupt images). Throws `no usable images in <dir>` when none is left.
 */
export async function loadBackgroundImages(pathOrDir: string, opts: LoadBackgroundOptions): Promise<Frame[]> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const st = await stat(pathOrDir).catch(() => null);
  if (!st?.isDirectory()) {
    // decodeImage reports a missing or unreadable file in its own words.
    const { frame } = await decodeImage(pathOrDir, { maxPixels });
    return [frame];
  }
  const { images, others } = await listAll(pathOrDir, false);
  for (const file of others) opts.onWarning(`skipping ${file}: not an image file (expected ${IMAGE_EXTENSIONS_TEXT})`);
  const frames: Frame[] = [];
  for (const file of images) {
    try {
      frames.push((await decodeImage(file, { maxPixels })).frame);
    } catch (err) {
      if (!(err instanceof ImageInputError)) throw err;
      opts.onWarning(`skipping ${file}: ${err.reason}`);
    }
  }
  if (frames.length === 0) {
    throw new ImageInputError(pathOrDir, 'no usable images', 'no-images', `no usable images in ${pathOrDir}`);
  }
  return frames;
}
