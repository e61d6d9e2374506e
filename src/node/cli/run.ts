/** Runs the CLI in-process with the given arguments; returns the exit status. */
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { UsageError } from '../options/parsers.js';
import type { CliIO } from './io.js';

export async function runCli(argv: string[], io: Omit<CliIO, 'exitCode'>): Promise<number> {
  const state: CliIO = { ...io, exitCode: 0 };
  const program = buildProgram(state);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; every parse error is a usage error.
      return e.exitCode === 0 ? 0 : 2;
    }
    io.stderr(`error: ${(e as Error).message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
