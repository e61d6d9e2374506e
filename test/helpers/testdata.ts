/**
 * The one place tests, eval and bench find the shared test data (../shared/testdata beside the
 * repository, or BACKDROP_TESTDATA). Files there are read in place, never copied into the repo.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const testdataRoot: string = process.env.BACKDROP_TESTDATA ?? resolve(repoRoot, '..', 'shared', 'testdata');

/** Absolute path of a file under the shared test data; throws a clear error when it is missing. */
export function testdata(relativePath: string): string {
  const full = join(testdataRoot, relativePath);
  if (!existsSync(full)) {
    throw new Error(`test data not found: ${full} (clone the project beside ../shared or set BACKDROP_TESTDATA)`);
  }
  return full;
}
