#!/usr/bin/env node
/** The `backdrop` command. */
import { runCli } from './cli/run.js';
import { removeTempFilesOnExit } from './safeWrite.js';

removeTempFilesOnExit();
// Ctrl-C: stop ffmpeg and remove unfinished outputs, then exit 130; a second Ctrl-C exits at once.
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(130);
  interrupt.abort(new Error('interrupted'));
});
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  interactive: Boolean(process.stderr.isTTY),
  signal: interrupt.signal,
});
