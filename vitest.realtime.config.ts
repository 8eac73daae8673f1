import { defineConfig } from 'vitest/config';

/**
 * Suites that prove timing at the pin with the safety core in its own thread (test/realtime): they
 * run after the main suite, one file at a time, so no other test competes for the two cores while
 * a deadline is measured. `npm test` runs both.
 */
export default defineConfig({
  test: {
    include: ['test/realtime/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
