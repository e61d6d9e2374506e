/** Milliseconds from a monotonic clock, on any platform (core cannot import node:perf_hooks). */
const perf = (globalThis as { performance?: { now(): number } }).performance;
export const now: () => number = perf ? () => perf.now() : () => Date.now();
