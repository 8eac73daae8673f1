import { describe, expect, it } from 'vitest';
import { validateProfile, validateRemoteStartProfile, type ValidationContext } from '../../../src/ocpp/v16/smart-charging/validate.js';
import type { ChargingProfile } from '../../../src/ocpp/v16/smart-charging/types.js';
import { profile } from './profiles.js';

const keys: ValidationContext = {
  connectorIds: [1, 2],
  maxStackLevel: 3,
  allowedUnits: ['A'],
  maxPeriods: 4,
  maxInstalled: 5,
  installedCount: 1,
  transactionOn: (c) => (c === 1 ? 41 : undefined),
};
const txDefault = profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, 16]] });
const withSchedule = (p: ChargingProfile, s: Partial<ChargingProfile['chargingSchedule']>): ChargingProfile => ({
  ...p,
  chargingSchedule: { ...p.chargingSchedule, ...s },
});
const reason = (connectorId: number, p: ChargingProfile, ctx: ValidationContext = keys) => {
  const v = validateProfile(connectorId, p, ctx);
  expect(v.status).toBe('Rejected');
  expect(v.callError).toBeUndefined();
  return v.reason;
};

describe('validateProfile', () => {
  it('accepts a TxDefaultProfile on connector 0 or a connector, a ChargePointMaxProfile on 0, a TxProfile with its transaction', () => {
    expect(validateProfile(0, txDefault, keys)).toEqual({ status: 'Accepted', reason: 'ok' });
    expect(validateProfile(2, txDefault, keys).status).toBe('Accepted');
    expect(validateProfile(0, profile({ id: 2, purpose: 'ChargePointMaxProfile', periods: [[0, 32]] }), keys).status).toBe('Accepted');
    expect(validateProfile(1, profile({ id: 3, purpose: 'TxProfile', periods: [[0, 10]] }), keys).status).toBe('Accepted');
    expect(validateProfile(1, profile({ id: 3, purpose: 'TxProfile', transactionId: 41, periods: [[0, 10]] }), keys).status).toBe('Accepted');
  });

  it('an unknown connector is a CALLERROR PropertyConstraintViolation', () => {
    expect(validateProfile(3, txDefault, keys)).toMatchObject({ status: 'Rejected', callError: 'PropertyConstraintViolation' });
  });

  it('rejects a purpose on the wrong connector, a TxProfile without or with another transaction', () => {
    expect(reason(1, profile({ id: 2, purpose: 'ChargePointMaxProfile', periods: [[0, 32]] }))).toMatch(/connector 0/);
    expect(reason(0, profile({ id: 3, purpose: 'TxProfile', periods: [[0, 10]] }))).toMatch(/connector > 0/);
    expect(reason(2, profile({ id: 3, purpose: 'TxProfile', periods: [[0, 10]] }))).toMatch(/no transaction/);
    expect(reason(1, profile({ id: 3, purpose: 'TxProfile', transactionId: 40, periods: [[0, 10]] }))).toMatch(/transaction 40/);
  });

  it('rejects a Recurring profile without recurrencyKind or startSchedule, an Absolute one without startSchedule', () => {
    const recurring = profile({ id: 1, purpose: 'TxDefaultProfile', kind: 'Recurring', recurrencyKind: 'Daily', periods: [[0, 16]] });
    expect(validateProfile(1, recurring, keys).status).toBe('Accepted');
    const { recurrencyKind: _, ...noKind } = recurring;
    expect(reason(1, noKind)).toMatch(/recurrencyKind/);
    const { startSchedule: __, ...noStart } = recurring.chargingSchedule;
    expect(reason(1, { ...recurring, chargingSchedule: noStart })).toMatch(/startSchedule/);
    expect(reason(1, { ...txDefault, chargingSchedule: { ...noStart } })).toMatch(/Absolute profile needs/);
    expect(reason(1, withSchedule(txDefault, { startSchedule: 'tomorrow' }))).toMatch(/not a date-time/);
    // a Relative profile needs none
    expect(validateProfile(1, profile({ id: 1, purpose: 'TxDefaultProfile', kind: 'Relative', periods: [[0, 16]] }), keys).status).toBe('Accepted');
  });

  it('rejects periods that do not start at 0 or do not increase, and more periods than ChargingScheduleMaxPeriods', () => {
    expect(reason(1, profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[10, 16]] }))).toMatch(/start at 0/);
    expect(reason(1, profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, 16], [60, 10], [60, 8]] }))).toMatch(/period 2/);
    expect(reason(1, profile({ id: 1, purpose: 'TxDefaultProfile', periods: [] }))).toMatch(/no period/);
    const five = profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, 6], [1, 7], [2, 8], [3, 9], [4, 10]] });
    expect(reason(1, five)).toMatch(/ChargingScheduleMaxPeriods is 4/);
  });

  it('rejects a stackLevel above ChargeProfileMaxStackLevel and a unit not allowed', () => {
    expect(validateProfile(1, { ...txDefault, stackLevel: 3 }, keys).status).toBe('Accepted');
    expect(reason(1, { ...txDefault, stackLevel: 4 })).toMatch(/ChargeProfileMaxStackLevel 3/);
    expect(reason(1, withSchedule(txDefault, { chargingRateUnit: 'W' }))).toMatch(/ChargingScheduleAllowedChargingRateUnit/);
    expect(validateProfile(1, withSchedule(txDefault, { chargingRateUnit: 'W' }), { ...keys, allowedUnits: ['A', 'W'] }).status).toBe('Accepted');
  });

  it('rejects numberPhases outside 1..3 and negative limits', () => {
    expect(validateProfile(1, profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, 16, 1], [60, 16, 3]] }), keys).status).toBe('Accepted');
    expect(reason(1, profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, 16, 4]] }))).toMatch(/numberPhases 4/);
    expect(reason(1, profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, 16, 0]] }))).toMatch(/numberPhases 0/);
    expect(reason(1, profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, -1]] }))).toMatch(/negative limit/);
    expect(validateProfile(1, profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, 0]] }), keys).status).toBe('Accepted');
  });

  it('rejects validTo not after validFrom', () => {
    expect(reason(1, { ...txDefault, validFrom: '2024-03-04T10:00:00Z', validTo: '2024-03-04T10:00:00Z' })).toMatch(/validTo/);
  });

  it('rejects a profile past MaxChargingProfilesInstalled (counted after install, so a replacement fits)', () => {
    expect(validateProfile(1, txDefault, { ...keys, installedCount: 5 }).status).toBe('Accepted');
    expect(reason(1, txDefault, { ...keys, installedCount: 6 })).toMatch(/MaxChargingProfilesInstalled/);
  });
});

describe('validateRemoteStartProfile', () => {
  it('accepts a TxProfile without transactionId on a connector without transaction', () => {
    expect(validateRemoteStartProfile(2, profile({ id: 1, purpose: 'TxProfile', periods: [[0, 10]] }), keys).status).toBe('Accepted');
  });

  it('rejects another purpose, a transactionId, and the schedule rules; unknown connector is a CALLERROR', () => {
    expect(validateRemoteStartProfile(2, txDefault, keys).status).toBe('Rejected');
    expect(validateRemoteStartProfile(2, profile({ id: 1, purpose: 'TxProfile', transactionId: 41, periods: [[0, 10]] }), keys).status).toBe('Rejected');
    expect(validateRemoteStartProfile(2, profile({ id: 1, purpose: 'TxProfile', stackLevel: 9, periods: [[0, 10]] }), keys).status).toBe('Rejected');
    expect(validateRemoteStartProfile(7, profile({ id: 1, purpose: 'TxProfile', periods: [[0, 10]] }), keys).callError).toBe('PropertyConstraintViolation');
  });
});
