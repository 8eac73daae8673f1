import { describe, expect, it } from 'vitest';
import { clearProfiles, installProfile, profilesEndingWith } from '../../../src/ocpp/v16/smart-charging/install.js';
import type { InstalledProfile } from '../../../src/ocpp/v16/smart-charging/types.js';
import { on, profile } from './profiles.js';

const p = (id: number, purpose: 'ChargePointMaxProfile' | 'TxDefaultProfile' | 'TxProfile', stackLevel = 0, transactionId?: number) =>
  profile({ id, purpose, stackLevel, periods: [[0, id]], ...(transactionId === undefined ? {} : { transactionId }) });

describe('installProfile', () => {
  it('adds a new profile last and does not change the input', () => {
    const list: InstalledProfile[] = [on(0, p(1, 'TxDefaultProfile'))];
    const after = installProfile(list, 1, p(2, 'TxDefaultProfile'));
    expect(after.map((x) => [x.connectorId, x.profile.chargingProfileId])).toEqual([[0, 1], [1, 2]]);
    expect(list).toHaveLength(1);
  });

  it('replaces the same chargingProfileId wherever it was installed', () => {
    const after = installProfile([on(0, p(1, 'TxDefaultProfile')), on(1, p(2, 'TxDefaultProfile', 1))], 2, p(1, 'TxDefaultProfile', 3));
    expect(after.map((x) => [x.connectorId, x.profile.chargingProfileId, x.profile.stackLevel])).toEqual([[1, 2, 1], [2, 1, 3]]);
  });

  it('replaces the same connector, purpose and stackLevel, and keeps other connectors, purposes and levels', () => {
    const list = [on(1, p(1, 'TxDefaultProfile', 0)), on(2, p(2, 'TxDefaultProfile', 0)), on(1, p(3, 'TxDefaultProfile', 1)), on(1, p(4, 'TxProfile', 0, 9))];
    const after = installProfile(list, 1, p(5, 'TxDefaultProfile', 0));
    expect(after.map((x) => x.profile.chargingProfileId)).toEqual([2, 3, 4, 5]);
  });

  it('binds a TxProfile without transactionId to the running transaction, and keeps a given one', () => {
    expect(installProfile([], 1, p(1, 'TxProfile'), 41)[0]!.profile.transactionId).toBe(41);
    expect(installProfile([], 1, p(1, 'TxProfile', 0, 40), 41)[0]!.profile.transactionId).toBe(40);
    expect(installProfile([], 1, p(1, 'TxDefaultProfile'), 41)[0]!.profile.transactionId).toBeUndefined();
  });
});

describe('clearProfiles', () => {
  const list = [
    on(0, p(1, 'ChargePointMaxProfile', 0)),
    on(0, p(2, 'TxDefaultProfile', 0)),
    on(1, p(3, 'TxDefaultProfile', 1)),
    on(1, p(4, 'TxProfile', 1, 9)),
    on(2, p(5, 'TxDefaultProfile', 1)),
  ];
  const ids = (r: { list: InstalledProfile[] }) => r.list.map((x) => x.profile.chargingProfileId);

  it('by id: only that one, the other fields ignored; an unknown id clears nothing', () => {
    const r = clearProfiles(list, { id: 3, connectorId: 0, chargingProfilePurpose: 'ChargePointMaxProfile' });
    expect([r.cleared, ids(r)]).toEqual([1, [1, 2, 4, 5]]);
    expect(clearProfiles(list, { id: 99 }).cleared).toBe(0);
  });

  it('by criteria: every field given must match', () => {
    expect(ids(clearProfiles(list, { connectorId: 1 }))).toEqual([1, 2, 5]);
    expect(ids(clearProfiles(list, { chargingProfilePurpose: 'TxDefaultProfile' }))).toEqual([1, 4]);
    expect(ids(clearProfiles(list, { stackLevel: 1, chargingProfilePurpose: 'TxDefaultProfile' }))).toEqual([1, 2, 4]);
    expect(ids(clearProfiles(list, { connectorId: 0, stackLevel: 1 }))).toEqual([1, 2, 3, 4, 5]);
    expect(clearProfiles(list, { connectorId: 0, stackLevel: 1 }).cleared).toBe(0);
  });

  it('no field: all', () => {
    expect(clearProfiles(list, {})).toEqual({ list: [], cleared: 5 });
  });
});

describe('profilesEndingWith', () => {
  it('the TxProfiles of that transaction only', () => {
    const list = [on(1, p(1, 'TxProfile', 0, 9)), on(1, p(2, 'TxProfile', 1, 8)), on(1, p(3, 'TxDefaultProfile', 0))];
    expect(profilesEndingWith(list, 9).map((x) => x.profile.chargingProfileId)).toEqual([1]);
    expect(profilesEndingWith(list, 7)).toEqual([]);
  });
});
