import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listImages, loadBackgroundImages } from '../../src/node/imageFolder.js';
import { ImageInputError } from '../../src/node/imageIO.js';
import { testdata } from '../helpers/testdata.js';

const PORTRAIT = 'tfjs-models/body-segmentation/test_data/portrait.jpg';

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'backdrop-imagefolder-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const d = join(root, `case${n++}`);
  await mkdir(d);
  return d;
}

async function smallPng(width: number, height: number, rgba = false): Promise<Buffer> {
  const img = sharp(testdata(PORTRAIT)).resize(width, height, { fit: 'fill' });
  return (rgba ? img.ensureAlpha(0.5) : img).png().toBuffer();
}

describe('listImages', () => {
  it('lists image files in natural order, skipping hidden files, temp files and other extensions', async () => {
    const d = await freshDir();
    const names = ['img10.png', 'img2.png', 'img1.jpg', 'IMG3.JPEG', 'b.webp', 'c.avif', 'd.tif', 'e.TIFF', '.hidden.png', '.out.png.backdrop-123-abcdef.tmp', 'notes.txt', 'movie.mp4'];
    for (const name of names) await writeFile(join(d, name), '');
    await mkdir(join(d, 'sub'));
    await writeFile(join(d, 'sub', 'img0.png'), '');
    await mkdir(join(d, '.git'));
    await writeFile(join(d, '.git', 'x.png'), '');
    await mkdir(join(d, 'folder.png')); // a folder with an image-like name is not an image
    expect(await listImages(d)).toEqual(['b.webp', 'c.avif', 'd.tif', 'e.TIFF', 'img1.jpg', 'img2.png', 'IMG3.JPEG', 'img10.png'].map((f) => join(d, f)));
    const all = await listImages(d, { recursive: true });
    expect(all).toContain(join(d, 'sub', 'img0.png'));
    expect(all).not.toContain(join(d, '.git', 'x.png'));
    expect(all).toHaveLength(9);
  });

  it('follows symlinks to files and (when recursive) folders', async () => {
    const d = await freshDir();
    const other = await freshDir();
    await writeFile(join(other, 'real.png'), '');
    await symlink(join(other, 'real.png'), join(d, 'link.png'));
    await symlink(other, join(d, 'linked'));
    expect(await listImages(d)).toEqual([join(d, 'link.png')]);
    expect(await listImages(d, { recursive: true })).toEqual([join(d, 'link.png'), join(d, 'linked', 'real.png')]);
  });

  it('a missing folder or a file is a clear error', async () => {
    const d = await freshDir();
    await expect(listImages(join(d, 'nope'))).rejects.toThrow(`${join(d, 'nope')}: no such folder`);
    await writeFile(join(d, 'a.png'), '');
    await expect(listImages(join(d, 'a.png'))).rejects.toThrow(`${join(d, 'a.png')} is not a folder`);
  });
});

describe('loadBackgroundImages', () => {
  it('a single file gives one RGB frame, even from RGBA', async () => {
    const d = await freshDir();
    const p = join(d, 'bg.png');
    await writeFile(p, await smallPng(40, 30, true));
    const warnings: string[] = [];
    const frames = await loadBackgroundImages(p, { onWarning: (m) => warnings.push(m) });
    expect(frames).toHaveLength(1);
    expect([frames[0].width, frames[0].height, frames[0].channels]).toEqual([40, 30, 3]);
    expect(frames[0].data.length).toBe(40 * 30 * 3);
    expect(warnings).toEqual([]);
  });

  it('a single bad file throws its decode error', async () => {
    const d = await freshDir();
    await expect(loadBackgroundImages(join(d, 'missing.jpg'), { onWarning: () => {} })).rejects.toThrow(`${join(d, 'missing.jpg')}: no such file`);
    const p = join(d, 'text.jpg');
    await writeFile(p, 'not an image');
    await expect(loadBackgroundImages(p, { onWarning: () => {} })).rejects.toThrow(`${p}: not a supported image format`);
  });

  it('a folder gives every usable image in natural order and warns about the rest', async () => {
    const d = await freshDir();
    await writeFile(join(d, 'bg10.png'), await smallPng(10, 10));
    await writeFile(join(d, 'bg2.jpg'), await sharp(await smallPng(20, 10)).jpeg().toBuffer());
    await writeFile(join(d, 'corrupt.jpg'), 'not an image at all');
    const whole = await sharp(testdata(PORTRAIT)).resize(100, 100).jpeg().toBuffer();
    await writeFile(join(d, 'truncated.jpg'), whole.subarray(0, whole.length >> 1));
    await writeFile(join(d, 'empty.png'), '');
    await writeFile(join(d, 'big.png'), await smallPng(300, 200));
    await writeFile(join(d, 'notes.txt'), 'hello');
    await writeFile(join(d, '.DS_Store'), 'junk');
    const warnings: string[] = [];
    const frames = await loadBackgroundImages(d, { onWarning: (m) => warnings.push(m), maxPixels: 50_000 });
    expect(frames.map((f) => [f.width, f.height, f.channels])).toEqual([
      [20, 10, 3],
      [10, 10, 3],
    ]);
    expect(warnings).toEqual([
      `skipping ${join(d, 'notes.txt')}: not an image file (expected .jpg, .png, .webp, .avif or .tif)`,
      `skipping ${join(d, 'big.png')}: is 300×200 = 0.06 megapixels, over the limit of 0.05 megapixels; raise it with --max-pixels`,
      `skipping ${join(d, 'corrupt.jpg')}: not a supported image format`,
      `skipping ${join(d, 'empty.png')}: is empty`,
      expect.stringMatching(new RegExp(`^skipping ${join(d, 'truncated.jpg').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated or corrupt image \\(.+\\)$`)),
    ]);
  });

  it('a folder without usable images is an error', async () => {
    const d = await freshDir();
    await writeFile(join(d, 'corrupt.png'), 'nope');
    const warnings: string[] = [];
    const err = await loadBackgroundImages(d, { onWarning: (m) => warnings.push(m) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageInputError);
    expect((err as Error).message).toBe(`no usable images in ${d}`);
    expect(warnings).toHaveLength(1);
    const empty = await freshDir();
    await expect(loadBackgroundImages(empty, { onWarning: () => {} })).rejects.toThrow(`no usable images in ${empty}`);
  });
});
