/**
 * What an uploaded file is, from its first bytes (never from a name or a Content-Type a client
 * chose): the photo or video formats backdrop reads, with the extension it is stored under.
 * SVG is not accepted: librsvg may follow references to other files.
 */
import { open } from 'node:fs/promises';

export interface Sniffed {
  kind: 'image' | 'video';
  /** Extension the server stores it under (with the dot). */
  ext: string;
  /** Format name: jpeg, png, webp, gif, avif, heif, tiff; mp4, mov, webm, mkv, avi, y4m, mpegts, mpeg, flv, ogg, asf. */
  format: string;
}

const ascii = (b: Buffer, start: number, end: number) => b.subarray(start, end).toString('latin1');

const IMAGE_BRANDS: Record<string, string> = { avif: 'avif', avis: 'avif', heic: 'heif', heix: 'heif', heim: 'heif', heis: 'heif', mif1: 'heif', msf1: 'heif' };

export function sniffBytes(b: Buffer): Sniffed | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: 'image', ext: '.jpg', format: 'jpeg' };
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47) return { kind: 'image', ext: '.png', format: 'png' };
  if (ascii(b, 0, 4) === 'GIF8') return { kind: 'image', ext: '.gif', format: 'gif' };
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return { kind: 'image', ext: '.webp', format: 'webp' };
  if (ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*') return { kind: 'image', ext: '.tif', format: 'tiff' };
  if (ascii(b, 4, 8) === 'ftyp') {
    const brand = ascii(b, 8, 12);
    const image = IMAGE_BRANDS[brand];
    if (image) return { kind: 'image', ext: image === 'avif' ? '.avif' : '.heic', format: image };
    if (brand === 'qt  ') return { kind: 'video', ext: '.mov', format: 'mov' };
    return { kind: 'video', ext: '.mp4', format: 'mp4' };
  }
  if (['moov', 'mdat', 'wide', 'free', 'skip'].includes(ascii(b, 4, 8))) return { kind: 'video', ext: '.mov', format: 'mov' };
  if (b.length >= 4 && b.readUInt32BE(0) === 0x1a45dfa3) {
    const webm = b.subarray(0, 64).includes('webm');
    return { kind: 'video', ext: webm ? '.webm' : '.mkv', format: webm ? 'webm' : 'mkv' };
  }
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'AVI ') return { kind: 'video', ext: '.avi', format: 'avi' };
  if (ascii(b, 0, 10) === 'YUV4MPEG2 ') return { kind: 'video', ext: '.y4m', format: 'y4m' };
  if (b.length > 376 && b[0] === 0x47 && b[188] === 0x47 && b[376] === 0x47) return { kind: 'video', ext: '.ts', format: 'mpegts' };
  if (b.length >= 4 && b.readUInt32BE(0) === 0x000001ba) return { kind: 'video', ext: '.mpg', format: 'mpeg' };
  if (ascii(b, 0, 3) === 'FLV') return { kind: 'video', ext: '.flv', format: 'flv' };
  if (ascii(b, 0, 4) === 'OggS') return { kind: 'video', ext: '.ogv', format: 'ogg' };
  if (b.length >= 4 && b.readUInt32BE(0) === 0x3026b275) return { kind: 'video', ext: '.wmv', format: 'asf' };
  return null;
}

export async function sniffFile(path: string): Promise<Sniffed | null> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return sniffBytes(head.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}

const IMAGE_TYPES: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif', tiff: 'image/tiff', gif: 'image/gif', heif: 'image/heif' };
const VIDEO_TYPES: Record<string, string> = { '.mp4': 'video/mp4', '.webm': 'video/webm', '.mov': 'video/quicktime' };

export function imageContentType(format: string): string {
  return IMAGE_TYPES[format] ?? 'application/octet-stream';
}

export function videoContentType(ext: string): string {
  return VIDEO_TYPES[ext] ?? 'application/octet-stream';
}
