import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Child-process and socket tests are real; two cores on CI: keep forks bounded.
    pool: 'forks',
    maxWorkers: 2,
  },
});
