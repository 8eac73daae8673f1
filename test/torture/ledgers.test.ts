import { describe, expect, it } from 'vitest';
import { FlakyCsms } from './flaky-csms.js';
import { compareLedgers, repeats, type StationLedger } from './ledgers.js';

/** The ledger comparison used by the torture tests catches what it must (a checker that cannot fail proves nothing). */
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const ts = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function station(): StationLedger {
  return {
    sessions: [
      { id: 1, connectorId: 1, idTag: 'A', status: 'completed', startWallMs: T0, meterStartWh: 1000, meterStopWh: 1500, checkpointWh: 1490, stopReason: 'EVDisconnected', recovered: false },
      { id: 2, connectorId: 1, idTag: 'B', status: 'completed', startWallMs: T0 + 60_000, meterStartWh: 1500, meterStopWh: 1720, checkpointWh: 1720, stopReason: 'PowerLoss', recovered: true },
    ],
    queue: [],
  };
}

function csmsWith(opts: { skipStop2?: boolean; stop1Wh?: number; secondStart?: boolean; mvAfterStop?: boolean; repeat?: boolean } = {}): FlakyCsms {
  const c = new FlakyCsms(0);
  const s1 = { connectorId: 1, idTag: 'A', meterStart: 1000, timestamp: ts(T0) };
  const tx1 = c.record('StartTransaction', s1).transactionId;
  if (opts.repeat) c.record('StartTransaction', s1);
  const mv = { connectorId: 1, transactionId: tx1, meterValue: [{ timestamp: ts(T0 + 1000), sampledValue: [{ value: '1200', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }] };
  if (!opts.mvAfterStop) c.record('MeterValues', mv);
  c.record('StopTransaction', { transactionId: tx1, meterStop: opts.stop1Wh ?? 1500, timestamp: ts(T0 + 2000), reason: 'EVDisconnected' });
  if (opts.mvAfterStop) c.record('MeterValues', mv);
  const s2 = { connectorId: 1, idTag: 'B', meterStart: 1500, timestamp: ts(T0 + 60_000) };
  const tx2 = c.record('StartTransaction', s2).transactionId;
  if (opts.secondStart) c.record('StartTransaction', { ...s2, timestamp: ts(T0 + 61_000) });
  if (!opts.skipStop2) c.record('StopTransaction', { transactionId: tx2, meterStop: 1720, timestamp: ts(T0 + 90_000), reason: 'PowerLoss' });
  return c;
}

const o = { complete: true, boundWh: 0 };

describe('ledger comparison (self-test)', () => {
  it('agrees on consistent ledgers, and a repeat with the identical payload is one message', () => {
    expect(compareLedgers(station(), csmsWith(), o)).toEqual([]);
    const c = csmsWith({ repeat: true });
    expect(compareLedgers(station(), c, o)).toEqual([]);
    expect(repeats(c.log)).toBe(1);
  });

  it('flags a lost StopTransaction only once the run is complete', () => {
    expect(compareLedgers(station(), csmsWith({ skipStop2: true }), o)).toEqual([expect.stringContaining('no StopTransaction reached the CSMS (lost)')]);
    expect(compareLedgers(station(), csmsWith({ skipStop2: true }), { ...o, complete: false })).toEqual([]);
  });

  it('flags a meterStop that differs from the station', () => {
    expect(compareLedgers(station(), csmsWith({ stop1Wh: 1499 }), o)).toEqual([expect.stringContaining('meterStop 1499 != station meterStopWh 1500')]);
  });

  it('flags a second, different StartTransaction as a transaction twice (and as one the station does not know)', () => {
    const p = compareLedgers(station(), csmsWith({ secondStart: true }), o);
    expect(p).toContainEqual(expect.stringContaining('CSMS has a StartTransaction for no station session'));
  });

  it('flags MeterValues received after the StopTransaction of their transaction', () => {
    expect(compareLedgers(station(), csmsWith({ mvAfterStop: true }), o)).toEqual([expect.stringContaining('after its StopTransaction')]);
  });

  it('flags a session missing from the CSMS and a queue that did not drain', () => {
    const s = station();
    s.sessions.push({ id: 3, connectorId: 1, idTag: 'C', status: 'completed', startWallMs: T0 + 120_000, meterStartWh: 1720, meterStopWh: 1800, checkpointWh: null, stopReason: 'Local', recovered: false });
    s.queue.push({ action: 'StartTransaction', status: 'pending', sessionId: 3 });
    const p = compareLedgers(s, csmsWith(), o);
    expect(p).toContainEqual(expect.stringContaining('session 3 (C): no StartTransaction reached the CSMS (lost)'));
    expect(p).toContainEqual(expect.stringContaining('station queue not empty'));
  });
});
