import { describe, expect, it } from 'vitest';
import { compositeSchedule, limitAt } from '../../../src/ocpp/v16/smart-charging/composite.js';
import { clearProfiles, installProfile, profilesEndingWith } from '../../../src/ocpp/v16/smart-charging/install.js';
import { validateProfile, validateRemoteStartProfile, type ValidationContext } from '../../../src/ocpp/v16/smart-charging/validate.js';
import type { ChargingProfile, InstalledProfile } from '../../../src/ocpp/v16/smart-charging/types.js';
import { S, T0, charging, idle, on, pairs, profile, station } from './profiles.js';

/**
 * The OCTT (OCPP 1.6 Compliancy Testing Tool) Smart Charging cases for a Charge Point, as far as they are about
 * the math: which profile is accepted, and the GetCompositeSchedule answer. Profile values as in the OCTT test
 * case document (and EVerest's replay of it); "now" is the profiles' startSchedule.
 */

function keys(transactionOn: (c: number) => number | undefined, installedCount = 1): ValidationContext {
  return { connectorIds: [1], maxStackLevel: 8, allowedUnits: ['A', 'W'], maxPeriods: 24, maxInstalled: 32, installedCount, transactionOn };
}
const noTx = () => undefined;
const tx1 = (c: number) => (c === 1 ? 1 : undefined);

/** Accept, then install, as the handler does. */
function set(list: InstalledProfile[], connectorId: number, p: ChargingProfile, transactionOn: (c: number) => number | undefined): InstalledProfile[] {
  const after = installProfile(list, connectorId, p, transactionOn(connectorId));
  const v = validateProfile(connectorId, p, keys(transactionOn, after.length));
  expect(v, v.reason).toMatchObject({ status: 'Accepted' });
  return after;
}

const defaultProfile = (o: { id: number; stackLevel?: number; durationS: number }) =>
  profile({ ...o, purpose: 'TxDefaultProfile', validFromMs: T0, validToMs: T0 + 3 * 86_400 * S, periods: [[0, 6], [60, 10], [120, 8]] });

describe('OCTT Smart Charging (Charge Point)', () => {
  it('TC_056 Central Smart Charging - TxDefaultProfile: the default applies to the transaction started after it', () => {
    const list = set([], 1, defaultProfile({ id: 1, durationS: 300 }), noTx);
    const cs = compositeSchedule(list, { connectorId: 1, startMs: T0, durationS: 300 }, station([charging(T0)]));
    expect(cs?.chargingSchedule.chargingRateUnit).toBe('A');
    expect(pairs(cs!.chargingSchedule.chargingSchedulePeriod)).toEqual([[0, 6], [60, 10], [120, 8]]);
    // asked 5 s later and for longer: the periods shift, and past the duration the connector's own maximum is left
    const later = compositeSchedule(list, { connectorId: 1, startMs: T0 + 5 * S, durationS: 400 }, station([charging(T0)]));
    expect(pairs(later!.chargingSchedule.chargingSchedulePeriod)).toEqual([[0, 6], [55, 10], [115, 8], [295, 32]]);
  });

  it('TC_057 Central Smart Charging - TxProfile: the transaction profile, then no limit after its duration', () => {
    const p = profile({ id: 3, purpose: 'TxProfile', transactionId: 1, durationS: 260, validFromMs: T0, validToMs: T0 + 3 * 86_400 * S, periods: [[0, 6], [60, 10], [120, 8]] });
    const list = set([], 1, p, tx1);
    const cs = compositeSchedule(list, { connectorId: 1, startMs: T0, durationS: 300 }, station([charging(T0 - 10 * S)]));
    expect(pairs(cs!.chargingSchedule.chargingSchedulePeriod)).toEqual([[0, 6], [60, 10], [120, 8], [260, 32]]);
  });

  it('TC_058_1 Central Smart Charging - No ongoing transaction: a TxProfile is Rejected and nothing changes', () => {
    const p = profile({ id: 3, purpose: 'TxProfile', transactionId: 1, durationS: 260, periods: [[0, 6]] });
    expect(validateProfile(1, p, keys(noTx))).toMatchObject({ status: 'Rejected' });
    expect(validateProfile(1, p, keys(noTx)).callError).toBeUndefined();
  });

  it('TC_058_2 Central Smart Charging - Wrong transactionId: Rejected', () => {
    const p = profile({ id: 3, purpose: 'TxProfile', transactionId: 3, durationS: 260, periods: [[0, 6]] });
    expect(validateProfile(1, p, keys(tx1))).toMatchObject({ status: 'Rejected', reason: expect.stringContaining('transaction 3') });
  });

  it('TC_059 Remote Start Transaction with Charging Profile: the TxProfile is bound to the new transaction and followed', () => {
    const p = profile({ id: 1, purpose: 'TxProfile', stackLevel: 2, durationS: 30, validFromMs: T0, periods: [[0, 6]] });
    expect(validateRemoteStartProfile(1, p, keys(noTx))).toMatchObject({ status: 'Accepted' });
    // the transaction starts (id 7 from StartTransaction.conf): the profile is installed for it
    const list = installProfile([], 1, p, 7);
    expect(list[0]!.profile.transactionId).toBe(7);
    expect(limitAt(list, T0 + 10 * S, charging(T0, 1, 7))).toMatchObject({ limitA: 6, profileId: 1, purpose: 'TxProfile', nextChangeMs: T0 + 30 * S });
    const cs = compositeSchedule(list, { connectorId: 1, startMs: T0, durationS: 60 }, station([charging(T0, 1, 7)]));
    expect(pairs(cs!.chargingSchedule.chargingSchedulePeriod)).toEqual([[0, 6], [30, 32]]);
    // and it ends with the transaction
    expect(profilesEndingWith(list, 7)).toEqual(list);
  });

  it('TC_060 Remote Start Transaction with Charging Profile - Rejected: a purpose other than TxProfile', () => {
    const p = profile({ id: 3, purpose: 'TxDefaultProfile', transactionId: 1, durationS: 260, periods: [[0, 6]] });
    expect(validateRemoteStartProfile(1, p, keys(noTx))).toMatchObject({ status: 'Rejected' });
  });

  describe('TC_066 Get Composite Schedule', () => {
    const build = (k: number, unit: 'A' | 'W') => {
      const common = { validFromMs: T0, validToMs: T0 + 3 * 86_400 * S, unit } as const;
      const scale = (ps: [number, number][]) => ps.map(([s, l]) => [s, l * k] as [number, number]);
      let list: InstalledProfile[] = [];
      list = set(list, 0, profile({ id: 1, purpose: 'ChargePointMaxProfile', durationS: 86_400, periods: scale([[0, 10]]), ...common }), tx1);
      list = set(
        list,
        1,
        profile({ id: 2, purpose: 'TxDefaultProfile', durationS: 300, periods: scale([[0, 6], [60, 10], [120, 8], [180, 25], [260, 8]]), ...common }),
        tx1,
      );
      list = set(
        list,
        1,
        profile({ id: 3, purpose: 'TxProfile', transactionId: 1, durationS: 260, periods: scale([[0, 8], [50, 11], [140, 16], [200, 6], [240, 12]]), ...common }),
        tx1,
      );
      return list;
    };

    it('in A: min(ChargePointMax, TxProfile, else TxDefault) over 400 s', () => {
      const cs = compositeSchedule(build(1, 'A'), { connectorId: 1, startMs: T0, durationS: 400, unit: 'A' }, station());
      expect(cs).toMatchObject({ connectorId: 1, scheduleStart: '2024-03-04T10:00:00Z', chargingSchedule: { duration: 400, chargingRateUnit: 'A' } });
      expect(cs!.chargingSchedule).not.toHaveProperty('startSchedule');
      expect(pairs(cs!.chargingSchedule.chargingSchedulePeriod)).toEqual([[0, 8], [50, 10], [200, 6], [240, 10], [260, 8], [300, 10]]);
    });

    it('in W (the OCTT multiplies every limit by 1000)', () => {
      const cs = compositeSchedule(build(1000, 'W'), { connectorId: 1, startMs: T0, durationS: 400, unit: 'W' }, station());
      expect(cs!.chargingSchedule.chargingRateUnit).toBe('W');
      expect(pairs(cs!.chargingSchedule.chargingSchedulePeriod)).toEqual([
        [0, 8000],
        [50, 10000],
        [200, 6000],
        [240, 10000],
        [260, 8000],
        [300, 10000],
      ]);
    });
  });

  it('TC_067 Clear Charging Profile: by id, by criteria, all; each time the composite schedule loses the profile', () => {
    const p = profile({ id: 1, purpose: 'TxDefaultProfile', stackLevel: 1, durationS: 400, periods: [[0, 6], [60, 8], [200, 10]] });
    const composite = (list: InstalledProfile[]) =>
      pairs(compositeSchedule(list, { connectorId: 1, startMs: T0, durationS: 400 }, station([idle()]))!.chargingSchedule.chargingSchedulePeriod);
    const installed = set([], 1, p, noTx);
    expect(composite(installed)).toEqual([[0, 6], [60, 8], [200, 10]]);

    const byId = clearProfiles(installed, { id: 1, connectorId: 2, stackLevel: 5 }); // the other fields are ignored
    expect(byId.cleared).toBe(1);
    expect(composite(byId.list)).toEqual([[0, 32]]);

    expect(clearProfiles(installed, { connectorId: 1, chargingProfilePurpose: 'TxProfile' }).cleared).toBe(0); // Unknown
    const byCriteria = clearProfiles(installed, { connectorId: 1, chargingProfilePurpose: 'TxDefaultProfile', stackLevel: 1 });
    expect(byCriteria.cleared).toBe(1);
    expect(composite(byCriteria.list)).toEqual([[0, 32]]);

    const all = clearProfiles(installed, {});
    expect(all).toEqual({ list: [], cleared: 1 });
    expect(clearProfiles(all.list, {}).cleared).toBe(0);
  });

  it('TC_072 Stacking Charging Profiles: the higher stackLevel wins within its duration, then the lower one', () => {
    let list: InstalledProfile[] = [];
    const common = { purpose: 'TxDefaultProfile', validFromMs: T0, validToMs: T0 + 401 * S } as const;
    list = set(list, 1, profile({ id: 1, stackLevel: 0, durationS: 400, periods: [[0, 6], [100, 8], [200, 10]], ...common }), noTx);
    list = set(list, 1, profile({ id: 2, stackLevel: 1, durationS: 150, periods: [[0, 7], [100, 9]], ...common }), noTx);
    const cs = compositeSchedule(list, { connectorId: 1, startMs: T0, durationS: 350 }, station([charging(T0)]));
    expect(pairs(cs!.chargingSchedule.chargingSchedulePeriod)).toEqual([[0, 7], [100, 9], [150, 8], [200, 10]]);
  });

  it('TC_082 TxDefaultProfile with ongoing transaction: a new default applies to the running transaction at once', () => {
    const ongoing = charging(T0 - 120 * S);
    expect(limitAt([], T0, ongoing).limitA).toBeNull();
    const list = set([], 1, defaultProfile({ id: 3, durationS: 300 }), tx1);
    expect(limitAt(list, T0, ongoing)).toMatchObject({ limitA: 6, profileId: 3, purpose: 'TxDefaultProfile', nextChangeMs: T0 + 60 * S });
    expect(limitAt(list, T0 + 60 * S, ongoing)).toMatchObject({ limitA: 10, nextChangeMs: T0 + 120 * S });
    const cs = compositeSchedule(list, { connectorId: 1, startMs: T0, durationS: 300 }, station([ongoing]));
    expect(pairs(cs!.chargingSchedule.chargingSchedulePeriod)).toEqual([[0, 6], [60, 10], [120, 8]]);
  });
});
