/** The `backdrop` command on real photos: effects, outputs, batches and every kind of bad input. */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accumulate, emptyTally, iou } from '../../eval/metrics.js';
import { builtinOnnx } from '../../src/node/models.js';
import { sessionsCreated } from '../../src/node/onnxBackend.js';
import { createBackdrop } from '../../src/node/facade.js';
import { decodeImage } from '../../src/node/imageIO.js';
import { cli } from '../helpers/cli.js';
import { hugePngHeader } from '../helpers/images.js';
import { testdata } from '../helpers/testdata.js';

const PORTRAIT = 'tfjs-models/body-segmentation/test_data/portrait.jpg';
let dir: string;
let photo: string;
/** The refined mask of the portrait, as the reference for which pixels are person. */
let mask: Float32Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backdrop-cli-'));
  photo = join(dir, 'portrait.jpg');
  await writeFile(photo, await readFile(testdata(PORTRAIT)));
  const backdrop = await createBackdrop();
  mask = (await backdrop.mask((await decodeImage(photo)).frame)).data;
  await backdrop.close();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const sha = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');
const rgb = async (p: string) => (await sharp(p).removeAlpha().raw().toBuffer({ resolveWithObject: true })).data;

/** Mean absolute RGB difference between two images over the pixels `where` selects. */
function meanDiff(a: Uint8Array, b: Uint8Array, where: (i: number) => boolean): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length / 3; i++) {
    if (!where(i)) continue;
    sum += Math.abs(a[3 * i] - b[3 * i]) + Math.abs(a[3 * i + 1] - b[3 * i + 1]) + Math.abs(a[3 * i + 2] - b[3 * i + 2]);
    n += 3;
  }
  expect(n).toBeGreaterThan(1000);
  return sum / n;
}
const person = (i: number) => mask[i] > 0.99;
const background = (i: number) => mask[i] < 0.01;

async function freshDir(name: string): Promise<string> {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  return d;
}

describe('effects', () => {
  it('--help teaches the effects, examples and exit codes', async () => {
    const run = await cli('--help');
    expect(run.code).toBe(0);
    for (const s of ['--blur', '--background', '--color', '--transparent', '--mask', '--model', '--threshold', '--softness', '--refine', '--invert', '--force', '--json', 'Examples:', 'Exit status']) {
      expect(run.stdout).toContain(s);
    }
  });

  it('--version (and -V) prints the version in package.json', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await cli(flag);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${version}\n`);
    }
  });

  it('blurs the background by default into <name>_out.jpg beside the input, keeping the person', async () => {
    const run = await cli(photo);
    expect(run.code).toBe(0);
    const out = join(dir, 'portrait_out.jpg');
    expect((await sharp(out).metadata()).format).toBe('jpeg');
    const [input, output] = [await rgb(photo), await rgb(out)];
    expect(meanDiff(input, output, person)).toBeLessThan(4); // JPEG re-encoding only
    expect(meanDiff(input, output, background)).toBeGreaterThan(8); // blurred
    await rm(out);
  });

  it('--color paints the background and keeps the person', async () => {
    const out = join(dir, 'green.png');
    expect((await cli(photo, '--color', 'rgb(0, 177, 64)', '-o', out)).code).toBe(0);
    const output = await rgb(out);
    const green = Uint8Array.from({ length: output.length }, (_, i) => [0, 177, 64][i % 3]);
    expect(meanDiff(output, green, background)).toBeLessThan(1.5);
    expect(meanDiff(await rgb(photo), output, person)).toBeLessThan(1);
  });

  it('--transparent writes an RGBA PNG whose alpha is the mask', async () => {
    const out = join(dir, 'cut.png');
    expect((await cli(photo, '--transparent', '-o', out)).code).toBe(0);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    let err = 0;
    for (let i = 0; i < mask.length; i++) err += Math.abs(data[4 * i + 3] / 255 - mask[i]);
    expect(err / mask.length).toBeLessThan(0.005);
  });

  it('--mask --invert gives the complement of --mask', async () => {
    const a = join(dir, 'm.png');
    const b = join(dir, 'm-inv.png');
    expect((await cli(photo, '--mask', '-o', a)).code).toBe(0);
    expect((await cli(photo, '--mask', '--invert', '-o', b)).code).toBe(0);
    const [ma, mb] = [await sharp(a).extractChannel(0).raw().toBuffer(), await sharp(b).extractChannel(0).raw().toBuffer()];
    let worst = 0;
    for (let i = 0; i < ma.length; i++) worst = Math.max(worst, Math.abs(ma[i] + mb[i] - 255));
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('--refine guided (the default) writes the guided-filter mask; --refine bilateral a different one', async () => {
    const help = (await cli('--help')).stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/guided \(the default, for photos and for video and cameras\): snapped to the picture's own edges by a guided filter/);
    expect(help).toMatch(/bilinear: smooth, the faster option;/);
    const [g, d, b] = ['g.png', 'd.png', 'b.png'].map((f) => join(dir, f));
    expect((await cli(photo, '--mask', '--refine', 'guided', '-o', g)).code).toBe(0);
    expect((await cli(photo, '--mask', '-o', d)).code).toBe(0);
    expect((await cli(photo, '--mask', '--refine', 'bilateral', '-o', b)).code).toBe(0);
    const grey = async (p: string) => sharp(p).extractChannel(0).raw().toBuffer();
    const [mg, md, mb] = [await grey(g), await grey(d), await grey(b)];
    expect(Buffer.compare(mg, md)).toBe(0);
    // The core's guided mask of the same photo (beforeAll's default mask), to 8-bit rounding.
    let worst = 0, differ = 0;
    for (let i = 0; i < mg.length; i++) {
      worst = Math.max(worst, Math.abs(mg[i] - mask[i] * 255));
      if (Math.abs(mg[i] - mb[i]) > 64) differ++;
    }
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-3);
    // Bilateral edges sit elsewhere on thousands of edge pixels (measured: 3888, 0.5 % of the portrait).
    expect(differ).toBeGreaterThan(1000);
    // --softness 0 with guided edges is still a hard cut.
    const hard = join(dir, 'hard.png');
    expect((await cli(photo, '--mask', '--refine', 'guided', '--softness', '0', '-o', hard)).code).toBe(0);
    expect((await grey(hard)).every((v) => v === 0 || v === 255)).toBe(true);
  });

  it('a --background folder is used in turn across a batch, skipping a non-image with a warning', async () => {
    const bgs = await freshDir('bgs');
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#ff0000' } }).png().toFile(join(bgs, 'a-red.png'));
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#0000ff' } }).png().toFile(join(bgs, 'b-blue.png'));
    await writeFile(join(bgs, 'notes.jpg'), 'not an image');
    const ins = await freshDir('two');
    await writeFile(join(ins, '1.jpg'), await readFile(photo));
    await writeFile(join(ins, '2.jpg'), await readFile(photo));
    const outs = join(dir, 'two-out');
    const run = await cli(ins, '--background', bgs, '--light-wrap', '0', '-o', outs, '--format', 'png');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/warning: skipping .*notes\.jpg: /);
    const mean = async (p: string) => {
      const d = await rgb(p);
      const s = [0, 0, 0];
      let n = 0;
      for (let i = 0; i < mask.length; i++) {
        if (!background(i)) continue;
        for (let c = 0; c < 3; c++) s[c] += d[3 * i + c];
        n++;
      }
      return s.map((v) => v / n);
    };
    const [r1, , b1] = await mean(join(outs, '1.png'));
    const [r2, , b2] = await mean(join(outs, '2.png'));
    expect(r1).toBeGreaterThan(250);
    expect(b1).toBeLessThan(5);
    expect(b2).toBeGreaterThan(250);
    expect(r2).toBeLessThan(5);
  });

  it('writes a photo with alpha to JPEG by dropping the alpha, and keeps it in PNG', async () => {
    const rgba = join(dir, 'rgba.png');
    await sharp(photo).ensureAlpha(0.5).png().toFile(rgba);
    expect((await cli(rgba, '-o', join(dir, 'rgba.jpg'))).code).toBe(0);
    expect((await sharp(join(dir, 'rgba.jpg')).metadata()).channels).toBe(3);
    expect((await cli(rgba, '-o', join(dir, 'rgba-out.png'))).code).toBe(0);
    const alpha = async (p: string) => sharp(p).extractChannel(3).raw().toBuffer();
    expect((await alpha(join(dir, 'rgba-out.png'))).equals(await alpha(rgba))).toBe(true);
  });

  it('runs your own ONNX model given a spec, with the same result as the built-in one', async () => {
    const model = join(dir, 'mine.onnx');
    await writeFile(model, await builtinOnnx('general'));
    const spec = { inputWidth: 256, inputHeight: 256, inputLayout: 'nhwc', inputRange: [0, 1], outputWidth: 256, outputHeight: 256, outputChannels: 1, outputLayout: 'nhwc', personChannel: 0, activation: 'none' };
    const a = join(dir, 'own.png');
    const b = join(dir, 'builtin.png');
    expect((await cli(photo, '--mask', '--model', model, '--model-spec', JSON.stringify(spec), '-o', a)).code).toBe(0);
    expect((await cli(photo, '--mask', '-o', b)).code).toBe(0);
    expect(await sha(a)).toBe(await sha(b));
    const missing = await cli(photo, '--mask', '--model', model, '-o', join(dir, 'x.png'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('needs --model-spec');
  });

  it('--roi: a person far away is cut out with a zoomed second look by default, --roi off is the model alone', async () => {
    const far = testdata('davis2016/DAVIS/JPEGImages/480p/breakdance-flare/00000.jpg');
    const truthFile = testdata('davis2016/DAVIS/Annotations/480p/breakdance-flare/00000.png');
    const truth = Float32Array.from(await sharp(truthFile).extractChannel(0).raw().toBuffer(), (v) => (v >= 128 ? 1 : 0));
    const noBand = new Uint8Array(truth.length); // IoU only: no boundary error wanted
    const iouOf = async (p: string) => {
      const t = emptyTally();
      accumulate(t, Float32Array.from(await sharp(p).extractChannel(0).raw().toBuffer(), (v) => v / 255), truth, noBand);
      return iou(t);
    };
    const auto = join(dir, 'far-auto.png');
    const off = join(dir, 'far-off.png');
    expect((await cli(far, '--mask', '-o', auto)).code).toBe(0);
    expect((await cli(far, '--mask', '--roi', 'off', '-o', off)).code).toBe(0);
    // Measured: 0.69 with the zoom against 0.51 without.
    expect(await iouOf(auto)).toBeGreaterThan((await iouOf(off)) + 0.05);
    const bad = await cli(far, '--roi', 'on', '-o', join(dir, 'x.jpg'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--roi.*auto, off/);
  });

  it('loads the model once for a folder of 50 photos and prints a JSON summary', async () => {
    const many = await freshDir('fifty');
    const small = await sharp(photo).resize(160, 200).jpeg().toBuffer();
    for (let i = 0; i < 50; i++) await writeFile(join(many, `p${i}.jpg`), small);
    const before = sessionsCreated();
    const run = await cli(many, '--json', '-o', join(dir, 'fifty-out'));
    expect(sessionsCreated() - before).toBe(1);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ ok: true, written: 50, failed: 0, model: 'general' });
    expect((await readdir(join(dir, 'fifty-out'))).length).toBe(50);
  });

  it('works as the installed `backdrop` binary', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['dist/node/cli.js', photo, '--mask', '-o', join(dir, 'bin.png'), '--json']);
    expect(JSON.parse(stdout).written).toBe(1);
  });
});

describe('bad input: one line naming the file and the reason, the batch goes on, nothing partial is left', () => {
  it('handles a batch of broken files beside a good one', async () => {
    const bad = await freshDir('bad');
    const good = join(bad, 'good.jpg');
    await writeFile(good, await readFile(photo));
    await writeFile(join(bad, 'empty.jpg'), '');
    const full = await readFile(photo);
    await writeFile(join(bad, 'truncated.jpg'), full.subarray(0, full.length >> 1));
    await writeFile(join(bad, 'text.jpg'), 'hello, I am not a JPEG\n'.repeat(20));
    // A 30000×30000 PNG: a valid header is enough for the pixel limit to refuse it unread.
    await writeFile(join(bad, 'huge.png'), hugePngHeader(30000, 30000));
    const missing = join(bad, 'missing.jpg');
    const outs = join(dir, 'bad-out');
    const run = await cli(join(bad, 'empty.jpg'), join(bad, 'truncated.jpg'), join(bad, 'text.jpg'), join(bad, 'huge.png'), missing, good, '-o', outs);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n').filter((l) => l.startsWith('error:'));
    expect(lines).toHaveLength(5);
    expect(lines.find((l) => l.includes('empty.jpg'))).toMatch(/empty/);
    expect(lines.find((l) => l.includes('truncated.jpg'))).toMatch(/truncated|corrupt/);
    expect(lines.find((l) => l.includes('text.jpg'))).toMatch(/not a supported image/);
    expect(lines.find((l) => l.includes('huge.png'))).toMatch(/30000×30000.*limit/);
    expect(lines.find((l) => l.includes('missing.jpg'))).toMatch(/no such file/);
    expect(run.stderr).toContain('1 written, 5 failed');
    expect(await readdir(outs)).toEqual(['good.jpg']);
  }, 60_000);

  it('refuses to overwrite an input, even by another path', async () => {
    const before = await sha(photo);
    const run = await cli(photo, '-o', join(dir, '.', 'portrait.jpg'), '--force');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refusing to overwrite the input/);
    expect(await sha(photo)).toBe(before);
  });

  it('refuses an existing output without --force and replaces it with --force', async () => {
    const out = join(dir, 'exists.jpg');
    await writeFile(out, 'precious');
    const run = await cli(photo, '-o', out);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/exists; use --force/);
    expect(await readFile(out, 'utf8')).toBe('precious');
    expect((await cli(photo, '-o', out, '--force')).code).toBe(0);
    expect((await sharp(out).metadata()).format).toBe('jpeg');
  });

  it('reports an output folder it cannot write into and leaves no temp file', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'x');
    const run = await cli(photo, '-o', join(blocker, 'out.jpg'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot write .*out\.jpg/);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('names a folder given where an image file is needed', async () => {
    const backdrop = await createBackdrop();
    await expect(backdrop.processFile(dir, join(dir, 'folder-out.jpg'))).rejects.toThrow(/is a folder, not an image file/);
    await backdrop.close();
    await expect(stat(join(dir, 'folder-out.jpg'))).rejects.toThrow();
  });

  it('rejects bad option values with a usage error', async () => {
    for (const args of [['--threshold', '2'], ['--color', 'notacolour'], ['--blur', '500'], ['--refine', 'magic'], ['--blur', '--mask']]) {
      const run = await cli(photo, ...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.length).toBeGreaterThan(0);
    }
    const twoAsCamera = await cli(photo, photo, '--loop');
    expect(twoAsCamera.code).toBe(2);
    expect(twoAsCamera.stderr).toMatch(/--live and --loop play one video file as a camera/);
    const transparentJpeg = await cli(photo, '--transparent', '-o', join(dir, 't.jpg'));
    expect(transparentJpeg.code).not.toBe(0);
    expect(transparentJpeg.stderr).toMatch(/transparen/);
  });
});

describe('unusual but valid photos come out right', () => {
  it('CMYK, 16-bit, grey, alpha and EXIF-rotated photos', async () => {
    const src = sharp(photo);
    const cases = join(dir, 'cases');
    await mkdir(cases);
    await src.clone().toColourspace('cmyk').jpeg().toFile(join(cases, 'cmyk.jpg'));
    await src.clone().toColourspace('rgb16').png().toFile(join(cases, 'deep.png'));
    await src.clone().greyscale().jpeg().toFile(join(cases, 'grey.jpg'));
    await src.clone().ensureAlpha(0.5).png().toFile(join(cases, 'alpha.png'));
    // Stored sideways with orientation 6: viewers (and backdrop) show it upright.
    await src.clone().rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toFile(join(cases, 'rotated.jpg'));
    const outs = join(dir, 'cases-out');
    const run = await cli(cases, '--mask', '-o', outs);
    expect(run.code, run.stderr).toBe(0);
    const { width, height } = await sharp(photo).metadata();
    for (const f of ['cmyk', 'deep', 'grey', 'alpha', 'rotated']) {
      const { data, info } = await sharp(join(outs, `${f}.png`)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height], f).toEqual([width, height]);
      let inter = 0;
      let union = 0;
      for (let i = 0; i < mask.length; i++) {
        const a = data[i] >= 128;
        const b = mask[i] >= 0.5;
        inter += Number(a && b);
        union += Number(a || b);
      }
      // The same person in the same place (grey and CMYK change colours, so not bit-identical).
      expect(inter / union, f).toBeGreaterThan(0.95);
    }
  }, 60_000);
});
