/** The command `backdrop doctor` and the fallback warning give for the native runtime, per way of installing backdrop. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { installPlace, nativeRuntimeFix, wantedNativeVersion } from '../../src/node/nativeRuntimeFix.js';

let dir: string;
const pkg = JSON.stringify({ name: 'selfie-backdrop', optionalDependencies: { 'onnxruntime-node': '^1.30.0' } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backdrop-fix-'));
  // A project's node_modules; npm's global folder ({prefix}/lib/node_modules, no package.json above it); a checkout.
  for (const root of ['project/node_modules/selfie-backdrop', 'prefix/lib/node_modules/selfie-backdrop', 'checkout']) {
    await mkdir(join(dir, root), { recursive: true });
    await writeFile(join(dir, root, 'package.json'), pkg);
  }
  await writeFile(join(dir, 'project', 'package.json'), '{}');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it('installs onnxruntime-node beside backdrop, skipping the CUDA download, in the folder where that works', () => {
  const project = join(dir, 'project/node_modules/selfie-backdrop');
  const global = join(dir, 'prefix/lib/node_modules/selfie-backdrop');
  const checkout = join(dir, 'checkout');
  expect(wantedNativeVersion(project)).toBe('1.30.0');
  expect(installPlace(project)).toEqual({ kind: 'project', dir: join(dir, 'project') });
  expect(installPlace(global)).toEqual({ kind: 'global' });
  expect(installPlace(checkout)).toEqual({ kind: 'checkout', dir: checkout });

  expect(nativeRuntimeFix({ root: project, cwd: join(dir, 'project'), platform: 'linux' })).toBe('ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0');
  expect(nativeRuntimeFix({ root: project, cwd: dir, platform: 'linux' })).toBe('cd project && ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0');
  expect(nativeRuntimeFix({ root: project, cwd: join(dir, 'checkout'), platform: 'darwin' })).toBe(`cd ${resolve(dir, 'project')} && ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0`);
  expect(nativeRuntimeFix({ root: global, cwd: dir, platform: 'linux' })).toBe('ONNXRUNTIME_NODE_INSTALL=skip npm install -g onnxruntime-node@1.30.0');
  expect(nativeRuntimeFix({ root: global, cwd: dir, platform: 'win32' })).toBe('npm install -g onnxruntime-node@1.30.0');
  expect(nativeRuntimeFix({ root: checkout, cwd: checkout, platform: 'linux' })).toBe('ONNXRUNTIME_NODE_INSTALL=skip npm install');
});
