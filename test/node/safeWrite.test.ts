import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  OutputError,
  TEMP_FILE_PATTERN,
  checkOutputPath,
  tempFilesInFlight,
  tempPathFor,
  writeFileAtomic,
} from '../../src/node/safeWrite.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const safeWriteModule = pathToFileURL(join(repoRoot, 'src', 'node', 'safeWrite.ts')).href;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

let root: string;
let dir: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'backdrop-safewrite-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  dir = join(root, `case${n++}`);
  await mkdir(dir);
});

async function expectOutputError(promise: Promise<unknown>, message: string | RegExp, code: OutputError['code']): Promise<void> {
  const err = await promise.then(
    () => {
      throw new Error('expected an OutputError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutputError);
  const e = err as OutputError;
  if (typeof message === 'string') expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
  expect(e.message).not.toContain('\n');
  expect(e.code).toBe(code);
}

/** Files in a folder other than the expected ones: temp files must never be left behind. */
async function leftovers(folder: string, expected: string[]): Promise<string[]> {
  return (await readdir(folder)).filter((f) => !expected.includes(f));
}

describe('writeFileAtomic', () => {
  it('writes a new file with no temp file left', async () => {
    const out = join(dir, 'out.png');
    await writeFileAtomic(out, Buffer.from('hello'), {});
    expect(await readFile(out, 'utf8')).toBe('hello');
    expect(await leftovers(dir, ['out.png'])).toEqual([]);
    expect(tempFilesInFlight()).toEqual([]);
  });

  it('accepts a Uint8Array', async () => {
    const out = join(dir, 'out.bin');
    await writeFileAtomic(out, new Uint8Array([1, 2, 3]), {});
    expect(Array.from(await readFile(out))).toEqual([1, 2, 3]);
  });

  it('refuses an existing output without force and leaves it alone', async () => {
    const out = join(dir, 'out.png');
    await writeFile(out, 'old');
    await expectOutputError(writeFileAtomic(out, Buffer.from('new'), {}), `${out} exists; use --force to overwrite`, 'exists');
    expect(await readFile(out, 'utf8')).toBe('old');
    expect(await leftovers(dir, ['out.png'])).toEqual([]);
  });

  it('overwrites with force, keeping the file mode', async () => {
    const out = join(dir, 'out.png');
    await writeFile(out, 'old');
    await chmod(out, 0o640);
    await writeFileAtomic(out, Buffer.from('new'), { force: true });
    expect(await readFile(out, 'utf8')).toBe('new');
    expect((await stat(out)).mode & 0o777).toBe(0o640);
    expect(await leftovers(dir, ['out.png'])).toEqual([]);
  });

  it('two writers racing for one new path: exactly one wins', async () => {
    const out = join(dir, 'race.png');
    const results = await Promise.allSettled([
      writeFileAtomic(out, Buffer.from('a'), {}),
      writeFileAtomic(out, Buffer.from('b'), {}),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(failed.reason).toBeInstanceOf(OutputError);
    expect(['a', 'b']).toContain(await readFile(out, 'utf8'));
    expect(await leftovers(dir, ['race.png'])).toEqual([]);
  });

  describe('never overwrites an input', () => {
    it('same path, even with force', async () => {
      const input = join(dir, 'in.png');
      await writeFile(input, 'input');
      await expectOutputError(
        writeFileAtomic(input, Buffer.from('x'), { force: true, inputs: [input] }),
        `refusing to overwrite the input ${input}`,
        'same-as-input',
      );
      expect(await readFile(input, 'utf8')).toBe('input');
    });

    it('via a different relative spelling', async () => {
      const input = join(dir, 'in.png');
      await writeFile(input, 'input');
      await mkdir(join(dir, 'sub'));
      const rel = relative(process.cwd(), join(dir, 'sub', '..', '.', 'in.png'));
      const spelled = rel.includes('..') ? rel : `./${rel}`;
      await expectOutputError(
        writeFileAtomic(spelled, Buffer.from('x'), { force: true, inputs: [input] }),
        `refusing to overwrite the input ${spelled}`,
        'same-as-input',
      );
      expect(await readFile(input, 'utf8')).toBe('input');
    });

    it('via a symlink (either side)', async () => {
      const input = join(dir, 'in.png');
      await writeFile(input, 'input');
      const alias = join(dir, 'alias.png');
      await symlink(input, alias);
      await expectOutputError(writeFileAtomic(alias, Buffer.from('x'), { force: true, inputs: [input] }), /refusing to overwrite the input/, 'same-as-input');
      await expectOutputError(writeFileAtomic(input, Buffer.from('x'), { force: true, inputs: [alias] }), /refusing to overwrite the input/, 'same-as-input');
      // Through a symlinked folder too.
      const linkedDir = join(root, `linked-${basename(dir)}`);
      await symlink(dir, linkedDir);
      await expectOutputError(
        writeFileAtomic(join(linkedDir, 'in.png'), Buffer.from('x'), { force: true, inputs: [input] }),
        /refusing to overwrite the input/,
        'same-as-input',
      );
      expect(await readFile(input, 'utf8')).toBe('input');
    });

    it('via a hard link (same device and inode)', async () => {
      const input = join(dir, 'in.png');
      await writeFile(input, 'input');
      const hard = join(dir, 'hard.png');
      await link(input, hard);
      await expectOutputError(writeFileAtomic(hard, Buffer.from('x'), { force: true, inputs: [input] }), /refusing to overwrite the input/, 'same-as-input');
      expect(await readFile(input, 'utf8')).toBe('input');
    });

    it('a different file next to the input is fine', async () => {
      const input = join(dir, 'in.png');
      await writeFile(input, 'input');
      await writeFileAtomic(join(dir, 'in.out.png'), Buffer.from('x'), { inputs: [input] });
      expect(await readFile(input, 'utf8')).toBe('input');
    });
  });

  it('refuses a folder as the output', async () => {
    const out = join(dir, 'folder.png');
    await mkdir(out);
    await expectOutputError(writeFileAtomic(out, Buffer.from('x'), { force: true }), `${out} is a folder; give a file name`, 'is-folder');
  });

  it('a path under a regular file (ENOTDIR) fails clearly and leaves nothing', async () => {
    const file = join(dir, 'file.txt');
    await writeFile(file, 'text');
    const out = join(file, 'out.png');
    await expectOutputError(writeFileAtomic(out, Buffer.from('x'), {}), new RegExp(`^cannot write ${escape(out)}: part of the path .* is a file, not a folder$`), 'cannot-write');
    expect(await leftovers(dir, ['file.txt'])).toEqual([]);
    expect(tempFilesInFlight()).toEqual([]);
  });

  it('a folder that does not exist fails clearly', async () => {
    const out = join(dir, 'missing', 'out.png');
    await expectOutputError(
      writeFileAtomic(out, Buffer.from('x'), {}),
      `cannot write ${out}: the folder ${join(dir, 'missing')} does not exist`,
      'cannot-write',
    );
    expect(await leftovers(dir, [])).toEqual([]);
  });

  it.skipIf(isRoot)('an unwritable folder fails clearly and leaves nothing (skipped as root: chmod does not stop root writing)', async () => {
    const ro = join(dir, 'ro');
    await mkdir(ro);
    await chmod(ro, 0o555);
    try {
      const out = join(ro, 'out.png');
      await expectOutputError(writeFileAtomic(out, Buffer.from('x'), {}), new RegExp(`^cannot write ${escape(out)}: permission denied`), 'cannot-write');
      expect(await readdir(ro)).toEqual([]);
    } finally {
      await chmod(ro, 0o755);
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('checkOutputPath and temp names', () => {
  it('checks without writing anything', async () => {
    const out = join(dir, 'new.png');
    await checkOutputPath(out, {});
    expect(existsSync(out)).toBe(false);
    await writeFile(out, 'x');
    await expect(checkOutputPath(out, {})).rejects.toThrow(/exists; use --force/);
    await checkOutputPath(out, { force: true });
  });

  it('a dangling symlink counts as existing', async () => {
    const out = join(dir, 'dangling.png');
    await symlink(join(dir, 'nowhere.png'), out);
    await expect(checkOutputPath(out, {})).rejects.toThrow(/exists; use --force/);
  });

  it('temp names are hidden, in the same folder, and recognisable', () => {
    const tmp = tempPathFor(join(dir, 'photo.png'));
    expect(dirname(tmp)).toBe(dir);
    expect(basename(tmp)).toMatch(new RegExp(`^\\.photo\\.png\\.backdrop-${process.pid}-[0-9a-f]+\\.tmp$`));
    expect(TEMP_FILE_PATTERN.test(basename(tmp))).toBe(true);
    expect(tempPathFor(join(dir, 'photo.png'))).not.toBe(tmp);
    expect(TEMP_FILE_PATTERN.test('photo.png')).toBe(false);
  });
});

/** Run a child process that tracks a temp file, then signal it. */
async function runChild(script: string, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  const file = join(dir, 'child.ts');
  await writeFile(file, script);
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolveReady, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('ready')) resolveReady();
    });
    child.on('exit', () => reject(new Error(`child exited early: ${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, sig) => res({ code, signal: sig })));
  child.kill(signal);
  return { ...(await exited), stdout };
}

describe('removeTempFilesOnExit', () => {
  /** A child that installs the cleanup, starts "writing" a temp file for `target`, and waits. */
  const childScript = (target: string, extra = ''): string => `
import { writeFileSync } from 'node:fs';
import { removeTempFilesOnExit, tempPathFor, trackTempFile } from ${JSON.stringify(safeWriteModule)};
removeTempFilesOnExit();
removeTempFilesOnExit(); // installs once
${extra}
const tmp = tempPathFor(${JSON.stringify(target)});
trackTempFile(tmp);
writeFileSync(tmp, 'half-written');
process.stdout.write(tmp + '\\nready\\n');
setInterval(() => {}, 1000);
`;

  it('Ctrl-C (SIGINT) deletes in-flight temp files and dies of SIGINT (exit status 130 in a shell)', async () => {
    const { signal, stdout } = await runChild(childScript(join(dir, 'out.png')), 'SIGINT');
    expect(signal).toBe('SIGINT');
    const tmp = stdout.split('\n')[0];
    expect(basename(tmp)).toMatch(TEMP_FILE_PATTERN);
    expect(existsSync(tmp)).toBe(false);
    expect(await leftovers(dir, ['child.ts'])).toEqual([]);
  });

  it('SIGTERM too; an application handler for the signal is left in charge', async () => {
    const script = childScript(join(dir, 'out.png'), "process.on('SIGTERM', () => process.exit(3));");
    const { code, signal, stdout } = await runChild(script, 'SIGTERM');
    expect([code, signal]).toEqual([3, null]);
    expect(existsSync(stdout.split('\n')[0])).toBe(false);
    expect(await leftovers(dir, ['child.ts'])).toEqual([]);
  });
});
