import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/store/db.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { SessionStore } from '../../src/store/sessions.js';
import { FakeClock } from '../../src/hal/clock.js';
import { billingMigrations } from '../../src/store/billing/migrations.js';
import { BillingRecords } from '../../src/store/billing/records.js';
import { TagNameRepository } from '../../src/store/billing/tag-names.js';
import type { Tariff } from '../../src/config/tariff.js';
import { BillingLedger, sessionCostColumns } from '../../src/billing/ledger.js';
import { sessionRow } from '../../src/store/export.js';
import type { Logger } from '../../src/log.js';
import { at, exampleTariff, tempDir } from './helpers.js';

const MIN = 60_000;

describe('BillingLedger with a real SQLite file', () => {
  let cleanup: (() => void) | undefined;
  const dbs: Db[] = [];
  afterEach(() => {
    for (const db of dbs.splice(0)) db.close();
    cleanup?.();
  });

  const dbOf = new WeakMap<SessionStore, Db>();
  function open(file: string) {
    const db = openDb(file, [coreMigrations, billingMigrations]);
    dbs.push(db);
    const store = new SessionStore(db);
    dbOf.set(store, db);
    return store;
  }

  function newLedger(store: SessionStore, tariff: Tariff | null, opts?: { now?: () => number; log?: Logger }) {
    return new BillingLedger(store, new BillingRecords(dbOf.get(store)!), tariff, opts);
  }

  /** Monday 2026-11-02 06:30 Berlin: 1 h at 11 kW across 07:00, then 40 min plugged in without drawing. */
  function runSession(store: SessionStore, clock: FakeClock, idTag = 'CAR1') {
    const s = store.start({ connectorId: 1, idTag, authSource: 'local', meterStartWh: 50_000, at: clock.stamp() });
    let wh = 50_000;
    for (let i = 0; i < 6; i++) {
      clock.advance(10 * MIN);
      wh += 1833 + (i % 3 === 0 ? 1 : 0); // 11 000 Wh in the hour
      store.addSamples([{ connectorId: 1, sessionId: s.id, at: clock.stamp(), energyWh: wh, powerW: 11_000 }]);
    }
    for (let i = 0; i < 4; i++) {
      clock.advance(10 * MIN);
      store.addSamples([{ connectorId: 1, sessionId: s.id, at: clock.stamp(), energyWh: wh, powerW: 0 }]);
    }
    return store.stop(s.id, { meterStopWh: wh, reason: 'EVDisconnected', at: clock.stamp(), durationMs: 100 * MIN, chargingMs: 60 * MIN, idleMs: 40 * MIN, meterGapMs: 0 });
  }

  it('snapshots the tariff at start and stores the final cost at stop, in the same transactions', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = join(t.dir, 'evsed.db');
    const store = open(file);
    const clock = new FakeClock({ wallMs: at('2026-11-02T06:30:00+01:00') });
    store.recordBoot(clock.stamp());
    const ledger = newLedger(store, exampleTariff(), { now: () => 1 }).install();

    const s = runSession(store, clock);
    expect(ledger.tariffOf(s.id)).toEqual(exampleTariff());
    const cost = ledger.costOf(s.id)!;
    // 06:30-07:00: 5500 Wh at 0.30 = 165; 07:00-07:30: 5500 Wh at 0.35 = 192.5 → 193; fee 50;
    // idle: charging ended 07:30, stop 08:10 → 40 min − 15 min grace = 25 min × 10 ct = 250.
    expect(cost.lines.map((l) => [l.kind, l.quantity, l.amount])).toEqual([
      ['energy', 5500, 165],
      ['energy', 5500, 193],
      ['sessionFee', 1, 50],
      ['idle', 25 * MIN, 250],
    ]);
    expect([cost.energyWh, cost.net, cost.tax, cost.gross, cost.currency, cost.clockSynced]).toEqual([11_000, 658, 125, 783, 'EUR', true]);
    expect(sessionRow(store.get(s.id)!, sessionCostColumns(ledger))).toMatchObject({ currency: 'EUR', costNet: '6.58', costTax: '1.25', costTotal: '7.83' });

    // the cost survives a reopen (a new process)
    dbs.pop()!.close();
    const again = newLedger(open(file), null);
    expect(again.costOf(s.id)).toEqual(cost);
    const row = dbs[0]!.prepare('SELECT net_minor, tax_minor, gross_minor, currency FROM billing_session_costs WHERE session_id = ?').get(s.id);
    expect(row).toEqual({ net_minor: 658, tax_minor: 125, gross_minor: 783, currency: 'EUR' });
  });

  it('a later tariff change never rewrites history: old snapshot and cost stay, new sessions use the new tariff', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const store = open(join(t.dir, 'evsed.db'));
    const clock = new FakeClock({ wallMs: at('2026-11-02T06:30:00+01:00') });
    const ledger = newLedger(store, exampleTariff()).install();
    const first = runSession(store, clock);
    const before = ledger.costOf(first.id)!;

    const dearer = exampleTariff({ energyPerKWh: 0.5, timeOfUse: [], sessionFee: 0 });
    ledger.setTariff(dearer);
    clock.setWall(at('2026-11-02T06:30:00+01:00') + 86_400_000);
    const second = runSession(store, clock, 'CAR2');

    expect(ledger.tariffOf(first.id)).toEqual(exampleTariff());
    expect(ledger.costOf(first.id)).toEqual(before);
    expect(ledger.recompute(first.id)!.gross).toBe(before.gross); // recomputed from the snapshot, not the new tariff
    expect(ledger.tariffOf(second.id)).toEqual(dearer);
    expect(ledger.costOf(second.id)!.lines[0]).toMatchObject({ kind: 'energy', quantity: 11_000, amount: 550 });

    expect(() => dbOf.get(store)!.prepare("UPDATE billing_session_tariffs SET tariff_json = '{}' WHERE session_id = ?").run(first.id)).toThrow(
      /tariff snapshot is history/,
    );
     // Sessions are never deleted (the store has no delete path), so neither is their snapshot.
    expect(() => dbOf.get(store)!.prepare('DELETE FROM billing_session_tariffs WHERE session_id = ?').run(first.id)).toThrow(/tariff snapshot is history/);
    expect(() => dbOf.get(store)!.prepare('DELETE FROM billing_session_tariffs').run()).toThrow(/tariff snapshot is history/);
    expect(ledger.tariffOf(second.id)).toEqual(dearer);
    expect(dbOf.get(store)!.prepare('SELECT COUNT(*) FROM billing_session_tariffs').pluck().get()).toBe(2);
  });

  it('a store created before the DELETE guard gets it on the next start (migration billing#2)', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = join(t.dir, 'evsed.db');
    const v1 = { ...billingMigrations, migrations: billingMigrations.migrations.filter((m) => m.version === 1) };
    const oldDb = openDb(file, [coreMigrations, v1]);
    const old = new SessionStore(oldDb);
    const clock = new FakeClock({ wallMs: at('2026-11-02T06:30:00+01:00') });
    const s = runSession(old, clock);
    // A snapshot as version 1 stored it (no ledger installed on this store).
    oldDb.prepare("INSERT INTO billing_session_tariffs (session_id, tariff_json, snapshot_wall_ms) VALUES (?, '{}', 0)").run(s.id);
    oldDb.close();
    const store = open(file);
    expect(dbOf.get(store)!.prepare("SELECT version FROM schema_migrations WHERE module = 'billing' ORDER BY version").pluck().all()).toEqual([1, 2, 3, 4]);
    expect(() => dbOf.get(store)!.prepare('DELETE FROM billing_session_tariffs').run()).toThrow(/cannot be deleted/);
  });

  it('without a tariff there is no snapshot and no cost (null, not zero)', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const store = open(join(t.dir, 'evsed.db'));
    const clock = new FakeClock({ wallMs: at('2026-11-02T06:30:00+01:00') });
    const ledger = newLedger(store, null).install();
    const s = runSession(store, clock);
    expect(ledger.tariffOf(s.id)).toBeNull();
    expect(ledger.costOf(s.id)).toBeNull();
  });

  it('live cost of an active session from its stored samples; a rolled-back start stores no snapshot', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const store = open(join(t.dir, 'evsed.db'));
    const clock = new FakeClock({ wallMs: at('2026-11-07T10:00:00+01:00') }); // Saturday: base price
    const ledger = newLedger(store, exampleTariff()).install();
    const s = store.start({ connectorId: 1, idTag: 'CAR1', authSource: 'local', meterStartWh: 0, at: clock.stamp() });
    clock.advance(30 * MIN);
    store.addSamples([{ connectorId: 1, sessionId: s.id, at: clock.stamp(), energyWh: 3000, powerW: 6000 }]);
    clock.advance(30 * MIN);
    const latest = { wallMs: clock.wallMs(), energyWh: 6000 };
    const live = ledger.liveCostFor(store.get(s.id)!, latest, 60 * MIN)!;
    expect(live.lines.map((l) => [l.kind, l.quantity, l.amount])).toEqual([
      ['energy', 6000, 180],
      ['sessionFee', 1, 50],
      ['idle', 0, 0],
    ]);
    expect(live.gross).toBe(274); // 230 + 43.7

    store.addHooks({ onStart: () => { throw new Error('queue full'); } });
    expect(() => store.start({ connectorId: 2, idTag: 'CAR2', authSource: 'local', meterStartWh: 0, at: clock.stamp() })).toThrow('queue full');
    expect(dbOf.get(store)!.prepare('SELECT COUNT(*) FROM billing_session_tariffs').pluck().get()).toBe(1);
  });

  it('a session recovered after a power loss: idle time from its monotonic duration, not the wall time of the reboot', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const store = open(join(t.dir, 'evsed.db'));
    const before = new FakeClock({ wallMs: at('2026-11-07T10:00:00+01:00'), bootId: 'boot-a' }); // Saturday
    const ledger = newLedger(store, exampleTariff()).install();
    const s = store.start({ connectorId: 1, idTag: 'CAR1', authSource: 'local', meterStartWh: 0, at: before.stamp() });
    let wh = 0;
    for (let m = 10; m <= 80; m += 10) {
      before.advance(10 * MIN);
      if (m <= 60) wh += 1000;
      store.addSamples([{ connectorId: 1, sessionId: s.id, at: before.stamp(), energyWh: wh, powerW: m <= 60 ? 6000 : 0 }]);
    }
    store.checkpoint(s.id, { energyWh: wh, at: before.stamp(), durationMs: 80 * MIN, chargingMs: 60 * MIN, idleMs: 20 * MIN, meterGapMs: 0 });
    // power loss; the station comes back at 18:00 in a new boot and closes the session from its checkpoint
    const after = new FakeClock({ wallMs: at('2026-11-07T18:00:00+01:00'), bootId: 'boot-b' });
    store.stop(s.id, { meterStopWh: wh, reason: 'PowerLoss', at: after.stamp(), durationMs: 80 * MIN, chargingMs: 60 * MIN, idleMs: 20 * MIN, meterGapMs: 0, recovered: true });
    const cost = ledger.costOf(s.id)!;
    expect(cost.lines.map((l) => [l.kind, l.quantity, l.amount])).toEqual([
      ['energy', 6000, 180],
      ['sessionFee', 1, 50],
      ['idle', 5 * MIN, 50], // 80 − 60 = 20 min idle, 15 min grace
    ]);
    expect([cost.net, cost.tax, cost.gross]).toEqual([280, 53, 333]);
  });

  it('a billing failure is logged and never blocks the session from starting or stopping', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const store = open(join(t.dir, 'evsed.db'));
    const clock = new FakeClock({ wallMs: at('2026-11-07T10:00:00+01:00') });
    const errors: string[] = [];
    const log = { error: (_o: unknown, msg: string) => errors.push(msg) } as unknown as Logger;
    const broken = { ...exampleTariff(), timeZone: 'Not/AZone' }; // as if a snapshot were corrupt
    const ledger = newLedger(store, broken, { log }).install();
    const s = store.start({ connectorId: 1, idTag: 'CAR1', authSource: 'local', meterStartWh: 0, at: clock.stamp() });
    clock.advance(60 * MIN);
    const stopped = store.stop(s.id, { meterStopWh: 1000, reason: 'Local', at: clock.stamp(), durationMs: 60 * MIN, chargingMs: 60 * MIN, idleMs: 0, meterGapMs: 0 });
    expect(stopped.status).toBe('completed');
    expect(ledger.costOf(s.id)).toBeNull();
    expect(errors).toEqual([expect.stringMatching(/^billing: could not compute the final cost of session 1: .*time zone/i)]);
  });

  it('tag names: set, replace, remove', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    open(join(t.dir, 'evsed.db'));
    const names = new TagNameRepository(dbs[0]!, { now: () => 42 });
    names.set('CAR1', ' Anna ');
    names.set('CAR2', 'Ben');
    names.set('CAR2', 'Ben K.');
    expect([...names.all()]).toEqual([['CAR1', 'Anna'], ['CAR2', 'Ben K.']]);
    names.set('CAR1', null);
    expect([...names.all()]).toEqual([['CAR2', 'Ben K.']]);
    expect(() => names.set('CAR3', 'x'.repeat(81))).toThrow(/at most 80/);
    // One tag whatever the case: naming "car2" renames CAR2 (the spelling given last is kept), and "Car2" removes it.
    names.set('car2', 'Ben');
    expect([...names.all()]).toEqual([['car2', 'Ben']]);
    names.set('Car2', null);
    expect([...names.all()]).toEqual([]);
  });

  it('migration billing#3 folds tag names that differ only in case into one (the latest kept)', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = join(t.dir, 'evsed.db');
    const v2 = { ...billingMigrations, migrations: billingMigrations.migrations.filter((m) => m.version <= 2) };
    const old = openDb(file, [coreMigrations, v2]);
    const put = old.prepare('INSERT INTO billing_tag_names (id_tag, name, updated_wall_ms) VALUES (?, ?, ?)');
    put.run('CAR1', 'Anna (old)', 1);
    put.run('car1', 'Anna', 2);
    put.run('CAR2', 'Ben', 1);
    old.close();
    open(file);
    expect([...new TagNameRepository(dbs[0]!).all()]).toEqual([['car1', 'Anna'], ['CAR2', 'Ben']]);
  });
});
