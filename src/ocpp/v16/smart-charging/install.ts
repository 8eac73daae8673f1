import type { ChargingProfilePurpose, InstalledProfile, ChargingProfile } from './types.js';

/**
 * The installed list after SetChargingProfile: a profile with the same chargingProfileId (on any connector)
 * is replaced, and so is one with the same connector, purpose and stackLevel (S16 §3.13.2). A TxProfile without a
 * transactionId is bound to `runningTransactionId` (the connector's transaction) so it ends with it.
 * Pure: returns a new list, the input is not changed. The new profile goes last.
 */
export function installProfile(
  list: readonly InstalledProfile[],
  connectorId: number,
  profile: ChargingProfile,
  runningTransactionId?: number,
): InstalledProfile[] {
  const bound: ChargingProfile =
    profile.chargingProfilePurpose === 'TxProfile' && profile.transactionId === undefined && runningTransactionId !== undefined
      ? { ...profile, transactionId: runningTransactionId }
      : profile;
  const kept = list.filter(
    (p) =>
      p.profile.chargingProfileId !== bound.chargingProfileId &&
      !(
        p.connectorId === connectorId &&
        p.profile.chargingProfilePurpose === bound.chargingProfilePurpose &&
        p.profile.stackLevel === bound.stackLevel
      ),
  );
  return [...kept, { connectorId, profile: bound }];
}

/** ClearChargingProfile.req fields. */
export interface ClearCriteria {
  id?: number;
  connectorId?: number;
  chargingProfilePurpose?: ChargingProfilePurpose;
  stackLevel?: number;
}

/**
 * ClearChargingProfile: `id` given → only that profile (the other fields are ignored); else the profiles
 * matching every field given (AND); no field → all. `cleared` 0 → the answer is Unknown.
 */
export function clearProfiles(list: readonly InstalledProfile[], criteria: ClearCriteria): { list: InstalledProfile[]; cleared: number } {
  const matches = (p: InstalledProfile): boolean => {
    if (criteria.id !== undefined) return p.profile.chargingProfileId === criteria.id;
    return (
      (criteria.connectorId === undefined || p.connectorId === criteria.connectorId) &&
      (criteria.chargingProfilePurpose === undefined || p.profile.chargingProfilePurpose === criteria.chargingProfilePurpose) &&
      (criteria.stackLevel === undefined || p.profile.stackLevel === criteria.stackLevel)
    );
  };
  const kept = list.filter((p) => !matches(p));
  return { list: kept, cleared: list.length - kept.length };
}

/** The TxProfiles bound to a transaction: to drop when it ends (S16 §3.13.3). */
export function profilesEndingWith(list: readonly InstalledProfile[], transactionId: number): InstalledProfile[] {
  return list.filter((p) => p.profile.chargingProfilePurpose === 'TxProfile' && p.profile.transactionId === transactionId);
}
