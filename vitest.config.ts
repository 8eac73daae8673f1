import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Deadline proofs run alone afterwards (vitest.realtime.config.ts).
    exclude: ['test/realtime/**', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Child-process and socket tests are real; two cores on CI: keep forks bounded.
    pool: 'forks',
    maxWorkers: 2,
  },
});
