import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../src/daemon.js';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { tempDir, until, writeSimConfig } from '../support/station.js';

describe('a current claim with a lease', () => {
  it('ends by itself when not renewed, and a renewal keeps it', async () => {
    const d = await startDaemon(loadConfig(writeSimConfig(tempDir(), { authMode: 'free' })), silentLogger());
    try {
      const has = () => d.station.claims(1).some((c) => c.source === 'manager');
      d.station.setClaim({ source: 'manager', connectorId: 1, maxA: 8, leaseMs: 300 });
      expect(d.station.connectorView(1)!.limitSource).toBe('manager');
      // Renewed every 100 ms for a second: still there, far past one lease.
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 100));
        d.station.setClaim({ source: 'manager', connectorId: 1, maxA: 8, leaseMs: 300 });
        expect(has()).toBe(true);
      }
      await until(() => !has(), 'the lease to run out');
      expect(d.station.connectorView(1)!.limitSource).toBe('config');
      // Set without a lease: it stays.
      d.station.setClaim({ source: 'manager', connectorId: 1, maxA: 8, leaseMs: 100 });
      d.station.setClaim({ source: 'manager', connectorId: 1, maxA: 9 });
      await new Promise((r) => setTimeout(r, 300));
      expect(has()).toBe(true);
    } finally {
      await d.stop();
    }
  });
});
