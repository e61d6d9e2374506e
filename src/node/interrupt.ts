/**
 * Stopping the command line with a signal. SIGINT (Ctrl-C), SIGTERM (kill, a service manager) and
 * SIGHUP (the terminal went away) all do the same: the running job is told through its
 * AbortSignal, a video job stops ffmpeg and removes its unfinished output, a live session finishes
 * its recording; then the process exits with the shell's status for that signal (128 + its number:
 * 130, 143, 129).
 */
import { constants } from 'node:os';

/** The signals that stop a run gracefully (Windows has no SIGHUP). */
export const STOP_SIGNALS: NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The exit status a shell reports for a process ended by `signal`: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 2);
}

/** The abort reason when a signal stops the run. */
export class Interrupted extends Error {
  constructor(readonly signalName: NodeJS.Signals) {
    super(`stopped by ${signalName}`);
    this.name = 'Interrupted';
  }

  get exitCode(): number {
    return signalExitCode(this.signalName);
  }
}

/** The exit status for a run that `signal` aborted: the signal's (143 for SIGTERM…), else 130 as for Ctrl-C. */
export function interruptedExitCode(signal: AbortSignal | undefined): number {
  const reason: unknown = signal?.reason;
  return reason instanceof Interrupted ? reason.exitCode : 130;
}
