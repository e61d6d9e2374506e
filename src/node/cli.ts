#!/usr/bin/env node
/** The `backdrop` command. */
import { runCli } from './cli/run.js';
import { Interrupted, signalExitCode, STOP_SIGNALS } from './interrupt.js';
import { removeTempFilesOnExit } from './safeWrite.js';

removeTempFilesOnExit();
// Ctrl-C, SIGTERM, SIGHUP: stop ffmpeg and remove unfinished outputs (a live recording is finished
// and kept), then exit 130/143/129; a second signal exits at once.
const interrupt = new AbortController();
for (const signal of STOP_SIGNALS) {
  process.on(signal, () => {
    if (interrupt.signal.aborted) process.exit(signalExitCode(signal));
    interrupt.abort(new Interrupted(signal));
  });
}
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  interactive: Boolean(process.stderr.isTTY),
  signal: interrupt.signal,
});
