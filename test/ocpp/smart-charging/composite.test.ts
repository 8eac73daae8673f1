import { describe, expect, it } from 'vitest';
import {
  ampsFromLimit,
  compositeSchedule,
  limitAt,
  limitFromAmps,
  stationLimitAt,
} from '../../../src/ocpp/v16/smart-charging/composite.js';
import type { InstalledProfile } from '../../../src/ocpp/v16/smart-charging/types.js';
import { S, T0, charging, idle, on, pairs, profile, station } from './profiles.js';

const H = 3600 * S;
const at = (isoTime: string) => Date.parse(isoTime);

describe('stacking and fall-back to lower stack levels', () => {
  const low = profile({ id: 1, purpose: 'TxDefaultProfile', stackLevel: 0, periods: [[0, 16]] });
  const high = profile({ id: 2, purpose: 'TxDefaultProfile', stackLevel: 3, durationS: 600, periods: [[0, 8]] });

  it('the highest stackLevel in force decides; past its duration the lower one does', () => {
    const list = [on(1, low), on(1, high)];
    expect(limitAt(list, T0 + 10 * S, idle())).toMatchObject({ limitA: 8, profileId: 2, nextChangeMs: T0 + 600 * S });
    expect(limitAt(list, T0 + 600 * S, idle())).toMatchObject({ limitA: 16, profileId: 1, nextChangeMs: null });
  });

  it('outside the higher one validity (validFrom/validTo) the lower one decides, and the boundaries are change points', () => {
    const windowed = profile({ id: 2, purpose: 'TxDefaultProfile', stackLevel: 3, validFromMs: T0 + H, validToMs: T0 + 2 * H, periods: [[0, 8]] });
    const list = [on(1, low), on(1, windowed)];
    expect(limitAt(list, T0, idle())).toMatchObject({ limitA: 16, nextChangeMs: T0 + H });
    expect(limitAt(list, T0 + H, idle())).toMatchObject({ limitA: 8, nextChangeMs: T0 + 2 * H });
    expect(limitAt(list, T0 + 2 * H, idle())).toMatchObject({ limitA: 16, nextChangeMs: null });
  });

  it('a lower level that changes while a higher one decides does not count as a change', () => {
    const lowSteps = profile({ id: 1, purpose: 'TxDefaultProfile', stackLevel: 0, periods: [[0, 16], [60, 10]] });
    expect(limitAt([on(1, lowSteps), on(1, high)], T0, idle()).nextChangeMs).toBe(T0 + 600 * S);
  });

  it('a profile before its startSchedule does not apply yet', () => {
    const later = profile({ id: 3, purpose: 'TxDefaultProfile', startMs: T0 + H, periods: [[0, 10]] });
    expect(limitAt([on(1, later)], T0, idle())).toEqual({ limitA: null, nextChangeMs: T0 + H });
  });
});

describe('purposes', () => {
  const stationDefault = profile({ id: 1, purpose: 'TxDefaultProfile', stackLevel: 5, periods: [[0, 20]] });
  const ownDefault = profile({ id: 2, purpose: 'TxDefaultProfile', stackLevel: 0, periods: [[0, 14]] });
  const txProfile = profile({ id: 3, purpose: 'TxProfile', stackLevel: 0, transactionId: 1, periods: [[0, 10]] });
  const otherTx = profile({ id: 4, purpose: 'TxProfile', stackLevel: 9, transactionId: 2, periods: [[0, 6]] });
  const cpMax = profile({ id: 5, purpose: 'ChargePointMaxProfile', periods: [[0, 7]] });

  it('TxProfile of the running transaction over TxDefault, whatever the stack levels; another transaction`s is ignored', () => {
    const list = [on(0, stationDefault), on(1, ownDefault), on(1, txProfile), on(1, otherTx), on(0, cpMax)];
    expect(limitAt(list, T0, charging())).toMatchObject({ limitA: 10, profileId: 3, purpose: 'TxProfile' });
    // without a transaction a TxProfile does not apply
    expect(limitAt(list, T0, idle())).toMatchObject({ limitA: 14, profileId: 2, purpose: 'TxDefaultProfile' });
  });

  it("the connector's own TxDefault over connector 0's; connector 0's for every other connector", () => {
    const list = [on(0, stationDefault), on(1, ownDefault)];
    expect(limitAt(list, T0, idle(1)).limitA).toBe(14);
    expect(limitAt(list, T0, idle(2))).toMatchObject({ limitA: 20, profileId: 1 });
  });

  it('ChargePointMaxProfile is the station limit (stationLimitAt), not a connector limit', () => {
    const list = [on(0, cpMax), on(1, ownDefault)];
    expect(limitAt(list, T0, idle()).limitA).toBe(14);
    expect(stationLimitAt(list, T0, { phases: 3, voltageV: 230 })).toMatchObject({ limitA: 7, profileId: 5, purpose: 'ChargePointMaxProfile' });
    expect(stationLimitAt([on(1, ownDefault)], T0, { phases: 3, voltageV: 230 }).limitA).toBeNull();
  });

  it('a Relative ChargePointMaxProfile counts from relativeStartMs, and does not apply without one', () => {
    const rel = profile({ id: 6, purpose: 'ChargePointMaxProfile', kind: 'Relative', periods: [[0, 10], [600, 20]] });
    expect(stationLimitAt([on(0, rel)], T0, { phases: 3, voltageV: 230 }).limitA).toBeNull();
    expect(stationLimitAt([on(0, rel)], T0, { phases: 3, voltageV: 230, relativeStartMs: T0 - 100 * S })).toMatchObject({ limitA: 10, nextChangeMs: T0 + 500 * S });
  });
});

describe('Relative schedules', () => {
  const rel = profile({ id: 1, purpose: 'TxDefaultProfile', kind: 'Relative', durationS: 3600, periods: [[0, 6], [120, 10]] });

  it('count from the transaction start', () => {
    expect(limitAt([on(1, rel)], T0, charging(T0 - 100 * S))).toMatchObject({ limitA: 6, nextChangeMs: T0 + 20 * S });
    expect(limitAt([on(1, rel)], T0, charging(T0 - 200 * S))).toMatchObject({ limitA: 10, nextChangeMs: T0 - 200 * S + H });
    expect(limitAt([on(1, rel)], T0, charging(T0 - 2 * H)).limitA).toBeNull();
  });

  it('do not apply without a transaction (limitAt) but start now in the composite schedule', () => {
    expect(limitAt([on(1, rel)], T0, idle())).toEqual({ limitA: null, nextChangeMs: null });
    const cs = compositeSchedule([on(1, rel)], { connectorId: 1, startMs: T0, durationS: 300 }, station([idle()]));
    expect(pairs(cs!.chargingSchedule.chargingSchedulePeriod)).toEqual([[0, 6], [120, 10]]);
  });
});

describe('Recurring schedules (UTC)', () => {
  // every night 22:00–06:00: 10 A until midnight, 16 A after
  const nightly = profile({
    id: 1,
    purpose: 'TxDefaultProfile',
    kind: 'Recurring',
    recurrencyKind: 'Daily',
    startMs: at('2024-03-01T22:00:00Z'),
    durationS: 8 * 3600,
    periods: [[0, 10], [7200, 16]],
  });

  it('Daily across midnight', () => {
    const list = [on(1, nightly)];
    expect(limitAt(list, at('2024-03-04T21:59:59Z'), idle())).toEqual({ limitA: null, nextChangeMs: at('2024-03-04T22:00:00Z') });
    expect(limitAt(list, at('2024-03-04T23:30:00Z'), idle())).toMatchObject({ limitA: 10, nextChangeMs: at('2024-03-05T00:00:00Z') });
    expect(limitAt(list, at('2024-03-05T00:00:00Z'), idle())).toMatchObject({ limitA: 16, nextChangeMs: at('2024-03-05T06:00:00Z') });
    expect(limitAt(list, at('2024-03-05T01:00:00Z'), idle()).limitA).toBe(16);
    expect(limitAt(list, at('2024-03-05T06:00:00Z'), idle())).toEqual({ limitA: null, nextChangeMs: at('2024-03-05T22:00:00Z') });
  });

  it('Daily without a duration starts over at period 0 each day', () => {
    const halfDays = profile({ id: 2, purpose: 'TxDefaultProfile', kind: 'Recurring', recurrencyKind: 'Daily', startMs: at('2024-03-01T00:00:00Z'), periods: [[0, 6], [43_200, 16]] });
    expect(limitAt([on(1, halfDays)], at('2024-03-04T23:00:00Z'), idle())).toMatchObject({ limitA: 16, nextChangeMs: at('2024-03-05T00:00:00Z') });
    expect(limitAt([on(1, halfDays)], at('2024-03-05T00:00:00Z'), idle())).toMatchObject({ limitA: 6, nextChangeMs: at('2024-03-05T12:00:00Z') });
  });

  it('Weekly across the week boundary (Sunday 20:00 for two days)', () => {
    const weekend = profile({
      id: 3,
      purpose: 'TxDefaultProfile',
      kind: 'Recurring',
      recurrencyKind: 'Weekly',
      startMs: at('2024-03-03T20:00:00Z'), // a Sunday
      durationS: 2 * 86_400,
      periods: [[0, 8], [86_400, 12]],
    });
    const list = [on(1, weekend)];
    expect(limitAt(list, at('2024-03-10T19:59:00Z'), idle())).toEqual({ limitA: null, nextChangeMs: at('2024-03-10T20:00:00Z') });
    expect(limitAt(list, at('2024-03-11T10:00:00Z'), idle())).toMatchObject({ limitA: 8, nextChangeMs: at('2024-03-11T20:00:00Z') });
    expect(limitAt(list, at('2024-03-12T10:00:00Z'), idle())).toMatchObject({ limitA: 12, nextChangeMs: at('2024-03-12T20:00:00Z') });
    expect(limitAt(list, at('2024-03-13T10:00:00Z'), idle())).toEqual({ limitA: null, nextChangeMs: at('2024-03-17T20:00:00Z') });
  });

  it('recurs before its startSchedule too, unless validFrom says otherwise', () => {
    const fromSaturday = { ...nightly, validFrom: '2024-03-09T00:00:00Z' };
    expect(limitAt([on(1, nightly)], at('2024-02-20T23:00:00Z'), idle()).limitA).toBe(10);
    expect(limitAt([on(1, fromSaturday)], at('2024-03-04T23:00:00Z'), idle())).toEqual({ limitA: null, nextChangeMs: at('2024-03-09T00:00:00Z') });
  });

  it('composite schedule across midnight', () => {
    const cs = compositeSchedule([on(1, nightly)], { connectorId: 1, startMs: at('2024-03-04T21:00:00Z'), durationS: 10 * 3600 }, station([idle()]));
    expect(pairs(cs!.chargingSchedule.chargingSchedulePeriod)).toEqual([
      [0, 32],
      [3600, 10],
      [3 * 3600, 16],
      [9 * 3600, 32],
    ]);
  });
});

describe('validTo ends a profile mid-period', () => {
  it('and the next change is validTo', () => {
    const p = profile({ id: 1, purpose: 'TxDefaultProfile', validToMs: T0 + 90 * S, periods: [[0, 6], [120, 10]] });
    expect(limitAt([on(1, p)], T0 + 30 * S, idle())).toMatchObject({ limitA: 6, nextChangeMs: T0 + 90 * S });
    expect(limitAt([on(1, p)], T0 + 90 * S, idle())).toEqual({ limitA: null, nextChangeMs: null });
  });
});

describe('W ↔ A and numberPhases', () => {
  const watts = (periods: [number, number, number?][]) => [on(1, profile({ id: 1, purpose: 'TxDefaultProfile', unit: 'W', periods }))];

  it('W → A per phase with the phases in use and the measured voltage, one decimal rounded down', () => {
    expect(limitAt(watts([[0, 11_000]]), T0, idle()).limitA).toBe(15.9);
    expect(limitAt(watts([[0, 11_000]]), T0, { ...idle(), voltageV: 240 }).limitA).toBe(15.2);
    expect(limitAt(watts([[0, 11_000]]), T0, { ...idle(), phases: 1 }).limitA).toBe(47.8);
    // no measured voltage: nominal 230 V
    expect(limitAt(watts([[0, 4140]]), T0, { ...idle(), phases: 1, voltageV: Number.NaN }).limitA).toBe(18);
  });

  it("a period's numberPhases converts with that many phases and is reported", () => {
    expect(limitAt(watts([[0, 4140, 1]]), T0, idle())).toMatchObject({ limitA: 18, numberPhases: 1 });
    expect(limitAt([on(1, profile({ id: 2, purpose: 'TxDefaultProfile', periods: [[0, 16, 1]] }))], T0, idle())).toMatchObject({ limitA: 16, numberPhases: 1 });
  });

  it('numberPhases above the phases in use: the limit as given for the phases in use (E16 §3.34)', () => {
    const onePhaseEv = { ...idle(), phases: 1 as const };
    expect(limitAt([on(1, profile({ id: 2, purpose: 'TxDefaultProfile', periods: [[0, 16, 3]] }))], T0, onePhaseEv)).toMatchObject({ limitA: 16, numberPhases: 3 });
    expect(limitAt(watts([[0, 3680, 3]]), T0, onePhaseEv).limitA).toBe(16);
  });

  it('ampsFromLimit and limitFromAmps', () => {
    expect(ampsFromLimit(11_000, 'W', 3, 230)).toBe(15.9);
    expect(ampsFromLimit(7400, 'W', 1, 230)).toBe(32.1);
    expect(ampsFromLimit(13.37, 'A', 3, 230)).toBe(13.3);
    expect(ampsFromLimit(4140, 'W', 1, 0)).toBe(18);
    expect(limitFromAmps(16, 'W', 3, 230)).toBe(11_040);
    expect(limitFromAmps(6, 'W', 1, 230)).toBe(1380);
    expect(limitFromAmps(16, 'A', 3, 230)).toBe(16);
    expect(limitFromAmps(ampsFromLimit(6900, 'W', 3, 230), 'W', 3, 230)).toBe(6900);
  });

  it('composite in W uses the phases of the period in force', () => {
    const list = [on(1, profile({ id: 1, purpose: 'TxDefaultProfile', durationS: 100, periods: [[0, 16, 1], [50, 16]] }))];
    const cs = compositeSchedule(list, { connectorId: 1, startMs: T0, durationS: 100, unit: 'W' }, station([idle()]));
    expect(cs!.chargingSchedule.chargingSchedulePeriod).toEqual([
      { startPeriod: 0, limit: 3680, numberPhases: 1 },
      { startPeriod: 50, limit: 11_040 },
    ]);
  });
});

describe('minChargingRate', () => {
  it('is the one of the profile in force at the start, in the unit asked', () => {
    const list = [on(1, profile({ id: 1, purpose: 'TxProfile', transactionId: 1, minChargingRate: 6, periods: [[0, 16]] }))];
    expect(compositeSchedule(list, { connectorId: 1, startMs: T0, durationS: 60 }, station())!.chargingSchedule.minChargingRate).toBe(6);
    expect(compositeSchedule(list, { connectorId: 1, startMs: T0, durationS: 60, unit: 'W' }, station())!.chargingSchedule.minChargingRate).toBe(4140);
    expect(compositeSchedule([], { connectorId: 1, startMs: T0, durationS: 60 }, station())!.chargingSchedule).not.toHaveProperty('minChargingRate');
  });
});

describe('composite schedule', () => {
  const twoConnectors = () => station([charging(T0, 1, 1), idle(2)], 16);

  it('connector 0 is the expected total: the sum of the connectors, capped by ChargePointMax', () => {
    const own = on(1, profile({ id: 1, purpose: 'TxDefaultProfile', durationS: 120, periods: [[0, 10]] }));
    const cpMax = on(0, profile({ id: 2, purpose: 'ChargePointMaxProfile', periods: [[0, 20], [60, 40]] }));
    expect(pairs(compositeSchedule([own], { connectorId: 0, startMs: T0, durationS: 300 }, twoConnectors())!.chargingSchedule.chargingSchedulePeriod)).toEqual([
      [0, 26],
      [120, 32],
    ]);
    expect(pairs(compositeSchedule([own, cpMax], { connectorId: 0, startMs: T0, durationS: 300 }, twoConnectors())!.chargingSchedule.chargingSchedulePeriod)).toEqual([
      [0, 20],
      [60, 26],
      [120, 32],
    ]);
    // per connector the ChargePointMax caps each one
    expect(pairs(compositeSchedule([cpMax], { connectorId: 2, startMs: T0, durationS: 300 }, station([idle(2)], 32))!.chargingSchedule.chargingSchedulePeriod)).toEqual([
      [0, 20],
      [60, 32],
    ]);
  });

  it('an unknown connector is null (Rejected)', () => {
    expect(compositeSchedule([], { connectorId: 3, startMs: T0, durationS: 60 }, twoConnectors())).toBeNull();
  });

  it('starts on a whole second and merges equal neighbouring periods', () => {
    const list = [on(1, profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, 10], [30, 10], [60, 12]] }))];
    const cs = compositeSchedule(list, { connectorId: 1, startMs: T0 + 500, durationS: 120 }, station([idle()]));
    expect(cs!.scheduleStart).toBe('2024-03-04T10:00:00Z');
    expect(pairs(cs!.chargingSchedule.chargingSchedulePeriod)).toEqual([[0, 10], [60, 12]]);
  });

  it('cuts at the duration asked', () => {
    const list = [on(1, profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, 10], [30, 12], [600, 14]] }))];
    const cs = compositeSchedule(list, { connectorId: 1, startMs: T0, durationS: 60 }, station([idle()]));
    expect(cs!.chargingSchedule.duration).toBe(60);
    expect(pairs(cs!.chargingSchedule.chargingSchedulePeriod)).toEqual([[0, 10], [30, 12]]);
  });

  it('a profile in W combines with one in A on the same scale', () => {
    const list: InstalledProfile[] = [
      on(0, profile({ id: 1, purpose: 'ChargePointMaxProfile', unit: 'W', periods: [[0, 6900]] })), // 10 A on 3 phases
      on(1, profile({ id: 2, purpose: 'TxDefaultProfile', periods: [[0, 16], [60, 8]] })),
    ];
    expect(pairs(compositeSchedule(list, { connectorId: 1, startMs: T0, durationS: 120 }, station([idle()]))!.chargingSchedule.chargingSchedulePeriod)).toEqual([
      [0, 10],
      [60, 8],
    ]);
  });
});
