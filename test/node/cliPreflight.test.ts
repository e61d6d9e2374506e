/**
 * What the command says before it loads the model: errors that need no model come first (the
 * model takes from half a second to several to load), -o makes the folders it needs, an empty
 * folder is one message, and -q leaves errors only.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionsCreated } from '../../src/node/onnxBackend.js';
import { cli } from '../helpers/cli.js';

let dir: string;
let photo: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backdrop-preflight-'));
  photo = join(dir, 'astronaut.png');
  await copyFile('assets/astronaut.png', photo);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the command and also tells whether it loaded a model. */
async function run(...args: string[]) {
  const before = sessionsCreated();
  const r = await cli(...args);
  return { ...r, loadedModel: sessionsCreated() > before };
}

describe('errors that need no model come before it loads', () => {
  it('an existing output without --force', async () => {
    const out = join(dir, 'exists.png');
    await writeFile(out, 'keep me');
    const r = await run(photo, '-o', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${out} exists; use --force to overwrite`);
    expect(r.loadedModel).toBe(false);
  });

  it('a file that is not an image, named as one or not', async () => {
    const fake = join(dir, 'fake.jpg');
    const notes = join(dir, 'notes.txt');
    await writeFile(fake, 'not a JPEG');
    await writeFile(notes, 'shopping list');
    const r = await run(fake, notes, '-o', join(dir, 'out-bad'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${fake}: not a supported image format`);
    expect(r.stderr).toMatch(/error: .*notes\.txt is not a video ffmpeg can read/);
    expect(r.loadedModel).toBe(false);
  });

  it('an output folder that cannot be made (a file is in its way)', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    const r = await run(photo, '-o', join(file, 'out.png'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot write ${join(file, 'out.png')}: ${file} is a file, not a folder`);
    expect(r.loadedModel).toBe(false);
  });

  it('the good files of a batch still go on', async () => {
    const bad = join(dir, 'broken.png');
    await writeFile(bad, 'not a PNG');
    const out = join(dir, 'mixed');
    const r = await run(photo, bad, '-o', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.png: not a supported image format/);
    expect(r.stderr).toMatch(/1 written, 1 failed/);
    expect((await sharp(join(out, 'astronaut.png')).metadata()).width).toBe(512);
  });
});

describe('-o makes the folders it needs', () => {
  it('for a file name as for a folder name', async () => {
    const file = join(dir, 'new', 'deeper', 'out.jpg');
    const folder = join(dir, 'newfolder', 'sub') + '/';
    expect((await run(photo, '-o', file)).code).toBe(0);
    expect((await run(photo, '-o', folder)).code).toBe(0);
    expect((await sharp(file).metadata()).format).toBe('jpeg');
    expect((await sharp(join(folder, 'astronaut.png')).metadata()).format).toBe('png');
  });
});

describe('a folder with nothing to process', () => {
  it('says so once, and suggests --recursive only when its sub-folders have something', async () => {
    const empty = join(dir, 'empty');
    const nested = join(dir, 'nested');
    await mkdir(empty);
    await mkdir(join(nested, 'sub'), { recursive: true });
    await copyFile(photo, join(nested, 'sub', 'a.png'));

    const e = await run(empty);
    expect(e.code).toBe(1);
    expect(e.stderr).toBe(`error: ${empty}: no images or videos found\n`);
    const n = await run(nested);
    expect(n.code).toBe(1);
    expect(n.stderr).toBe(`error: ${nested}: no images or videos found; its sub-folders have 1: add --recursive\n`);
    // -q: errors only, and this is one.
    expect((await run(empty, '-q')).stderr).toBe(`error: ${empty}: no images or videos found\n`);
  });
});

describe('-q', () => {
  it('leaves out warnings too (here: a non-image in a background folder)', async () => {
    const bgs = join(dir, 'bgs');
    await mkdir(bgs);
    await copyFile(photo, join(bgs, 'bg.png'));
    await writeFile(join(bgs, 'readme.txt'), 'not a background');
    const loud = await run(photo, '--background', bgs, '-o', join(dir, 'loud.png'));
    expect(loud.code).toBe(0);
    expect(loud.stderr).toMatch(/^warning: skipping .*readme\.txt/m);
    const quiet = await run(photo, '--background', bgs, '-o', join(dir, 'quiet.png'), '-q');
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  });
});
