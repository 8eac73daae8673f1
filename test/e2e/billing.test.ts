import { describe, expect, it } from 'vitest';
import { api, runCli, spawnDaemon, tempDir, until, writeSimConfig } from '../support/station.js';

/** Cost through the whole daemon: the tariff snapshotted at start, live cost in the status, final cost in the exports. */
describe('billing through the daemon', () => {
  it('a session gets a live cost, an ETA from the battery SoC, and a final cost in the CSV', async () => {
    const dir = tempDir();
    const config = writeSimConfig(dir, {
      tags: ['TAG-1'],
      extra: `tariff:
  currency: EUR
  energyPerKWh: 0.30
  sessionFee: 0.50
  taxPercent: 19
`,
    });
    // A battery so the time to finish has a basis.
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(config, readFileSync(config, 'utf8').replace('ev: { maxCurrentA: 16, phases: 3 }', 'ev: { maxCurrentA: 16, phases: 3, battery: { capacityWh: 20000, startSocPercent: 50 } }'));
    const d = await spawnDaemon(config);
    try {
      await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
      await api(d.url, '/api/connectors/1/tag', { idTag: 'TAG-1' });
      await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
      const live = await until(async () => {
        const s = (await api(d.url, '/api/status')).body.connectors[0].session;
        return s && s.energyWh >= 5 && s.cost?.grossMinor > 0 && s.etaS !== null ? s : null;
      }, 'live cost and ETA', 20_000);
      expect(live.cost.currency).toBe('EUR');
      expect(live.cost.grossMinor).toBeGreaterThanOrEqual(60); // 0.50 fee + energy, with 19 % tax
      expect(live.etaBasis).toBe('soc');
      expect(live.socPercent).toBeGreaterThan(50);

      await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
      await until(async () => (await api(d.url, '/api/status')).body.connectors[0].session === null, 'session closed');
      const [s] = (await api(d.url, '/api/sessions')).body as any[];
      // Exact: fee 50 + energy rounded half up, tax 19 % of the rounded net, rounded half up.
      const energyMinor = Math.round((s.energyWh * 30) / 1000);
      const net = 50 + energyMinor;
      const tax = Math.round((net * 19) / 100);
      expect(s.currency).toBe('EUR');
      expect(s.costNet).toBe((net / 100).toFixed(2));
      expect(s.costTax).toBe((tax / 100).toFixed(2));
      expect(s.costTotal).toBe(((net + tax) / 100).toFixed(2));

      const csv = await runCli(['sessions', 'export', '--format', 'csv', '--config', config]);
      const [header, row] = csv.stdout.trim().split('\r\n');
      const cols = header!.split(',');
      expect(row!.split(',')[cols.indexOf('costTotal')]).toBe(((net + tax) / 100).toFixed(2));
    } finally {
      await d.stop();
    }
  });
});
