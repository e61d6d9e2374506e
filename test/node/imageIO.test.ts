import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hugePngHeader } from '../helpers/images.js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/frame.js';
import {
  DEFAULT_MAX_PIXELS,
  ImageInputError,
  decodeImage,
  encodeGray,
  encodeImage,
  formatFromPath,
  isImagePath,
} from '../../src/node/imageIO.js';
import { testdata, testdataRoot } from '../helpers/testdata.js';

const PORTRAIT = 'tfjs-models/body-segmentation/test_data/portrait.jpg';
/** Corpus JPEGs with embedded ICC profiles that are not plain sRGB ("Camera RGB Profile", "Display P3"). */
const ICC_JPEGS = [
  'tfjs-models/posenet/demos/images/looking_at_computer.jpg',
  'mediapipe/mediapipe/model_maker/python/vision/object_detector/testdata/pascal_voc_data/images/37ca2a3d-IMG_0520.jpg',
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backdrop-imageio-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sha256(data: Uint8Array | Uint8ClampedArray): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Mean absolute difference of two equal-length byte arrays. */
function mad(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** Still-image inputs of the golden manifest with their Pillow-decoded RGB sha256 (column 9). */
function manifestStills(): Map<string, string> {
  const lines = readFileSync(testdata('goldens/MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1);
  const out = new Map<string, string>();
  for (const line of lines) {
    const cols = line.split('\t');
    const [, root, input] = cols;
    if (root !== 'testdata' || input.startsWith('goldens/') || !/\.(jpe?g|png)$/i.test(input)) continue;
    if (!existsSync(join(testdataRoot, input))) continue;
    out.set(input, cols[8]);
  }
  return out;
}

async function expectInputError(promise: Promise<unknown>, message: string | RegExp, code?: string): Promise<ImageInputError> {
  const err = await promise.then(
    () => {
      throw new Error('expected an ImageInputError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageInputError);
  const e = err as ImageInputError;
  if (typeof message === 'string') expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
  expect(e.message).not.toContain('\n');
  if (code) expect(e.code).toBe(code);
  return e;
}

describe('constants and names', () => {
  it('defaults to 100 megapixels', () => {
    expect(DEFAULT_MAX_PIXELS).toBe(100_000_000);
  });

  it('maps extensions to formats', () => {
    expect(formatFromPath('a/b/photo.JPG')).toBe('jpeg');
    expect(formatFromPath('x.jpeg')).toBe('jpeg');
    expect(formatFromPath('x.png')).toBe('png');
    expect(formatFromPath('x.webp')).toBe('webp');
    expect(formatFromPath('x.avif')).toBe('avif');
    expect(formatFromPath('x.tif')).toBe('tiff');
    expect(formatFromPath('x.TIFF')).toBe('tiff');
    expect(formatFromPath('x.gif')).toBeNull();
    expect(formatFromPath('jpg')).toBeNull();
    expect(formatFromPath('archive.png.txt')).toBeNull();
    expect(isImagePath('a.Png')).toBe(true);
    expect(isImagePath('notes.txt')).toBe(false);
  });
});

describe('decodeImage: bad inputs give one clear line', () => {
  it('missing file', async () => {
    const p = join(dir, 'nope.jpg');
    await expectInputError(decodeImage(p), `${p}: no such file`, 'missing');
  });

  it('a folder', async () => {
    const p = join(dir, 'folder.jpg');
    await mkdir(p, { recursive: true });
    await expectInputError(decodeImage(p), `${p} is a folder, not an image file`, 'folder');
  });

  it('zero-byte file and empty buffer', async () => {
    const p = join(dir, 'empty.png');
    await writeFile(p, '');
    await expectInputError(decodeImage(p), `${p} is empty`, 'empty');
    await expectInputError(decodeImage(Buffer.alloc(0), { name: 'upload.png' }), 'upload.png is empty', 'empty');
  });

  it('truncated JPEG (a real photo cut in half) is reported, not decoded grey', async () => {
    const whole = readFileSync(testdata(PORTRAIT));
    const p = join(dir, 'truncated.jpg');
    await writeFile(p, whole.subarray(0, whole.length >> 1));
    const e = await expectInputError(decodeImage(p), /: truncated or corrupt image \(.+\)$/, 'corrupt');
    expect(e.message.startsWith(`${p}: truncated or corrupt image`)).toBe(true);
  });

  it('truncated PNG', async () => {
    const png = await sharp(testdata(PORTRAIT)).png().toBuffer();
    await expectInputError(decodeImage(png.subarray(0, png.length >> 1), { name: 'cut.png' }), /^cut\.png: truncated or corrupt image/, 'corrupt');
  });

  it('text renamed .jpg', async () => {
    const p = join(dir, 'notes.jpg');
    await writeFile(p, 'these are not the pixels you are looking for\n');
    await expectInputError(decodeImage(p), `${p}: not a supported image format`, 'unsupported');
  });

  it('a 30000×30000 PNG is refused by the pixel limit from its header, quickly and without allocating', async () => {
    const p = join(dir, 'huge.png');
    const bytes = hugePngHeader(30000, 30000);
    expect(bytes.length).toBeLessThan(1_000_000);
    await writeFile(p, bytes);
    const rssBefore = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    await expectInputError(
      decodeImage(p),
      `${p} is 30000×30000 = 900 megapixels, over the limit of 100 megapixels; raise it with --max-pixels`,
      'too-large',
    );
    // Refused from the header: no decoding. CPU time (all threads, libvips's too), not wall time,
    // which a shared machine stretches; decoding 900 megapixels would take tens of core-seconds.
    const cpu = process.cpuUsage(cpu0);
    const grewMB = (process.memoryUsage().rss - rssBefore) / 1e6;
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(1000);
    expect(grewMB).toBeLessThan(200);
    await expectInputError(decodeImage(p, { maxPixels: 899_999_999 }), /= 900 megapixels, over the limit of 899\.999999 megapixels/);
    await expectInputError(decodeImage(p, { maxPixels: 100_200_000 }), /= 900 megapixels, over the limit of 100\.2 megapixels/);
    // A custom limit is named in the message with enough digits to differ from the image size.
    await expectInputError(decodeImage(testdata(PORTRAIT), { maxPixels: 500_000 }), /is 820×1024 = 0\.84 megapixels, over the limit of 0\.5 megapixels/);
  });
});

describe('decodeImage: matches the golden decodes (Pillow, ICC ignored)', () => {
  it('portrait.jpg decodes to the manifest input_rgb_sha256', async () => {
    const expected = manifestStills().get(PORTRAIT);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    const { frame, format, hasAlpha, width, height } = await decodeImage(testdata(PORTRAIT));
    expect([format, hasAlpha, width, height, frame.channels]).toEqual(['jpeg', false, 820, 1024, 3]);
    expect(sha256(frame.data)).toBe(expected);
  });

  it('every still image of the corpus is bit-identical to its golden decode', async () => {
    const stills = manifestStills();
    expect(stills.size).toBeGreaterThan(100);
    const mismatches: string[] = [];
    for (const [input, expected] of stills) {
      const { frame } = await decodeImage(join(testdataRoot, input));
      if (sha256(frame.data) !== expected) mismatches.push(input);
    }
    expect(mismatches).toEqual([]);
  });

  it('embedded ICC profiles of RGB images are ignored (raw values, as the goldens)', async () => {
    const stills = manifestStills();
    for (const input of ICC_JPEGS) {
      const path = testdata(input);
      expect((await sharp(path).metadata()).icc).toBeDefined();
      const { frame } = await decodeImage(path);
      expect(sha256(frame.data)).toBe(stills.get(input));
      // sharp's default (profile applied) would differ.
      const managed = await sharp(path).toColourspace('srgb').raw().toBuffer();
      expect(mad(frame.data, managed)).toBeGreaterThan(0.5);
    }
  });
});

describe('decodeImage: colour spaces, depths, alpha, orientation', () => {
  let upright: Frame;
  beforeAll(async () => {
    upright = (await decodeImage(testdata(PORTRAIT))).frame;
  });

  it('CMYK JPEG without a profile converts to RGB close to the original', async () => {
    const cmyk = await sharp(testdata(PORTRAIT)).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const { frame, format } = await decodeImage(cmyk);
    expect(format).toBe('jpeg');
    expect(frame.channels).toBe(3);
    // The sRGB → CMYK → sRGB round trip through sharp's generic print profile itself costs ≈ 13
    // levels: perceptual intent, no black-point compensation (black comes back as 10/5/0, mid-grey
    // 128 as 116/115/114), and this photo is dark. Decoding alone is what is being tested: it must
    // give the same colours as the round trip through the same profile, within JPEG loss.
    expect(mad(frame.data, upright.data)).toBeLessThan(16);
    const viaTiff = await sharp(await sharp(testdata(PORTRAIT)).toColourspace('cmyk').tiff().toBuffer()).toColourspace('srgb').raw().toBuffer();
    expect(mad(frame.data, viaTiff)).toBeLessThan(2);
    const mean = (f: Frame, c: number): number => {
      let s = 0;
      for (let i = c; i < f.data.length; i += 3) s += f.data[i];
      return s / (f.width * f.height);
    };
    for (let c = 0; c < 3; c++) expect(Math.abs(mean(frame, c) - mean(upright, c))).toBeLessThan(22);
  });

  it('CMYK JPEG with an embedded CMYK profile uses it', async () => {
    const cmyk = await sharp(testdata(PORTRAIT)).toColourspace('cmyk').withIccProfile('cmyk').jpeg({ quality: 95 }).toBuffer();
    const meta = await sharp(cmyk).metadata();
    expect([meta.space, meta.icc !== undefined]).toEqual(['cmyk', true]);
    const { frame } = await decodeImage(cmyk);
    expect(frame.channels).toBe(3);
    expect(mad(frame.data, upright.data)).toBeLessThan(16);
  });

  it('16-bit grey PNG comes out 8-bit with correct values, replicated to RGB', async () => {
    const values = [0, 0x00ff, 0x0100, 0x7fff, 0x8080, 0xfeff, 0xff00, 0xffff];
    const png = await sharp(new Uint16Array(values), { raw: { width: values.length, height: 1, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    const meta = await sharp(png).metadata();
    expect([meta.space, meta.depth]).toEqual(['grey16', 'ushort']);
    const { frame } = await decodeImage(png);
    expect(frame.channels).toBe(3);
    const grey = Array.from({ length: values.length }, (_, i) => frame.data[3 * i]);
    // The high byte, as Pillow and libpng's strip-16 do: 0xFFFF → 255.
    expect(grey).toEqual([0, 0, 1, 127, 128, 254, 255, 255]);
    for (let i = 0; i < values.length; i++) {
      expect(frame.data[3 * i + 1]).toBe(grey[i]);
      expect(frame.data[3 * i + 2]).toBe(grey[i]);
    }
  });

  it('16-bit RGB PNG of a photo decodes to the 8-bit photo', async () => {
    const png16 = await sharp(testdata(PORTRAIT)).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const { frame } = await decodeImage(png16);
    expect([frame.width, frame.height, frame.channels]).toEqual([820, 1024, 3]);
    expect(mad(frame.data, upright.data)).toBeLessThan(0.6);
  });

  it('8-bit grey JPEG and PNG are replicated to 3 equal channels', async () => {
    for (const enc of ['jpeg', 'png'] as const) {
      const grey = await sharp(testdata(PORTRAIT)).toColourspace('b-w')[enc]().toBuffer();
      const meta = await sharp(grey).metadata();
      expect(meta.channels).toBe(1);
      const { frame } = await decodeImage(grey);
      expect(frame.channels).toBe(3);
      const raw = await sharp(grey).extractChannel(0).raw().toBuffer();
      for (let i = 0; i < raw.length; i += 997) {
        expect([frame.data[3 * i], frame.data[3 * i + 1], frame.data[3 * i + 2]]).toEqual([raw[i], raw[i], raw[i]]);
      }
    }
  });

  it('palette PNG decodes to RGB', async () => {
    const pal = await sharp(testdata(PORTRAIT)).resize(64, 64).png({ palette: true, colours: 16 }).toBuffer();
    expect((await sharp(pal).metadata()).isPalette).toBe(true);
    const { frame } = await decodeImage(pal);
    expect([frame.width, frame.height, frame.channels]).toEqual([64, 64, 3]);
  });

  it('RGBA PNG: alpha dropped by default (straight colour kept), kept with keepAlpha', async () => {
    const w = 4;
    const rgba = Buffer.from([255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 10, 20, 30, 40]);
    const png = await sharp(rgba, { raw: { width: w, height: 1, channels: 4 } }).png().toBuffer();
    const rgb = await decodeImage(png);
    expect(rgb.hasAlpha).toBe(true);
    expect(rgb.frame.channels).toBe(3);
    expect(Array.from(rgb.frame.data)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
    const kept = await decodeImage(png, { keepAlpha: true });
    expect(kept.frame.channels).toBe(4);
    expect(Array.from(kept.frame.data)).toEqual(Array.from(rgba));
    // keepAlpha on an image without alpha stays RGB.
    const jpeg = await decodeImage(testdata(PORTRAIT), { keepAlpha: true });
    expect([jpeg.hasAlpha, jpeg.frame.channels]).toEqual([false, 3]);
  });

  it('grey + alpha PNG with keepAlpha gives RGBA', async () => {
    const ga = await sharp(Buffer.from([10, 20, 200, 255]), { raw: { width: 2, height: 1, channels: 2 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const { frame, hasAlpha } = await decodeImage(ga, { keepAlpha: true });
    expect(hasAlpha).toBe(true);
    expect(Array.from(frame.data)).toEqual([10, 10, 10, 20, 200, 200, 200, 255]);
  });

  it('EXIF orientation 6 is applied: size swapped, content upright', async () => {
    // A non-square image, stored sideways with orientation 6 ("rotate 90° clockwise to view").
    const w = 240;
    const h = 160;
    const stored = await sharp(testdata(PORTRAIT)).resize(w, h, { fit: 'fill' }).png().toBuffer();
    const storedRaw = await sharp(stored).raw().toBuffer();
    const jpeg = await sharp(stored).jpeg({ quality: 98, chromaSubsampling: '4:4:4' }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const { frame, width, height } = await decodeImage(jpeg);
    expect([width, height, frame.width, frame.height]).toEqual([h, w, h, w]);
    // Rotate the stored pixels 90° clockwise by hand: upright (x, y) = stored (y, h - 1 - x).
    const expected = new Uint8Array(w * h * 3);
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < h; x++) {
        const src = ((h - 1 - x) * w + y) * 3;
        const dst = (y * h + x) * 3;
        for (let c = 0; c < 3; c++) expected[dst + c] = storedRaw[src + c];
      }
    }
    expect(mad(frame.data, expected)).toBeLessThan(3);
    // The wrong rotation would be far off.
    const wrong = new Uint8Array(w * h * 3);
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < h; x++) {
        const src = (x * w + (w - 1 - y)) * 3;
        for (let c = 0; c < 3; c++) wrong[(y * h + x) * 3 + c] = storedRaw[src + c];
      }
    }
    expect(mad(frame.data, wrong)).toBeGreaterThan(10);
  });
});

describe('encodeImage', () => {
  let photo: Frame;
  let rgba: Frame;
  beforeAll(async () => {
    photo = (await decodeImage(await sharp(testdata(PORTRAIT)).resize(320, 400).png().toBuffer())).frame;
    const data = new Uint8Array(photo.width * photo.height * 4);
    for (let i = 0; i < photo.width * photo.height; i++) {
      data.set(photo.data.subarray(3 * i, 3 * i + 3), 4 * i);
      data[4 * i + 3] = i % 256;
    }
    rgba = { width: photo.width, height: photo.height, channels: 4, data: new Uint8ClampedArray(data.buffer) };
  });

  it('PNG and TIFF are lossless for RGB and RGBA', async () => {
    for (const fmt of ['png', 'tiff'] as const) {
      for (const f of [photo, rgba]) {
        const buf = await encodeImage(f, fmt);
        const meta = await sharp(buf).metadata();
        expect(meta.format).toBe(fmt);
        expect(meta.channels).toBe(f.channels);
        const back = await decodeImage(buf, { keepAlpha: true });
        expect(back.frame.channels).toBe(f.channels);
        expect(sha256(back.frame.data)).toBe(sha256(new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength)));
      }
    }
  });

  it('JPEG: quality 90 by default, close to the input; refuses alpha', async () => {
    const buf = await encodeImage(photo, 'jpeg');
    expect((await sharp(buf).metadata()).format).toBe('jpeg');
    expect(mad((await decodeImage(buf)).frame.data, photo.data)).toBeLessThan(3);
    const small = await encodeImage(photo, 'jpeg', { quality: 30 });
    expect(small.length).toBeLessThan(buf.length);
    await expect(encodeImage(rgba, 'jpeg')).rejects.toThrow(/JPEG cannot store transparency/);
  });

  it('WebP keeps alpha; AVIF decodes back', async () => {
    const webp = await encodeImage(rgba, 'webp');
    const meta = await sharp(webp).metadata();
    expect([meta.format, meta.hasAlpha]).toEqual(['webp', true]);
    const back = await decodeImage(webp, { keepAlpha: true });
    expect(back.frame.channels).toBe(4);
    expect(mad(back.frame.data, rgba.data)).toBeLessThan(4);
    const avif = await encodeImage(photo, 'avif');
    expect((await sharp(avif).metadata()).format).toBe('heif');
    expect(mad((await decodeImage(avif)).frame.data, photo.data)).toBeLessThan(6);
  });

  it('validates frames and options', async () => {
    await expect(encodeImage({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) }, 'png')).rejects.toThrow(RangeError);
    await expect(encodeImage(photo, 'jpeg', { quality: 0 })).rejects.toThrow(/quality/);
    const wide: Frame = { width: 16384, height: 1, channels: 3, data: new Uint8Array(16384 * 3) };
    await expect(encodeImage(wide, 'webp')).rejects.toThrow(/WEBP images can be at most 16383×16383/);
  });
});

describe('encodeGray', () => {
  const w = 37;
  const h = 23;
  const data = Uint8Array.from({ length: w * h }, (_, i) => (i * 7) & 255);

  it('PNG, TIFF and JPEG are real 1-channel grey files; PNG, TIFF and WebP are lossless', async () => {
    for (const fmt of ['png', 'tiff', 'jpeg', 'webp'] as const) {
      const buf = await encodeGray(data, w, h, fmt);
      const meta = await sharp(buf).metadata();
      expect(meta.format).toBe(fmt);
      expect([meta.width, meta.height]).toEqual([w, h]);
      if (fmt !== 'webp') expect(meta.channels).toBe(1);
      if (fmt === 'png') expect(meta.depth).toBe('uchar');
      const raw = await sharp(buf).extractChannel(0).raw().toBuffer();
      if (fmt === 'jpeg') expect(mad(raw, data)).toBeLessThan(12);
      else expect(Array.from(raw)).toEqual(Array.from(data));
    }
  });

  it('checks the buffer size', async () => {
    await expect(encodeGray(new Uint8Array(10), 4, 4, 'png')).rejects.toThrow(/needs 16/);
  });
});
