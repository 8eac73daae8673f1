import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/hal/clock.js';
import { SessionStore } from '../../src/store/sessions.js';
import { TxQueue } from '../../src/store/ocpp/queue.js';
import { TransactionRepository } from '../../src/store/ocpp/transactions.js';
import { ClockOffsetRepository } from '../../src/store/ocpp/clock-offsets.js';
import { TxLedger } from '../../src/ocpp/v16/ledger.js';
import { TimeResolver, stampRef } from '../../src/ocpp/stamps.js';
import type { Db } from '../../src/store/db.js';
import { openTestDb, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let db: Db;
const clock = new FakeClock();
const durations = { durationMs: 0, chargingMs: 0, idleMs: 0, meterGapMs: 0 };

beforeEach(() => {
  tmp = tempDir();
  db = openTestDb(tmp.dir);
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

describe('TxQueue', () => {
  it('keeps messages in order across a reopen of the database file', () => {
    const q = new TxQueue(db, { maxMessages: 1000, maxBytes: 1e6 });
    q.enqueue('MeterValues', null, { n: 1 }, clock.stamp());
    q.enqueue('MeterValues', null, { n: 2 }, clock.stamp());
    db.close();
    db = openTestDb(tmp.dir);
    const q2 = new TxQueue(db, { maxMessages: 1000, maxBytes: 1e6 });
    const h = q2.head()!;
    expect(h.payload).toEqual({ n: 1 });
    q2.delivered(h.id);
    expect(q2.head()!.payload).toEqual({ n: 2 });
    expect(q2.stats().length).toBe(1);
  });

  it('counts CALLERRORs and marks a message failed after the last attempt, keeping it visible', () => {
    const q = new TxQueue(db, { maxMessages: 1000, maxBytes: 1e6 });
    const id = q.enqueue('StopTransaction', 1, { x: 1 }, clock.stamp())!;
    q.enqueue('MeterValues', null, { y: 1 }, clock.stamp());
    expect(q.callError(id, 'InternalError: boom', 3)).toEqual({ attempts: 1, gaveUp: false });
    expect(q.callError(id, 'InternalError: boom', 3)).toEqual({ attempts: 2, gaveUp: false });
    expect(q.head()!.id).toBe(id);
    expect(q.callError(id, 'InternalError: boom', 3)).toEqual({ attempts: 3, gaveUp: true });
    expect(q.head()!.payload).toEqual({ y: 1 });
    const failed = q.failed();
    expect(failed.map((r) => [r.id, r.status, r.attempts, r.lastError])).toEqual([[id, 'failed', 3, 'InternalError: boom']]);
    expect(q.stats()).toMatchObject({ length: 1, failed: 1 });
  });

  it('thins every other intermediate MeterValues when full and never drops Start/Stop', () => {
    const q = new TxQueue(db, { maxMessages: 100, maxBytes: 1e9 });
    q.enqueue('StartTransaction', 1, { start: true }, clock.stamp());
    for (let i = 0; i < 99; i++) expect(q.enqueue('MeterValues', 1, { i }, clock.stamp(), true)).not.toBeNull();
    // full: the next insert thins the 99 meter values until <= 90 rows remain
    q.enqueue('StopTransaction', 1, { stop: true }, clock.stamp());
    const rows = db.prepare('SELECT action, payload FROM ocpp_queue ORDER BY id').all() as { action: string; payload: string }[];
    expect(rows[0]!.action).toBe('StartTransaction');
    expect(rows[rows.length - 1]!.action).toBe('StopTransaction');
    const kept = rows.filter((r) => r.action === 'MeterValues').map((r) => JSON.parse(r.payload).i as number);
    // the 1st, 3rd, 5th... (i = 0, 2, 4...) were dropped: 49 odd indices remain
    expect(kept).toEqual(Array.from({ length: 49 }, (_, k) => 2 * k + 1));
    expect(q.stats().thinned).toBe(50);
  });

  it('stores Start/Stop beyond the bound when nothing can be thinned, and drops a new meter value instead', () => {
    const q = new TxQueue(db, { maxMessages: 100, maxBytes: 1e9 });
    for (let i = 0; i < 100; i++) q.enqueue('StartTransaction', i, { i }, clock.stamp());
    expect(q.enqueue('StopTransaction', 1, {}, clock.stamp())).not.toBeNull();
    expect(q.enqueue('MeterValues', 1, {}, clock.stamp(), true)).toBeNull();
    expect(q.stats()).toMatchObject({ length: 101, thinned: 1 });
  });

  it('bounds by bytes too', () => {
    const q = new TxQueue(db, { maxMessages: 1_000_000, maxBytes: 100_000 });
    const big = 'x'.repeat(1000);
    for (let i = 0; i < 200; i++) q.enqueue('MeterValues', 1, { big, i }, clock.stamp(), true);
    expect(q.stats().bytes).toBeLessThanOrEqual(100_000);
    expect(q.stats().thinned).toBeGreaterThan(0);
  });
});

describe('TxLedger with the session store hooks', () => {
  function setup() {
    const q = new TxQueue(db, { maxMessages: 1000, maxBytes: 1e6 });
    const ledger = new TxLedger(new TransactionRepository(db, q), q);
    const sessions = new SessionStore(db);
    sessions.addHooks({
      onStart: (s) => ledger.onStart(s, s.idTag ?? 'FREE'),
      onStop: (s) => void ledger.onStop(s, undefined),
    });
    return { q, ledger, sessions };
  }

  it('writes Start and Stop in the session transaction, once, and fills the transactionId when Start is answered', () => {
    const { q, ledger, sessions } = setup();
    const s = sessions.start({ connectorId: 1, idTag: 'TAG1', authSource: 'offline', meterStartWh: 1000, at: clock.stamp() });
    clock.advance(60_000);
    sessions.stop(s.id, { meterStopWh: 1500, reason: 'PowerLoss', at: clock.stamp(), recovered: true, ...durations });
    sessions.stop(s.id, { meterStopWh: 1600, reason: 'Local', at: clock.stamp(), ...durations });
    const start = q.head()!;
    expect(start.action).toBe('StartTransaction');
    expect(start.payload).toMatchObject({ connectorId: 1, idTag: 'TAG1', meterStart: 1000 });
    ledger.startAnswered(start.id, s.id, 4711, 'Accepted');
    const stop = q.head()!;
    expect(stop.action).toBe('StopTransaction');
    expect(stop.payload).toMatchObject({ meterStop: 1500, reason: 'PowerLoss' });
    expect(ledger.transactionIdFor(s.id)).toBe(4711);
    expect(ledger.byTransactionId(4711)?.sessionId).toBe(s.id);
    q.delivered(stop.id);
    expect(q.head()).toBeUndefined();
  });

  it('rolls back the session when the hook fails, and gives -1 when the Start was abandoned', () => {
    const { ledger, sessions } = setup();
    const s = sessions.start({ connectorId: 1, idTag: 'TAG1', authSource: 'offline', meterStartWh: 0, at: clock.stamp() });
    ledger.abandonStart(s.id);
    expect(ledger.transactionIdFor(s.id)).toBe(-1);
    db.exec('DROP TABLE ocpp_queue');
    expect(() => sessions.start({ connectorId: 2, idTag: 'T2', authSource: 'offline', meterStartWh: 0, at: clock.stamp() })).toThrow();
    expect(sessions.active().map((x) => x.connectorId)).toEqual([1]);
  });
});

describe('TimeResolver', () => {
  it('corrects timestamps taken before the clock was set, also after a reopen', () => {
    const early = new FakeClock({ wallMs: Date.UTC(1970, 0, 2), quality: 'unsynced', bootId: 'b1' });
    early.advance(5000);
    const ref = stampRef(early.stamp());
    const r = new TimeResolver(new ClockOffsetRepository(db));
    expect(r.resolve({ t: ref })).toEqual({ t: '1970-01-02T00:00:05Z' });
    r.noteSync('b1', Date.UTC(2026, 0, 1));
    const r2 = new TimeResolver(new ClockOffsetRepository(db));
    expect(r2.resolve({ a: [{ t: ref }] })).toEqual({ a: [{ t: '2026-01-01T00:00:05Z' }] });
  });
});
