import type { ChargingProfilePurpose, InstalledProfile, ChargingProfile } from './types.js';

/**
 * The installed list after SetChargingProfile: a profile with the same chargingProfileId (on any connector)
 * is replaced, and so is one with the same connector, purpose and stackLevel. A TxProfile without a
 * transactionId is bound to `runningTransactionId` (the connector's transaction) so it ends with it.
 * Pure: returns a new list, the input is not changed.
 */
export function installProfile(
  list: readonly InstalledProfile[],
  connectorId: number,
  profile: ChargingProfile,
  runningTransactionId?: number,
): InstalledProfile[] {
  void list;
  void connectorId;
  void profile;
  void runningTransactionId;
  throw new Error('installProfile: not implemented yet');
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
  void list;
  void criteria;
  throw new Error('clearProfiles: not implemented yet');
}

/** The TxProfiles bound to a transaction: to drop when it ends (S16 §3.13.3). */
export function profilesEndingWith(list: readonly InstalledProfile[], transactionId: number): InstalledProfile[] {
  void list;
  void transactionId;
  throw new Error('profilesEndingWith: not implemented yet');
}
