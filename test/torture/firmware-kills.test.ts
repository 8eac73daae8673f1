import { describe, it } from 'vitest';
import { KILL_STEPS, killedAt } from '../support/firmware-rig.js';

/**
 * SIGKILL at every step of a firmware update with real processes (test/support/firmware-rig.ts):
 * download, after verify, unpack (and self-check), right after the switch, the first start of the
 * new release. A few seconds each: only under `npm run test:torture` (npm test runs download and
 * switch in test/e2e/firmware-update.test.ts).
 */
describe('SIGKILL at every step of a firmware update', { timeout: 120_000 }, () => {
  it.each(KILL_STEPS)('killed at %s: a working release starts and the CSMS hears Installed', async (step) => {
    await killedAt(step);
  });
});
