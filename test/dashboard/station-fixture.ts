import { expect } from 'vitest';
import { insertFixtureIds, type FixtureSession } from './fixture.js';
import type { TestDaemon } from './helpers.js';

/** The tariff of the station-page tests (Europe/Berlin, as the report's month). */
export const PAGE_TARIFF = '{ currency: EUR, energyPerKWh: 0.30, sessionFee: 0.50, taxPercent: 19, timeZone: Europe/Berlin }';

/** Tags of the seeded month: two named (one in the config as "Test driver", one named over the API), one without a name. */
export const SEED_TAGS = { named: 'CAR-ANNA', unnamed: 'CAR-X' } as const;

/** The seeded month (a past one, so every session is completed) and its sessions, with odd energies so rounding shows. */
export const SEED_MONTH = '2026-10';
export const SEEDED: FixtureSession[] = [
  { name: 'm1', start: '2026-10-02T17:00:00Z', durationMin: 150, chargingMin: 120, energyWh: 12_345, idTag: SEED_TAGS.named },
  { name: 'm2', start: '2026-10-09T06:10:00Z', durationMin: 95, chargingMin: 61, energyWh: 7_001, idTag: SEED_TAGS.unnamed },
  { name: 'm3', start: '2026-10-15T18:30:00Z', durationMin: 240, chargingMin: 200, energyWh: 22_999, idTag: SEED_TAGS.named },
  { name: 'm4', start: '2026-10-31T22:30:00Z', durationMin: 60, chargingMin: 45, energyWh: 8_276, idTag: 'DASH-TAG-1' }, // 23:30 CET: still October in Berlin
];

/**
 * Seeds the month: sessions priced as the station prices its own (the tariff snapshot a start
 * stores, then the ledger's final cost), a name for one tag, and a sample a minute for each
 * session (power rising, then falling) so its curve has a shape.
 */
export async function seedMonth(d: TestDaemon): Promise<number[]> {
  const ids = insertFixtureIds(d.daemon.db, SEEDED);
  const snapshot = d.daemon.db.prepare('INSERT INTO billing_session_tariffs (session_id, tariff_json, snapshot_wall_ms) VALUES (?, ?, ?)');
  const sample = d.daemon.db.prepare(`INSERT INTO meter_samples (connector_id, session_id, wall_ms, quality, boot_id, mono_ms, energy_wh, power_w, phases)
    VALUES (1, ?, ?, 'synced', 'fixture-boot', 0, ?, ?, NULL)`);
  d.daemon.db.transaction(() => {
    for (const id of ids) {
      const s = d.daemon.sessions.get(id)!;
      snapshot.run(id, JSON.stringify(d.config.tariff), s.startWallMs);
      const minutes = Math.round(s.durationMs / 60_000);
      for (let m = 0; m <= minutes; m++) {
        const powerW = m < minutes / 2 ? 2000 + m * 100 : Math.max(0, 11_000 - m * 40);
        sample.run(id, s.startWallMs + m * 60_000, s.meterStartWh + Math.round(((s.energyWh ?? 0) * m) / minutes), powerW);
      }
    }
  })();
  for (const id of ids) expect(d.daemon.ledger.recompute(id)).not.toBeNull();
  await d.call(`/api/tags/${SEED_TAGS.named}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Anna' }) });
  return ids;
}
