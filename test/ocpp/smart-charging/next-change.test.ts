import { describe, expect, it } from 'vitest';
import { limitAt, stationLimitAt } from '../../../src/ocpp/v16/smart-charging/composite.js';
import type { InstalledProfile, LimitNow } from '../../../src/ocpp/v16/smart-charging/types.js';
import { S, T0, charging, on, profile } from './profiles.js';

const H = 3600 * S;
const DAY = 24 * H;

/**
 * nextChangeMs is what the controller sleeps on: between now and it the answer must not change. Walk eight days
 * of a busy profile set in 60 s steps (boundaries fall between steps too) and check every answer against the last one's promise.
 */
function assertNoChangeBefore(answer: (t: number) => LimitNow, from: number, to: number, stepMs: number): number {
  let promise = answer(from);
  let promisedAt = from;
  let changes = 0;
  for (let t = from + stepMs; t < to; t += stepMs) {
    const now = answer(t);
    if (promise.nextChangeMs === null || t < promise.nextChangeMs) {
      if (now.limitA !== promise.limitA || now.profileId !== promise.profileId) {
        expect.fail(`at ${new Date(t).toISOString()}: ${now.limitA} A (profile ${now.profileId}), promised ${promise.limitA} A (profile ${promise.profileId}) until ${promise.nextChangeMs}`);
      }
    } else {
      if (promise.nextChangeMs <= promisedAt) expect.fail(`nextChangeMs ${promise.nextChangeMs} is not after ${promisedAt}`);
      if (now.limitA !== promise.limitA) changes++;
      promise = now;
      promisedAt = t;
    }
  }
  return changes;
}

describe('nextChangeMs never hides a change', () => {
  const list: InstalledProfile[] = [
    on(0, profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, 16]] })),
    on(1, profile({ id: 2, purpose: 'TxDefaultProfile', stackLevel: 1, kind: 'Recurring', recurrencyKind: 'Daily', startMs: T0 + 12 * H + 30 * S, durationS: 8 * 3600, periods: [[0, 10], [5400, 13], [4 * 3600, 6]] })),
    on(1, profile({ id: 3, purpose: 'TxDefaultProfile', stackLevel: 2, kind: 'Recurring', recurrencyKind: 'Weekly', startMs: T0 + 2 * DAY, durationS: 30 * 3600, periods: [[0, 20], [3600, 8, 1]] })),
    on(1, profile({ id: 4, purpose: 'TxProfile', stackLevel: 0, validFromMs: T0 + 3 * DAY + 45 * S, validToMs: T0 + 4 * DAY, periods: [[0, 12], [600, 14]] })),
    on(1, profile({ id: 5, purpose: 'TxProfile', stackLevel: 1, kind: 'Relative', durationS: 7200, unit: 'W', periods: [[0, 4140], [1800, 11_000]] })),
    on(0, profile({ id: 6, purpose: 'ChargePointMaxProfile', kind: 'Recurring', recurrencyKind: 'Daily', startMs: T0 - 4 * H, durationS: 3 * 3600, periods: [[0, 25], [3600, 18]] })),
  ];

  it('for a connector with a transaction (Tx, TxDefault on both levels, Daily, Weekly, Relative, validity)', () => {
    const ctx = charging(T0 + 5 * DAY + 15 * S);
    expect(assertNoChangeBefore((t) => limitAt(list, t, ctx), T0, T0 + 8 * DAY, 60 * S)).toBeGreaterThan(20);
  });

  it('for the station', () => {
    expect(assertNoChangeBefore((t) => stationLimitAt(list, t, { phases: 3, voltageV: 230 }), T0, T0 + 8 * DAY, 60 * S)).toBeGreaterThan(10);
  });
});
