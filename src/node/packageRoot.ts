/**
 * Where this package's own files are, whether it runs from a checkout (src/node) or installed
 * (dist/node): both sit two folders below the package root.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** The demo photo the package ships: NASA's astronaut Eileen Collins, 512×512 PNG, public domain. */
export const samplePhoto: string = join(packageRoot(), 'assets', 'astronaut.png');

/** A background the package ships: Hubble's eXtreme Deep Field, 1000×872 JPEG, public domain. */
export const sampleBackground: string = join(packageRoot(), 'assets', 'hubble_deep_field.jpg');
