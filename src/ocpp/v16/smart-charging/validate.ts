import type { ChargingProfile, ChargingRateUnit } from './types.js';

/** What the station allows and knows when a SetChargingProfile (or RemoteStart's profile) arrives. */
export interface ValidationContext {
  /** The connectors that exist (> 0); 0 is always the station. */
  connectorIds: readonly number[];
  /** ChargeProfileMaxStackLevel. */
  maxStackLevel: number;
  /** ChargingScheduleAllowedChargingRateUnit as units ('Current' → 'A', 'Power' → 'W'). */
  allowedUnits: readonly ChargingRateUnit[];
  /** ChargingScheduleMaxPeriods. */
  maxPeriods: number;
  /** MaxChargingProfilesInstalled. */
  maxInstalled: number;
  /**
   * Profiles installed once this one is: `installProfile(list, connectorId, profile).length`
   * (a profile that replaces another does not count twice). More than maxInstalled → Rejected.
   */
  installedCount: number;
  /** The transactionId running on a connector, undefined when none. */
  transactionOn(connectorId: number): number | undefined;
}

export interface ValidationResult {
  status: 'Accepted' | 'Rejected';
  /** Why (for the log); 'ok' when Accepted. */
  reason: string;
  /**
   * Set when the spec wants a CALLERROR instead of a .conf (E16 §3.38/§3.39: an invalid connectorId →
   * PropertyConstraintViolation). status is then 'Rejected' too, so a caller that ignores it still changes nothing.
   */
  callError?: 'PropertyConstraintViolation';
}

/**
 * Check a profile the CSMS wants installed on a connector (0 = the station) against the spec's rules and the
 * Smart Charging keys. Pure; the caller installs only on Accepted.
 */
export function validateProfile(connectorId: number, profile: ChargingProfile, ctx: ValidationContext): ValidationResult {
  void connectorId;
  void profile;
  void ctx;
  throw new Error('validateProfile: not implemented yet');
}
