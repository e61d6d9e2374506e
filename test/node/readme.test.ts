/**
 * What the README and the files beside it promise, checked against the code: the options tables
 * against `--help` (the same commander options), the --transparent formats, the sizes in
 * assets/README.md, the licence files, and a package that builds when packed, not when installed.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/node/cli/program.js';
import { cli } from '../helpers/cli.js';
import { readmeSection } from '../helpers/readme.js';

const program = buildProgram({ stdout: () => {}, stderr: () => {}, interactive: false, exitCode: 0 });

/** The first cells of every `| option | what it does |` table in "The command line", `\|` unescaped. */
function readmeOptionCells(): string[] {
  return readmeSection('The command line')
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.replace(/\\\|/g, '\uE000').split('|')[1].replace(/\uE000/g, '|').trim());
}

describe('README', () => {
  it('lists every option --help lists, with its short form and its choices, and no other', () => {
    const cells = readmeOptionCells();
    const documented = new Set(cells.flatMap((c) => c.match(/(?<![\w-])--?[a-zA-Z][\w-]*/g) ?? []));
    const options = [...program.options, program.createHelp().visibleOptions(program).find((o) => o.long === '--help')!];
    for (const o of options) {
      expect(documented, `README lacks ${o.flags}`).toContain(o.long);
      if (o.short) expect(documented, `README lacks ${o.short} for ${o.long}`).toContain(o.short);
      const cell = cells.find((c) => new RegExp(`${o.long}(?![\\w-])`).test(c))!;
      for (const choice of o.argChoices ?? []) expect(cell, `${o.long}'s choices`).toMatch(new RegExp(`[ |]${choice}(?![\\w-])`));
    }
    const real = new Set(options.flatMap((o) => [o.long, o.short]));
    expect([...documented].filter((flag) => !real.has(flag))).toEqual([]);
    for (const command of program.commands) expect(readmeSection('The command line')).toContain(`backdrop ${command.name()}`);
  });

  it('--transparent writes PNG, WebP or TIFF with alpha, as the README and --help say', async () => {
    const transparent = readmeOptionCells().find((c) => c === '`--transparent`');
    expect(transparent).toBeDefined();
    expect(readmeSection('The command line')).toMatch(/\| `--transparent` \| RGBA PNG, WebP or TIFF cut-out/);
    expect(program.options.find((o) => o.long === '--transparent')!.description).toMatch(/PNG, WebP or TIFF/);
    const dir = await mkdtemp(join(tmpdir(), 'backdrop-readme-'));
    try {
      for (const ext of ['png', 'webp', 'tif']) {
        const out = join(dir, `cut.${ext}`);
        const r = await cli('assets/astronaut.png', '--transparent', '-o', out, '-q');
        expect(r.code, r.stderr).toBe(0);
        const meta = await sharp(out).metadata();
        expect([meta.format, meta.channels, meta.hasAlpha]).toEqual([ext === 'tif' ? 'tiff' : ext, 4, true]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says how to install today, leading with the command that keeps the native runtime', () => {
    const install = readmeSection('Install');
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(install)![1];
    expect(firstBlock).toMatch(/npm pack/);
    expect(firstBlock).toMatch(/^ONNXRUNTIME_NODE_INSTALL=skip npm install \S+\.tgz$/m);
    expect(firstBlock).toMatch(/backdrop doctor/);
    expect(install).toMatch(/not on the\s+npm registry yet/);
    expect(install).toMatch(/Once it is published \(not yet\): `ONNXRUNTIME_NODE_INSTALL=skip npm install selfie-backdrop`/);
  });
});

describe('files beside the README', () => {
  it('assets/README.md gives each picture its real size', async () => {
    const text = await readFile('assets/README.md', 'utf8');
    const rows = [...text.matchAll(/^\| (\S+\.(?:png|jpg)) \((\d+)×(\d+)\) \|/gm)];
    expect(rows.map((r) => r[1]).sort()).toEqual(['astronaut.png', 'coffee.png', 'hubble_deep_field.jpg', 'rocket.jpg']);
    for (const [, file, w, h] of rows) {
      const meta = await sharp(join('assets', file)).metadata();
      expect(`${meta.width}×${meta.height}`, file).toBe(`${w}×${h}`);
    }
  });

  it('LICENSE is the Apache License 2.0 package.json names; NOTICE credits the MediaPipe models', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { license: string; files: string[] };
    expect(pkg.license).toBe('Apache-2.0');
    const license = await readFile('LICENSE', 'utf8');
    expect(license).toMatch(/^ +Apache License\n +Version 2\.0, January 2004\n/);
    expect(license).toMatch(/END OF TERMS AND CONDITIONS/);
    const notice = await readFile('NOTICE', 'utf8');
    expect(notice).toMatch(/MediaPipe Selfie Segmentation/);
    expect(notice).toMatch(/@mediapipe\/selfie_segmentation \(Google LLC\),\n +licensed under the Apache License, Version 2\.0/);
    expect(pkg.files).toContain('NOTICE'); // npm packs LICENSE by itself, not NOTICE
  });

  it('package.json builds on prepack and has no script that runs when a consumer installs it', async () => {
    const { scripts } = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(scripts, hook).not.toHaveProperty(hook);
    expect(scripts.prepack).toMatch(/tsc -p tsconfig\.build\.json/);
    expect(scripts.test).toMatch(/^npm run build && /); // a fresh clone's `npm test` builds first
    expect(scripts.start).toMatch(/^tsx /); // and `npm start` needs no build
  });
});
