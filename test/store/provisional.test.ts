import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDb } from '../../src/store/db.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { SessionStore, type SessionRecord } from '../../src/store/sessions.js';
import { sessionRow, sessionsToCsv } from '../../src/store/export.js';
import { billingMigrations } from '../../src/store/billing/migrations.js';
import { BillingLedger } from '../../src/billing/ledger.js';
import { BillingRecords } from '../../src/store/billing/records.js';
import type { Stamp } from '../../src/hal/clock.js';
import { tempDir } from '../support/station.js';
import { exampleTariff } from '../billing/helpers.js';

const durations = { durationMs: 60_000, chargingMs: 45_000, idleMs: 15_000, meterGapMs: 0 };
const at = (over: Partial<Stamp> = {}): Stamp => ({ wallMs: Date.UTC(2026, 10, 1, 8), quality: 'synced', bootId: 'b1', monoMs: 1000, ...over });

describe('provisional meter values (core migration 2)', () => {
  it('a store written before the migration gets the flags, false for its sessions; the old migration is untouched', () => {
    const file = join(tempDir(), 'evsed.db');
    const v1 = { module: 'core', migrations: coreMigrations.migrations.filter((m) => m.version === 1) };
    const old = openDb(file, [v1]);
    old.prepare(`INSERT INTO sessions (uid, connector_id, auth_source, status, start_wall_ms, start_quality, start_boot_id, start_mono_ms, meter_start_wh, meter_stop_wh, energy_wh)
      VALUES ('u', 1, 'free', 'completed', 1, 'synced', 'b1', 1, 100, 150, 50)`).run();
    old.close();
    const db = openDb(file, [coreMigrations]);
    const s = new SessionStore(db);
    expect(s.get(1)).toMatchObject({ meterStopWh: 150, energyWh: 50, meterStartProvisional: false, meterStopProvisional: false });
    const applied = db.prepare("SELECT version, name FROM schema_migrations WHERE module = 'core' ORDER BY version").all();
    expect(applied).toEqual([{ version: 1, name: 'boots, sessions, meter samples' }, { version: 2, name: 'provisional meter start/stop flags' }, { version: 3, name: 'connector lockouts (welded contactor survives a restart)' }, { version: 4, name: 'reservations (survive a restart), and the reservation a session used' }]);
    db.close();
  });

  it('correctMeter replaces only provisional values, keeps energy the register difference, runs onCorrect in the transaction', () => {
    const db = openDb(join(tempDir(), 'evsed.db'), [coreMigrations]);
    const s = new SessionStore(db);
    const seen: [SessionRecord, SessionRecord][] = [];
    s.addHooks({ onCorrect: (rec, before) => {
      // Inside the same transaction: the corrected row is what the connection sees.
      expect((db.prepare('SELECT meter_stop_wh w FROM sessions WHERE id = ?').get(rec.id) as { w: number }).w).toBe(rec.meterStopWh);
      seen.push([rec, before]);
    } });
    const a = s.start({ connectorId: 1, idTag: null, authSource: 'free', meterStartWh: 1000, at: at() });
    s.stop(a.id, { meterStopWh: 1005, reason: 'EVDisconnected', at: at(), ...durations, meterStopProvisional: true });
    expect(s.get(a.id)).toMatchObject({ meterStopWh: 1005, energyWh: 5, meterStopProvisional: true, meterStartProvisional: false });
    // A value that is not provisional is never rewritten.
    expect(s.correctMeter(a.id, { meterStartWh: 999 })).toBeUndefined();
    const fixed = s.correctMeter(a.id, { meterStopWh: 1017 })!;
    expect(fixed).toMatchObject({ meterStartWh: 1000, meterStopWh: 1017, energyWh: 17, meterStopProvisional: false, checkpointEnergyWh: 1017 });
    expect(seen.map(([r, b]) => [b.meterStopWh, r.meterStopWh])).toEqual([[1005, 1017]]);
    // Once corrected it is no longer provisional: a second correction changes nothing.
    expect(s.correctMeter(a.id, { meterStopWh: 2000 })).toBeUndefined();

    // A provisional start, corrected while the session runs.
    const b = s.start({ connectorId: 1, idTag: null, authSource: 'free', meterStartWh: 1017, at: at(), meterStartProvisional: true });
    expect(s.correctMeter(b.id, { meterStartWh: 1030 })).toMatchObject({ status: 'active', meterStartWh: 1030, meterStartProvisional: false, energyWh: null });
    expect(s.latestOn(1)!.id).toBe(b.id);
    expect(s.stop(b.id, { meterStopWh: 1040, reason: 'Local', at: at(), ...durations }).energyWh).toBe(10);
  });

  it('the export shows the flags (JSON row and CSV column)', () => {
    const db = openDb(join(tempDir(), 'evsed.db'), [coreMigrations]);
    const s = new SessionStore(db);
    const a = s.start({ connectorId: 1, idTag: null, authSource: 'free', meterStartWh: 1000, at: at() });
    const rec = s.stop(a.id, { meterStopWh: 1005, reason: 'EVDisconnected', at: at(), ...durations, meterStopProvisional: true });
    expect(sessionRow(rec)).toMatchObject({ meterStartProvisional: false, meterStopProvisional: true });
    const [header, row] = sessionsToCsv([rec]).trim().split('\r\n').map((l) => l.split(','));
    expect(row![header!.indexOf('meterStopProvisional')]).toBe('true');
    expect(row![header!.indexOf('meterStartProvisional')]).toBe('false');
  });

  it('billing recomputes the final cost when the stop is corrected', () => {
    const db = openDb(join(tempDir(), 'evsed.db'), [coreMigrations, billingMigrations]);
    const s = new SessionStore(db);
    s.recordBoot(at());
    const ledger = new BillingLedger(s, new BillingRecords(db), exampleTariff(), { now: () => 1 }).install();
    const a = s.start({ connectorId: 1, idTag: 'T', authSource: 'local', meterStartWh: 10_000, at: at() });
    s.stop(a.id, { meterStopWh: 11_000, reason: 'EVDisconnected', at: at({ wallMs: at().wallMs + 3_600_000, monoMs: 3_601_000 }), ...durations, meterStopProvisional: true });
    expect(ledger.costOf(a.id)!.energyWh).toBe(1000);
    s.correctMeter(a.id, { meterStopWh: 14_000 });
    expect(ledger.costOf(a.id)!.energyWh).toBe(4000);
    const raw = new Database(db.name, { readonly: true });
    expect((raw.prepare('SELECT energy_wh e FROM billing_session_costs WHERE session_id = ?').get(a.id) as { e: number }).e).toBe(4000);
    raw.close();
  });
});
