/** Images made at test time. */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** A valid PNG header claiming width×height RGB pixels, with only one row of (zero) data: tiny on disk. */
export function hugePngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1 + width * 3))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}


/**
 * Mean |a − b| over RGB of the pixels `select` picks among `pixels` (a is RGBA, b RGB or RGBA), and
 * the share of those within 3 levels.
 */
export function meanDiff(a: Uint8Array, b: Uint8Array, bChannels: 3 | 4, pixels: number, select: (i: number) => boolean): { mean: number; n: number; within3: number } {
  let sum = 0, n = 0, within = 0;
  for (let i = 0; i < pixels; i++) {
    if (!select(i)) continue;
    let px = 0;
    for (let c = 0; c < 3; c++) px += Math.abs(a[i * 4 + c] - b[i * bChannels + c]);
    sum += px / 3;
    if (px / 3 <= 3) within++;
    n++;
  }
  return { mean: n ? sum / n : 0, n, within3: n ? within / n : 0 };
}

/** How many of `pixels` each predicate picks: a test judging person vs background needs enough of both. */
export function countPixels(pixels: number, person: (i: number) => boolean, background: (i: number) => boolean): { person: number; background: number } {
  let p = 0, b = 0;
  for (let i = 0; i < pixels; i++) {
    if (person(i)) p++;
    if (background(i)) b++;
  }
  return { person: p, background: b };
}
