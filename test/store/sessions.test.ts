import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDb, type MigrationSet } from '../../src/store/db.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { SessionStore } from '../../src/store/sessions.js';
import type { Stamp } from '../../src/hal/clock.js';
import { tempDir } from '../support/station.js';

const durations = { durationMs: 60_000, chargingMs: 45_000, idleMs: 15_000, meterGapMs: 0 };

function store() {
  const file = join(tempDir(), 'evsed.db');
  const db = openDb(file, [coreMigrations]);
  return { db, s: new SessionStore(db), file };
}

const at = (over: Partial<Stamp> = {}): Stamp => ({ wallMs: Date.UTC(2026, 10, 1, 8), quality: 'synced', bootId: 'b1', monoMs: 1000, ...over });

describe('session store', () => {
  it('energy is the register difference; start and stop are separate durable records', () => {
    const { s, file } = store();
    const rec = s.start({ connectorId: 1, idTag: 'T', authSource: 'local', meterStartWh: 12_345, at: at() });
    expect(rec).toMatchObject({ status: 'active', meterStartWh: 12_345, energyWh: null });
    // Visible to a second connection (the CLI) before the stop: the start is committed on its own.
    const other = openDb(file, [], { readonly: true });
    expect((other.prepare('SELECT status FROM sessions').get() as { status: string }).status).toBe('active');
    other.close();
    const done = s.stop(rec.id, { meterStopWh: 19_002, reason: 'EVDisconnected', at: at({ monoMs: 61_000, wallMs: at().wallMs + 60_000 }), ...durations });
    expect(done).toMatchObject({ status: 'completed', meterStopWh: 19_002, energyWh: 6657, stopReason: 'EVDisconnected', durationMs: 60_000, chargingMs: 45_000, idleMs: 15_000 });
    // A second stop does not rewrite it.
    expect(s.stop(rec.id, { meterStopWh: 99_999, reason: 'Local', at: at(), ...durations }).meterStopWh).toBe(19_002);
  });

  it('never records negative energy from a register that went backwards', () => {
    const { s } = store();
    const rec = s.start({ connectorId: 1, idTag: null, authSource: 'free', meterStartWh: 500, at: at() });
    expect(s.stop(rec.id, { meterStopWh: 400, reason: 'Other', at: at(), ...durations }).energyWh).toBe(0);
  });

  it('refuses energy that is not a whole non-negative number of Wh', () => {
    const { s } = store();
    expect(() => s.start({ connectorId: 1, idTag: null, authSource: 'free', meterStartWh: 1.5, at: at() })).toThrow(/integer Wh/);
    expect(() => s.start({ connectorId: 1, idTag: null, authSource: 'free', meterStartWh: -1, at: at() })).toThrow(/integer Wh/);
  });

  it('runs hooks inside the session transaction: a failing hook rolls the session back', () => {
    const { s } = store();
    s.addHooks({
      onStart: () => {
        throw new Error('queue full');
      },
    });
    expect(() => s.start({ connectorId: 1, idTag: 'T', authSource: 'local', meterStartWh: 1, at: at() })).toThrow('queue full');
    expect(s.list()).toHaveLength(0);
  });

  it('hooks see the committed record and can write in the same transaction', () => {
    const { s, db } = store();
    db.exec('CREATE TABLE outbox (session_id INTEGER, kind TEXT)');
    s.addHooks({
      // A repository on the same connection writes inside the session's transaction.
      onStart: (rec) => void db.prepare('INSERT INTO outbox VALUES (?, ?)').run(rec.id, 'start'),
      onStop: (rec) => void db.prepare('INSERT INTO outbox VALUES (?, ?)').run(rec.id, `stop:${rec.energyWh}`),
    });
    const rec = s.start({ connectorId: 1, idTag: 'T', authSource: 'local', meterStartWh: 100, at: at() });
    s.stop(rec.id, { meterStopWh: 350, reason: 'Local', at: at(), ...durations });
    expect(db.prepare('SELECT * FROM outbox').all()).toEqual([{ session_id: 1, kind: 'start' }, { session_id: 1, kind: 'stop:250' }]);
  });

  it('repairs timestamps taken before the clock was set, from their monotonic readings', () => {
    const { s } = store();
    const bogus = Date.UTC(1970, 0, 1, 0, 5); // a Pi without RTC before NTP
    const rec = s.start({ connectorId: 1, idTag: 'T', authSource: 'local', meterStartWh: 0, at: { wallMs: bogus, quality: 'unsynced', bootId: 'b2', monoMs: 10_000 } });
    s.addSamples([{ connectorId: 1, sessionId: rec.id, at: { wallMs: bogus + 5000, quality: 'unsynced', bootId: 'b2', monoMs: 15_000 }, energyWh: 10, powerW: 7000 }]);
    // Another boot's rows are not touched.
    const otherBoot = s.start({ connectorId: 2, idTag: 'T', authSource: 'local', meterStartWh: 0, at: { wallMs: bogus, quality: 'unsynced', bootId: 'b1', monoMs: 10_000 } });
    const realStartOfMono = Date.UTC(2026, 10, 25, 6, 0, 0);
    expect(s.repairBoot('b2', realStartOfMono, 'csms')).toBe(3); // start + checkpoint + sample
    const fixed = s.get(rec.id)!;
    expect(fixed.startWallMs).toBe(realStartOfMono + 10_000);
    expect(fixed.startQuality).toBe('synced');
    expect(s.lastSample(rec.id)!.wallMs).toBe(realStartOfMono + 15_000);
    expect(s.get(otherBoot.id)!.startQuality).toBe('unsynced');
  });

  it('filters by date range, tag and connector', () => {
    const { s } = store();
    const day = (d: number) => at({ wallMs: Date.UTC(2026, 10, d, 12) });
    for (const [d, tag, c] of [[1, 'A', 1], [2, 'B', 1], [3, 'A', 2]] as const) {
      s.start({ connectorId: c, idTag: tag, authSource: 'local', meterStartWh: 0, at: day(d) });
    }
    expect(s.list({ fromMs: Date.UTC(2026, 10, 2), order: 'asc' }).map((r) => r.idTag)).toEqual(['B', 'A']);
    expect(s.list({ idTag: 'A' })).toHaveLength(2);
    expect(s.list({ connectorId: 2 })).toHaveLength(1);
    expect(s.list({ toMs: Date.UTC(2026, 10, 2) })).toHaveLength(1);
    expect(s.list({ limit: 2 })).toHaveLength(2);
  });

  it('the tag filter is case-insensitive, as idTags are (idTagKey, COLLATE NOCASE)', () => {
    const { s } = store();
    s.start({ connectorId: 1, idTag: '04A1B2C3', authSource: 'local', meterStartWh: 0, at: at() });
    s.start({ connectorId: 1, idTag: '04a1b2c3', authSource: 'local', meterStartWh: 0, at: at() });
    s.start({ connectorId: 1, idTag: '04A1B2C4', authSource: 'local', meterStartWh: 0, at: at() });
    expect(s.list({ idTag: '04a1B2c3' }).map((r) => r.idTag).sort()).toEqual(['04A1B2C3', '04a1b2c3']);
  });
});

describe('migrations', () => {
  it('apply once per module, in version order, and are recorded', () => {
    const file = join(tempDir(), 'm.db');
    const order: string[] = [];
    const extra: MigrationSet = {
      module: 'extra',
      migrations: [
        { version: 2, name: 'second', up: (db) => (order.push('2'), db.exec('ALTER TABLE t ADD COLUMN b TEXT')) },
        { version: 1, name: 'first', up: (db) => (order.push('1'), db.exec('CREATE TABLE t (a TEXT)')) },
      ],
    };
    openDb(file, [coreMigrations, extra]).close();
    const db = openDb(file, [coreMigrations, extra]);
    expect(order).toEqual(['1', '2']);
    expect(db.prepare('SELECT module, version FROM schema_migrations ORDER BY module, version').all()).toEqual([
      { module: 'core', version: 1 },
      { module: 'core', version: 2 },
      { module: 'core', version: 3 },
      { module: 'core', version: 4 },
      { module: 'extra', version: 1 },
      { module: 'extra', version: 2 },
    ]);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('a failing migration names itself and leaves nothing half-applied', () => {
    const file = join(tempDir(), 'm.db');
    const bad: MigrationSet = { module: 'bad', migrations: [{ version: 1, name: 'broken', up: (db) => db.exec('CREATE TABLE x (a); SELECT nonsense FROM nowhere') }] };
    expect(() => openDb(file, [coreMigrations, bad])).toThrow(/migration bad#1 \(broken\) failed/);
    const db = openDb(file, [coreMigrations]);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'x'").get()).toBeUndefined();
    db.close();
  });
});
