#!/usr/bin/env node
/** The `backdrop` command. */
import { runCli } from './cli/run.js';
import { removeTempFilesOnExit } from './safeWrite.js';

removeTempFilesOnExit();
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  interactive: Boolean(process.stderr.isTTY),
});
