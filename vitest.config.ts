import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Only to catch hangs: machines are shared and noisy, so no test relies on wall-clock speed.
    testTimeout: 900_000,
    hookTimeout: 300_000,
    // Two cores: run files in two workers, not more.
    maxWorkers: 2,
  },
});
