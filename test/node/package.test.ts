/**
 * The package as a user gets it: `npm pack`, installed into a fresh project where nothing but the
 * npm registry can be reached (onnxruntime-node's install script cannot download its CUDA files,
 * as on a machine without internet, so npm drops it and the model runs on WebAssembly), with no
 * flags and no .npmrc. Then, in that project: the installed `backdrop` command, the README's
 * library example exactly as printed, the demo, and `backdrop doctor`, whose fix for the missing
 * native runtime is run as printed and makes it native. Needs dist/ (`npm run build`) and npm;
 * slow (npm installs), so it is the one test of its kind; its steps run in order.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readmeCodeBlock } from '../helpers/readme.js';

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
function run(cmd: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|BACKDROP_RUNTIME$)/i.test(k)));
  Object.assign(env, extraEnv);
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
let app: string;
let npmMissing = false;
let backdrop: string;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/node/cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  work = await mkdtemp(join(tmpdir(), 'backdrop-pack-'));
  app = join(work, 'app');
  backdrop = join(app, 'node_modules', '.bin', process.platform === 'win32' ? 'backdrop.cmd' : 'backdrop');
  const version = await run(npm, ['--version'], root);
  npmMissing = version.code !== 0;
  if (npmMissing) console.warn(`SKIPPED: npm is not available here (${version.stderr.trim()}); the package test needs it`);
});
afterAll(() => rm(work, { recursive: true, force: true }));

it('packs the built command, the library, the demo photo and the licences only, and installs offline with no build step', async () => {
  if (npmMissing) return;
  // Pack what `npm run build` made (--ignore-scripts: the prepack script would rebuild dist/ under
  // the feet of the other test files running now).
  const packed = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root);
  expect(packed.code, packed.stderr).toBe(0);
  expect(packed.stderr).not.toMatch(/Unknown (project |env |cli )?config/i);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = info.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'NOTICE', 'dist/index.js', 'dist/index.d.ts', 'dist/node/cli.js', 'dist/node/demo.js', 'dist/node/live/cameraWorker.js', 'dist/core/index.js', 'dist/browser/index.js']) {
    expect(files).toContain(f);
  }
  const assets = ['assets/README.md', 'assets/astronaut.png', 'assets/hubble_deep_field.jpg'];
  expect(files.filter((f) => !/^dist\//.test(f) && !['package.json', 'README.md', 'LICENSE', 'NOTICE'].includes(f)).sort()).toEqual(assets);
  expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);

  // A new user's project: no .npmrc, no flags.
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  const installed = await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, info.filename)], app);
  expect(installed.code, installed.stderr).toBe(0);
  expect(installed.stderr).not.toMatch(/Unknown (project |env |cli )?config/i);
  // npm ≥ 11.19 lists every dependency with an install script; backdrop itself must not be one (it builds on prepack).
  expect(installed.stderr).not.toMatch(new RegExp(`${pkg.name}@[^\\s]* \\(`));
  expect(existsSync(join(app, 'node_modules', 'onnxruntime-node')), 'this test is about the install that drops onnxruntime-node').toBe(false);
});

it('the installed command processes a photo on WebAssembly, says so once pointing to `backdrop doctor`, and -q silences it', async () => {
  if (npmMissing) return;
  const v = await run(backdrop, ['--version'], app);
  expect(v.code, v.stderr).toBe(0);
  expect(v.stdout.trim()).toBe(pkg.version);
  const photo = join(app, 'node_modules', pkg.name, 'assets', 'astronaut.png');
  const out = join(app, 'astronaut_blurred.png');
  const loud = await run(backdrop, [photo, '-o', out], app);
  expect(loud.code, loud.stderr).toBe(0);
  const warnings = loud.stderr.split('\n').filter((l) => l.startsWith('warning:'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/onnxruntime-node is not installed, so the model runs on onnxruntime-web \(WebAssembly\)/);
  expect(warnings[0]).toContain('ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@');
  expect(warnings[0]).toContain('backdrop doctor');
  const meta = await sharp(out).metadata();
  expect([meta.format, meta.width, meta.height]).toEqual(['png', 512, 512]);
  expect((await readdir(app)).filter((n) => n.endsWith('.tmp'))).toEqual([]);

  const quiet = await run(backdrop, [photo, '-o', join(app, 'quiet.png'), '-q'], app);
  expect(quiet.code, quiet.stderr).toBe(0);
  expect(quiet.stderr).toBe('');
  expect(quiet.stdout).toBe('');
  expect((await sharp(join(app, 'quiet.png')).metadata()).width).toBe(512);
});

it("runs the README's library example exactly as printed, and the demo", async () => {
  if (npmMissing) return;
  await writeFile(join(app, 'example.mjs'), readmeCodeBlock('The library', 'js'));
  const example = await run(process.execPath, ['example.mjs'], app);
  expect(example.code, example.stderr).toBe(0);
  expect(example.stdout).toMatch(/blurred\.png: 512×512/);
  expect(example.stdout).toMatch(/WebP buffer: \d+ bytes/);
  expect(example.stdout).toMatch(/person covers \d+\.\d % of the frame; output 512×512×3/);
  expect((await sharp(join(app, 'out/example/blurred.png')).metadata()).width).toBe(512);

  // The demo writes to out/demo/ where it is run, never into the installed package.
  const demo = await run(process.execPath, [join('node_modules', pkg.name, 'dist', 'node', 'demo.js')], app);
  expect(demo.code, demo.stderr).toBe(0);
  expect((await readdir(join(app, 'out', 'demo'))).sort()).toEqual(['astronaut_blur.jpg', 'astronaut_cutout.png', 'astronaut_green.jpg', 'astronaut_mask.png', 'astronaut_space.jpg']);
  expect(existsSync(join(app, 'node_modules', pkg.name, 'out'))).toBe(false);
  expect(demo.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toHaveLength(1);

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

interface DoctorReport {
  ok: boolean;
  checks: { name: string; status: string; detail: string; fix?: string }[];
}

it('`backdrop doctor` names the WebAssembly fallback and its fix; the fix, run as printed, makes the runtime native', async () => {
  if (npmMissing) return;
  const before = await run(backdrop, ['doctor'], app);
  expect(before.code, before.stderr).toBe(1);
  expect(before.stdout).toMatch(/^slow +runtime +onnxruntime-web wasm \(SIMD, \d threads?\)/m);
  const fix = /^ +fix: (.*)$/m.exec(before.stdout.slice(before.stdout.indexOf('runtime')))![1];
  expect(fix).toMatch(/^ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@\d+\.\d+\.\d+$/);
  const json = JSON.parse((await run(backdrop, ['doctor', '--json'], app)).stdout) as DoctorReport;
  const runtime = json.checks.find((c) => c.name === 'runtime')!;
  expect(runtime.detail).toMatch(/: the general model runs in [\d.]+ ms, because onnxruntime-node is not installed; about \d+× slower/);
  expect(runtime.fix).toBe(fix);
  expect(json.checks.find((c) => c.name === 'models')!.status).toBe('ok');

  // The command as printed (npm may use its cache instead of the network, as for the install above).
  const fixed = await run('sh', ['-c', fix], app, { npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' });
  expect(fixed.code, fixed.stderr).toBe(0);
  const after = JSON.parse((await run(backdrop, ['doctor', '--json'], app)).stdout) as DoctorReport;
  const native = after.checks.find((c) => c.name === 'runtime')!;
  expect(native.status, native.detail).toBe('ok');
  expect(native.detail).toMatch(/^onnxruntime-node \d+\.\d+\.\d+ \(native, CPU\): the general model runs in/);
  const photo = await run(backdrop, [join(app, 'node_modules', pkg.name, 'assets', 'astronaut.png'), '-o', join(app, 'native.png')], app);
  expect(photo.code, photo.stderr).toBe(0);
  expect(photo.stderr).not.toMatch(/warning/);
});
