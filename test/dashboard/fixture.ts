import type { Db } from '../../src/store/db.js';

/**
 * Sessions around the end of daylight saving time in Europe/Berlin (2026-10-25 03:00 CEST ->
 * 02:00 CET, i.e. 01:00 UTC). Times are UTC; the comment gives Berlin local time.
 */
export interface FixtureSession {
  name: string;
  start: string;
  durationMin: number;
  chargingMin: number;
  energyWh: number;
  active?: boolean;
  connectorId?: number;
  /** Default FIX. */
  idTag?: string;
}

export const FIXTURE: FixtureSession[] = [
  { name: 'F', start: '2026-10-23T21:59:59Z', durationMin: 120, chargingMin: 60, energyWh: 9000 }, // 10-23 23:59:59 CEST, before the period
  { name: 'A', start: '2026-10-24T05:30:00Z', durationMin: 120, chargingMin: 90, energyWh: 11000 }, // 10-24 07:30 CEST
  { name: 'B', start: '2026-10-24T21:30:00Z', durationMin: 180, chargingMin: 120, energyWh: 15000, connectorId: 2 }, // 10-24 23:30 CEST
  { name: 'D', start: '2026-10-25T01:30:00Z', durationMin: 30, chargingMin: 0, energyWh: 0 }, // 10-25 02:30 CET (after the change)
  { name: 'C', start: '2026-10-25T06:00:00Z', durationMin: 60, chargingMin: 60, energyWh: 7400 }, // 10-25 07:00 CET
  { name: 'G', start: '2026-10-25T23:30:00Z', durationMin: 60, chargingMin: 30, energyWh: 3000 }, // 10-26 00:30 CET
  { name: 'E', start: '2026-10-26T16:00:00Z', durationMin: 60, chargingMin: 60, energyWh: 2500, active: true }, // 10-26 17:00 CET, running
  { name: 'H', start: '2026-10-26T22:00:00Z', durationMin: 180, chargingMin: 180, energyWh: 22000, connectorId: 2 }, // 10-26 23:00 CET, ends after the period
];

/** 2026-10-24 00:00 CEST to 2026-10-27 00:00 CET: 73 hours (the 25th has 25). */
export const PERIOD = { fromMs: Date.parse('2026-10-23T22:00:00Z'), toMs: Date.parse('2026-10-26T23:00:00Z') };

export function insertFixture(db: Db, sessions: FixtureSession[] = FIXTURE): void {
  insertFixtureIds(db, sessions);
}

/** As insertFixture; returns the new sessions' ids, in the order given. */
export function insertFixtureIds(db: Db, sessions: FixtureSession[] = FIXTURE): number[] {
  const ids: number[] = [];
  const insert = db.prepare(`INSERT INTO sessions (uid, connector_id, id_tag, auth_source, status, start_wall_ms, start_quality,
      start_boot_id, start_mono_ms, meter_start_wh, checkpoint_wall_ms, checkpoint_energy_wh, duration_ms, charging_ms, idle_ms,
      stop_wall_ms, stop_quality, meter_stop_wh, energy_wh, stop_reason)
    VALUES (@uid, @connectorId, @idTag, 'local', @status, @start, 'synced', 'fixture-boot', 0, @meterStart, @checkpointWall, @checkpointEnergy,
      @durationMs, @chargingMs, @idleMs, @stop, @stopQuality, @meterStop, @energy, @reason)`);
  let register = 100_000;
  db.transaction(() => {
    for (const s of sessions) {
      const start = Date.parse(s.start);
      const durationMs = s.durationMin * 60_000;
      const end = start + durationMs;
      const r = insert.run({
        uid: `fixture-${s.name}`,
        connectorId: s.connectorId ?? 1,
        idTag: s.idTag ?? 'FIX',
        status: s.active ? 'active' : 'completed',
        start,
        meterStart: register,
        checkpointWall: end,
        checkpointEnergy: register + s.energyWh,
        durationMs,
        chargingMs: s.chargingMin * 60_000,
        idleMs: durationMs - s.chargingMin * 60_000,
        stop: s.active ? null : end,
        stopQuality: s.active ? null : 'synced',
        meterStop: s.active ? null : register + s.energyWh,
        energy: s.active ? null : s.energyWh,
        reason: s.active ? null : 'EVDisconnected',
      });
      ids.push(Number(r.lastInsertRowid));
      register += s.energyWh;
    }
  })();
  return ids;
}
