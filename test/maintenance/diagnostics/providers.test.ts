import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stationProviders } from '../../../src/maintenance/diagnostics/providers.js';
import { loadConfig } from '../../../src/config/load.js';
import { writeSimConfig } from '../../support/station.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('station diagnostics providers', () => {
  it('the private keys the security extension keeps under storage.dir are among the secrets scrubbed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'evsed-diag-prov-'));
    const { config, storageDir } = loadConfig(writeSimConfig(dir));
    const keys = join(storageDir, 'certificates', 'charge-point');
    mkdirSync(keys, { recursive: true });
    writeFileSync(join(keys, 'key.pem'), 'CURRENT-KEY');
    writeFileSync(join(keys, 'pending-key.pem'), 'PENDING-KEY');
    writeFileSync(join(keys, 'cert.pem'), 'NOT-A-KEY');
    const store = { quickCheck: () => ['ok'], queueCounts: () => ({}) };
    expect((await stationProviders({ config, store }).privateKeys!()).sort()).toEqual([]);
    expect((await stationProviders({ config, store, storageDir }).privateKeys!()).sort()).toEqual(['CURRENT-KEY', 'PENDING-KEY']);
  });
});
