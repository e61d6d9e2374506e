/**
 * The one command that gets onnxruntime-node where this copy of backdrop will find it, worked out
 * from where backdrop itself is installed: a project's node_modules, npm's global folder, or a
 * checkout of the repository.
 *
 * Why a command is needed at all: onnxruntime-node's install script downloads CUDA libraries on
 * Linux x64 and fails without internet; npm then drops the optional package without a word.
 * ONNXRUNTIME_NODE_INSTALL=skip makes the script skip that download (the CPU runtime is in the
 * npm package itself).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { packageRoot } from './packageRoot.js';

/** The onnxruntime-node version this package asks for (its optional dependency's lowest version). */
export function wantedNativeVersion(root = packageRoot()): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> };
  const range = pkg.optionalDependencies?.['onnxruntime-node'] ?? 'latest';
  return range.replace(/^[\^~>=\s]+/, '');
}

export type InstallKind = 'project' | 'global' | 'checkout';

export interface InstallPlace {
  kind: InstallKind;
  /** Where the command is to be run: the project's folder, the checkout; undefined for -g. */
  dir?: string;
}

/** How this copy of backdrop was installed. */
export function installPlace(root = packageRoot()): InstallPlace {
  if (basename(dirname(root)) !== 'node_modules') return { kind: 'checkout', dir: root };
  const project = dirname(dirname(root));
  // npm's global folder ({prefix}/lib/node_modules) has no package.json above it; a project has one.
  return existsSync(join(project, 'package.json')) ? { kind: 'project', dir: project } : { kind: 'global' };
}

/** The environment prefix that skips the CUDA download (only Linux x64 has one; cmd.exe has no such syntax). */
function skipDownload(platform: NodeJS.Platform): string {
  return platform === 'win32' ? '' : 'ONNXRUNTIME_NODE_INSTALL=skip ';
}

/**
 * The command that installs the native runtime for this copy of backdrop, with a `cd` in front
 * when it must run in another folder than `cwd`.
 */
export function nativeRuntimeFix(options: { root?: string; cwd?: string; platform?: NodeJS.Platform } = {}): string {
  const root = options.root ?? packageRoot();
  const cwd = options.cwd ?? process.cwd();
  const env = skipDownload(options.platform ?? process.platform);
  const place = installPlace(root);
  const cd = place.dir && resolve(place.dir) !== resolve(cwd) ? `cd ${quote(shortPath(place.dir, cwd))} && ` : '';
  if (place.kind === 'checkout') return `${cd}${env}npm install`;
  const pkg = `onnxruntime-node@${wantedNativeVersion(root)}`;
  return place.kind === 'global' ? `${env}npm install -g ${pkg}` : `${cd}${env}npm install ${pkg}`;
}

/** A folder relative to cwd when it is below it, else absolute. */
function shortPath(dir: string, cwd: string): string {
  const rel = relative(cwd, dir);
  return rel !== '' && !rel.startsWith('..') ? rel : resolve(dir);
}

function quote(path: string): string {
  return /^[\w./-]+$/.test(path) ? path : `"${path.replace(/(["\\$`])/g, '\\$1')}"`;
}
