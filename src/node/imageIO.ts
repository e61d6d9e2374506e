/**
 * Reading and writing still images with sharp (libvips).
 *
 * Decoding gives the raw 8-bit sRGB values a plain decoder (Pillow, a browser canvas without colour
 * management) would give: EXIF orientation applied, 16-bit scaled down, grey and palette expanded
 * to RGB, CMYK converted to RGB, and embedded ICC profiles of RGB/grey images ignored. The models'
 * golden masks were made from exactly those values (Pillow, ICC ignored), and with these settings
 * sharp's decode of every corpus image is bit-identical to them; honouring the profile would change
 * Display-P3 or camera-profile photos by 1.5–3 levels on average (up to 31).
 *
 * Every input problem becomes one ImageInputError whose message names the file and the reason on
 * one line, ready to print.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { assertFrame, type Frame } from '../core/frame.js';

/** Default largest accepted input: 100 megapixels (e.g. 12 000 × 8 000 — every phone and most DSLRs). */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'avif' | 'tiff';
export type GrayFormat = 'png' | 'webp' | 'tiff' | 'jpeg';

export type ImageInputErrorCode =
  | 'missing'
  | 'folder'
  | 'empty'
  | 'unreadable'
  | 'corrupt'
  | 'unsupported'
  | 'too-large'
  | 'no-images';

/** A bad input image. `message` is `<file>: <reason>` (or `<file> is …`), one line. */
export class ImageInputError extends Error {
  readonly file: string;
  /** The reason alone, without the file name, e.g. `truncated or corrupt image (…)`. */
  readonly reason: string;
  readonly code: ImageInputErrorCode;

  /** `message` defaults to `<file>: <reason>`, or `<file> <reason>` when the reason starts with "is ". */
  constructor(file: string, reason: string, code: ImageInputErrorCode, message?: string) {
    super(message ?? `${file}${reason.startsWith('is ') ? ' ' : ': '}${reason}`);
    this.name = 'ImageInputError';
    this.file = file;
    this.reason = reason;
    this.code = code;
  }
}

export interface DecodeOptions {
  /** Refuse images with more pixels than this (after reading only the header). Default DEFAULT_MAX_PIXELS; 0 = no limit. */
  maxPixels?: number;
  /** Return RGBA when the image has an alpha channel (default: always RGB, alpha dropped as Pillow's convert('RGB') does). */
  keepAlpha?: boolean;
  /** Name used in error messages; defaults to the path, or `image` for a Buffer. */
  name?: string;
}

export interface DecodedImage {
  frame: Frame;
  /** Whether the source image has an alpha channel (whether or not it was kept). */
  hasAlpha: boolean;
  /** sharp's name for the container format: jpeg, png, webp, heif (AVIF/HEIC), tiff, gif, … */
  format: string;
  /** Upright size (after EXIF orientation), same as frame.width/height. */
  width: number;
  height: number;
}

/** libvips warnings (e.g. "extraneous bytes before marker") are tolerated as Pillow and browsers do; truncation and decode errors are not. */
const FAIL_ON = 'error' as const;

function oneLine(s: string): string {
  const first = s.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? s;
  return first.length > 200 ? `${first.slice(0, 197)}...` : first;
}

/** The limit exactly (up to 6 decimals), the image size with two significant digits but always visibly above the limit. */
function formatOverLimit(pixels: number, limit: number): { image: string; limit: string } {
  const mp = pixels / 1e6;
  const limitMp = limit / 1e6;
  let digits = mp >= 10 ? 0 : mp >= 1 ? 1 : Math.ceil(-Math.log10(mp)) + 1;
  while (digits < 6 && Number(mp.toFixed(digits)) <= limitMp) digits++;
  return { image: String(Number(mp.toFixed(digits))), limit: String(Number(limitMp.toFixed(6))) };
}

function mapSharpReadError(name: string, err: unknown): ImageInputError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(msg)) return new ImageInputError(name, 'not a supported image format', 'unsupported');
  if (/is empty/i.test(msg)) return new ImageInputError(name, 'is empty', 'empty');
  if (/Input file is missing/i.test(msg)) return new ImageInputError(name, 'no such file', 'missing');
  if (/pixel limit/i.test(msg)) return new ImageInputError(name, 'is over the pixel limit; raise it with --max-pixels', 'too-large');
  return new ImageInputError(name, `truncated or corrupt image (${oneLine(msg)})`, 'corrupt');
}

async function checkInputFile(path: string, name: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ImageInputError(name, 'no such file', 'missing');
    if (code === 'EACCES' || code === 'EPERM') throw new ImageInputError(name, 'permission denied', 'unreadable');
    throw new ImageInputError(name, `cannot read (${oneLine((err as Error).message)})`, 'unreadable');
  }
  if (st.isDirectory()) throw new ImageInputError(name, 'is a folder, not an image file', 'folder');
  if (!st.isFile()) throw new ImageInputError(name, 'is not a regular file', 'unsupported');
  if (st.size === 0) throw new ImageInputError(name, 'is empty', 'empty');
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new ImageInputError(name, 'permission denied', 'unreadable');
  }
}

/**
 * Read only an image's header: a readable, non-empty file in a format sharp decodes, within the
 * pixel limit. The checks decodeImage starts with, cheap enough to run on every input of a batch
 * before the model loads. Throws ImageInputError.
 */
export async function readImageHeader(input: string | Buffer, opts: Omit<DecodeOptions, 'keepAlpha'> = {}): Promise<Metadata> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const name = opts.name ?? (typeof input === 'string' ? input : 'image');
  if (typeof input === 'string') await checkInputFile(input, name);
  else if (input.length === 0) throw new ImageInputError(name, 'is empty', 'empty');

  let meta: Metadata;
  try {
    // No pixel limit here: the header is all that is read, and we want the real size for the message.
    meta = await sharp(input, { failOn: FAIL_ON, limitInputPixels: false }).metadata();
  } catch (err) {
    throw mapSharpReadError(name, err);
  }
  const rawW = meta.width;
  const rawH = meta.height;
  if (!rawW || !rawH) throw new ImageInputError(name, 'not a supported image format', 'unsupported');
  const pixels = rawW * rawH;
  if (maxPixels > 0 && pixels > maxPixels) {
    const mp = formatOverLimit(pixels, maxPixels);
    throw new ImageInputError(
      name,
      `is ${meta.autoOrient?.width ?? rawW}×${meta.autoOrient?.height ?? rawH} = ${mp.image} megapixels, over the limit of ${mp.limit} megapixels; raise it with --max-pixels`,
      'too-large',
    );
  }
  return meta;
}

/**
 * Decode an image file or in-memory file to an 8-bit sRGB Frame (RGB, or RGBA with keepAlpha on an
 * image that has alpha). The header is read first, so an oversized image is refused before any
 * pixel memory is allocated.
 */
export async function decodeImage(input: string | Buffer, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const name = opts.name ?? (typeof input === 'string' ? input : 'image');
  const meta = await readImageHeader(input, opts);

  const hasAlpha = meta.hasAlpha === true;
  const keepAlpha = opts.keepAlpha === true && hasAlpha;
  // Use an embedded profile only for CMYK, whose raw ink values mean nothing without one (sharp
  // falls back to a generic CMYK profile when there is none). For RGB and grey take the raw values.
  const ignoreIcc = meta.space !== 'cmyk';
  let pipeline = sharp(input, {
    failOn: FAIL_ON,
    limitInputPixels: maxPixels > 0 ? maxPixels : false,
    autoOrient: true,
    ignoreIcc,
    // Only the first page/frame of multi-page inputs (GIF, TIFF).
    pages: 1,
  }).toColourspace('srgb');
  pipeline = keepAlpha ? pipeline.ensureAlpha() : pipeline.removeAlpha();

  let data: Buffer;
  let info: OutputInfo;
  try {
    ({ data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (err) {
    throw mapSharpReadError(name, err);
  }
  const channels = keepAlpha ? 4 : 3;
  if (info.channels !== channels || data.length !== info.width * info.height * channels) {
    throw new ImageInputError(name, `unexpected decode result (${info.channels} channels)`, 'unsupported');
  }
  const frame: Frame = {
    width: info.width,
    height: info.height,
    channels,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  };
  return { frame, hasAlpha, format: meta.format ?? 'unknown', width: info.width, height: info.height };
}

export interface EncodeOptions {
  /** 1–100 for JPEG, WebP, AVIF. Defaults: JPEG 90, WebP 90, AVIF 60. Ignored for PNG and TIFF (lossless). */
  quality?: number;
}

/** WebP's format limit. */
const WEBP_MAX_DIMENSION = 16383;
const JPEG_MAX_DIMENSION = 65535;

function toBuffer(data: Uint8Array | Uint8ClampedArray): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function checkQuality(q: number | undefined): void {
  if (q !== undefined && (!Number.isInteger(q) || q < 1 || q > 100)) {
    throw new RangeError(`quality must be an integer from 1 to 100, got ${q}`);
  }
}

function checkDimensions(width: number, height: number, format: string): void {
  const max = format === 'webp' ? WEBP_MAX_DIMENSION : format === 'jpeg' ? JPEG_MAX_DIMENSION : 0;
  if (max > 0 && (width > max || height > max)) {
    throw new RangeError(`${format.toUpperCase()} images can be at most ${max}×${max} pixels; this one is ${width}×${height} (use png or tiff)`);
  }
}

/**
 * Encoder settings, chosen for speed at good quality. Measured here (2 cores) on a 1080p photo:
 * - JPEG q90, 4:2:0, no optimised Huffman tables, no mozjpeg: ≈ 10 ms. Optimised tables cost ≈ 3×
 *   the time for < 1 % smaller files; mozjpeg (trellis) ≈ 17× the time for ≈ 12 % smaller.
 * - PNG (photos, cutouts) zlib level 3 with adaptive filtering: ≈ 110 ms, 1.9 MB. sharp's default
 *   (level 6, no filtering) is ≈ 100 ms but 3.5 MB; level 6 with filtering saves only 6 % more for
 *   twice the time; level 1 without filtering is fastest (≈ 55 ms) but 4.1 MB.
 * - PNG (grey masks) level 6 without filtering: flat areas compress best unfiltered, ≈ 8 ms.
 * - WebP q90 effort 2: half the time of effort 4 for files within ≈ 1 %; alpha kept at alphaQuality 100.
 *   Grey (mask) WebP is lossless unless a quality is given.
 * - AVIF q60 effort 1: ≈ 0.5 s; sharp's default effort 4 takes ≈ 5.7 s for ≈ 13 % smaller files.
 * - TIFF LZW with horizontal predictor: lossless and readable everywhere (sharp's default is lossy JPEG).
 */
function applyFormat(img: Sharp, format: ImageFormat, quality: number | undefined, gray: boolean): Sharp {
  switch (format) {
    case 'jpeg':
      return img.jpeg({ quality: quality ?? 90, mozjpeg: false, chromaSubsampling: '4:2:0', optimiseCoding: false });
    case 'png':
      return gray
        ? img.png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
        : img.png({ compressionLevel: 3, adaptiveFiltering: true, palette: false });
    case 'webp':
      return gray && quality === undefined
        ? img.webp({ lossless: true, effort: 4 })
        : img.webp({ quality: quality ?? 90, alphaQuality: 100, effort: 2 });
    case 'avif':
      return img.avif({ quality: quality ?? 60, effort: 1, chromaSubsampling: '4:4:4' });
    case 'tiff':
      return img.tiff({ compression: 'lzw', predictor: 'horizontal' });
    default: {
      const bad: never = format;
      throw new RangeError(`unknown image format ${String(bad)}`);
    }
  }
}

/** Encode an RGB or RGBA frame. Writing an RGBA frame as JPEG throws: JPEG has no alpha, and flattening is the caller's decision. */
export async function encodeImage(frame: Frame, format: ImageFormat, opts: EncodeOptions = {}): Promise<Buffer> {
  assertFrame(frame);
  checkQuality(opts.quality);
  if (format === 'jpeg' && frame.channels === 4) {
    throw new RangeError('JPEG cannot store transparency; flatten the frame to RGB first or write png, webp, avif or tiff');
  }
  checkDimensions(frame.width, frame.height, format);
  const img = sharp(toBuffer(frame.data), { raw: { width: frame.width, height: frame.height, channels: frame.channels } });
  return applyFormat(img, format, opts.quality, false).toBuffer();
}

/**
 * Encode one 8-bit channel (e.g. a mask) as a single-channel greyscale image. PNG, TIFF and JPEG
 * files are real 1-channel grey; WebP has no grey mode, so it is stored as RGB (lossless unless a
 * quality is given, since masks are data).
 */
export async function encodeGray(
  data: Uint8Array,
  width: number,
  height: number,
  format: GrayFormat,
  opts: EncodeOptions = {},
): Promise<Buffer> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}×${height}`);
  }
  if (data.length !== width * height) {
    throw new RangeError(`grey buffer holds ${data.length} bytes; ${width}×${height} needs ${width * height}`);
  }
  checkQuality(opts.quality);
  checkDimensions(width, height, format);
  const img = sharp(toBuffer(data), { raw: { width, height, channels: 1 } }).toColourspace('b-w');
  return applyFormat(img, format, opts.quality, true).toBuffer();
}

const EXTENSIONS: Record<string, ImageFormat> = {
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.png': 'png',
  '.webp': 'webp',
  '.avif': 'avif',
  '.tif': 'tiff',
  '.tiff': 'tiff',
};

/** The output format implied by a file name's extension (case-insensitive), or null. */
export function formatFromPath(path: string): ImageFormat | null {
  return EXTENSIONS[extname(path).toLowerCase()] ?? null;
}

/** Whether a file name has one of the still-image extensions backdrop reads and writes. */
export function isImagePath(path: string): boolean {
  return formatFromPath(path) !== null;
}
