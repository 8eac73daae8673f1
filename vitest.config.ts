import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Deadline proofs run alone afterwards (vitest.realtime.config.ts).
    // Run under `npm run test:torture` only: the real `npm run release` flow (about 19 MB copied and
    // packed) and SIGKILL at every step of a firmware update (npm test kills at two of them).
    exclude: ['test/realtime/**', '**/node_modules/**', ...(process.env.EVSED_TORTURE === '1' ? [] : ['test/torture/release.test.ts', 'test/torture/firmware-kills.test.ts'])],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Child-process and socket tests are real; two cores on CI: keep forks bounded.
    pool: 'forks',
    maxWorkers: 2,
  },
});
