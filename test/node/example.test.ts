/** The README's library example runs as written in the repository, and the README shows it as it is (the package test runs it from an installed package). */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { readmeCodeBlock } from '../helpers/readme.js';

it('examples/photo.ts runs and is quoted verbatim in the README', async () => {
  const source = await readFile('examples/photo.ts', 'utf8');
  expect(readmeCodeBlock('The library', 'js')).toBe(source);
  const out = await mkdtemp(join(tmpdir(), 'backdrop-example-'));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/photo.ts', out]);
    expect(stdout).toMatch(/blurred\.png: 512×512/);
    expect(stdout).toMatch(/person covers \d+\.\d % of the frame; output 512×512×3/);
    expect((await sharp(join(out, 'blurred.png')).metadata()).width).toBe(512);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
