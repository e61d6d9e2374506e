/** Milliseconds from a monotonic clock, on any platform (core cannot import node:perf_hooks). */
const perf = (globalThis as { performance?: { now(): number } }).performance;
export const now: () => number = perf ? () => perf.now() : () => Date.now();

let stageClock = now;

/** Milliseconds on the clock the per-stage timings (StageTimings) are kept by: `now` unless {@link setStageClock} chose another. */
export function stageNow(): number {
  return stageClock();
}

/**
 * Keeps the per-stage timings by another clock, e.g. the process's CPU time in a benchmark on a
 * busy machine, where wall time also counts the waits for a core. `undefined` restores `now`.
 */
export function setStageClock(clock: (() => number) | undefined): void {
  stageClock = clock ?? now;
}
