/** What the command line writes to and reports through: its streams, its exit status, its stop signal. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Draw a progress bar (stderr is a terminal). */
  interactive: boolean;
  exitCode: number;
  /** Aborted by a signal (Ctrl-C, SIGTERM; the reason is an Interrupted): stop after cleaning up. */
  signal?: AbortSignal;
}
