/**
 * The package as a user gets it: `npm pack`, installed into a fresh project where nothing but the
 * npm registry can be reached (onnxruntime-node's install script cannot download its CUDA files,
 * as on a machine without internet), with no flags and no .npmrc; then the installed `backdrop`
 * command processes a photo and a script imports the library. Needs dist/ (`npm run build`) and
 * npm; slow (an npm install), so it is the one test of its kind.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';

const root = resolve('.');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a command with a user's environment: none of the npm_* variables of the npm that may be
 * running these tests, and a proxy for global-agent (which onnxruntime-node's install script uses)
 * that nothing listens on, so its download fails at once as it does offline.
 */
function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  env.GLOBAL_AGENT_HTTPS_PROXY = 'http://127.0.0.1:9';
  env.GLOBAL_AGENT_HTTP_PROXY = 'http://127.0.0.1:9';
  return new Promise((done) => {
    execFile(cmd, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

let work: string;
beforeAll(async () => {
  if (!existsSync(join(root, 'dist/node/cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  work = await mkdtemp(join(tmpdir(), 'backdrop-pack-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

it('packs the built command and library only, and installs and runs in a fresh project offline', async () => {
  const version = await run(npm, ['--version'], root);
  if (version.code !== 0) {
    console.warn(`SKIPPED: npm is not available here (${version.stderr.trim()}); the package test needs it`);
    return;
  }

  // Pack what `npm run build` made (--ignore-scripts: the prepare script would rebuild dist/ under
  // the feet of the other test files running now).
  const packed = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root);
  expect(packed.code, packed.stderr).toBe(0);
  expect(packed.stderr).not.toMatch(/Unknown (project |env |cli )?config/i);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = info.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/node/cli.js', 'dist/node/live/cameraWorker.js', 'dist/core/index.js', 'dist/browser/index.js']) {
    expect(files).toContain(f);
  }
  expect(files.filter((f) => !/^dist\//.test(f) && f !== 'package.json' && f !== 'README.md')).toEqual([]);
  expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);

  // A new user's project: no .npmrc, no flags.
  const app = join(work, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  const installed = await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, info.filename)], app);
  expect(installed.code, installed.stderr).toBe(0);
  expect(installed.stderr).not.toMatch(/Unknown (project |env |cli )?config/i);

  // The command: its version, and a photo.
  const backdrop = join(app, 'node_modules', '.bin', process.platform === 'win32' ? 'backdrop.cmd' : 'backdrop');
  const v = await run(backdrop, ['--version'], app);
  expect(v.code, v.stderr).toBe(0);
  expect(v.stdout.trim()).toBe(pkg.version);
  const out = join(app, 'astronaut_blurred.png');
  const photo = await run(backdrop, [join(root, 'assets/astronaut.png'), '-o', out], app);
  expect(photo.code, photo.stderr).toBe(0);
  const meta = await sharp(out).metadata();
  expect([meta.format, meta.width, meta.height]).toEqual(['png', 512, 512]);
  expect((await readdir(app)).filter((n) => n.endsWith('.tmp'))).toEqual([]);

  // The library, imported by name from a script of the project.
  await writeFile(
    join(app, 'use.mjs'),
    `import { createBackdrop } from '${pkg.name}';
import { parseColor } from '${pkg.name}/core';
const backdrop = await createBackdrop({ effect: { type: 'color', color: parseColor('#00ff00') } });
const frame = { width: 64, height: 48, channels: 3, data: new Uint8Array(64 * 48 * 3).fill(128) };
const out = await backdrop.processFrame(frame);
await backdrop.close();
console.log(JSON.stringify({ size: [out.width, out.height, out.channels], browser: import.meta.resolve('${pkg.name}/browser') }));
`,
  );
  const used = await run(process.execPath, ['use.mjs'], app);
  expect(used.code, used.stderr).toBe(0);
  const result = JSON.parse(used.stdout.trim().split('\n').pop()!) as { size: number[]; browser: string };
  expect(result.size).toEqual([64, 48, 3]);
  expect(result.browser).toMatch(new RegExp(`node_modules/${pkg.name}/dist/browser/index[.]js$`));
});
