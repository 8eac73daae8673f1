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

const ok: ValidationResult = { status: 'Accepted', reason: 'ok' };
const rejected = (reason: string): ValidationResult => ({ status: 'Rejected', reason });

/**
 * The rules every profile meets whatever its purpose: kind and schedule, periods, stack level, unit, limits and
 * phases, validity, the number installed. Each breach is Rejected (S16 §5.16 answers a profile the station cannot
 * or will not install with Rejected; the schema already refused wrong types and enums with a CALLERROR).
 */
function checkSchedule(profile: ChargingProfile, ctx: ValidationContext): ValidationResult {
  const s = profile.chargingSchedule;
  if (profile.chargingProfileKind === 'Recurring' && profile.recurrencyKind === undefined) return rejected('a Recurring profile needs recurrencyKind');
  if (profile.chargingProfileKind !== 'Relative') {
    if (s.startSchedule === undefined) return rejected(`a ${profile.chargingProfileKind} profile needs chargingSchedule.startSchedule`);
    if (!Number.isFinite(Date.parse(s.startSchedule))) return rejected(`startSchedule ${s.startSchedule} is not a date-time`);
  }
  for (const [name, value] of [['validFrom', profile.validFrom], ['validTo', profile.validTo]] as const) {
    if (value !== undefined && !Number.isFinite(Date.parse(value))) return rejected(`${name} ${value} is not a date-time`);
  }
  if (profile.validFrom !== undefined && profile.validTo !== undefined && Date.parse(profile.validTo) <= Date.parse(profile.validFrom)) {
    return rejected('validTo is not after validFrom');
  }
  if (s.duration !== undefined && s.duration < 0) return rejected('duration is negative');
  if (profile.stackLevel < 0 || profile.stackLevel > ctx.maxStackLevel) {
    return rejected(`stackLevel ${profile.stackLevel} is above ChargeProfileMaxStackLevel ${ctx.maxStackLevel}`);
  }
  if (!ctx.allowedUnits.includes(s.chargingRateUnit)) {
    return rejected(`unit ${s.chargingRateUnit} is not in ChargingScheduleAllowedChargingRateUnit (${ctx.allowedUnits.join(', ')})`);
  }
  const periods = s.chargingSchedulePeriod;
  if (periods.length === 0) return rejected('the schedule has no period');
  if (periods.length > ctx.maxPeriods) return rejected(`${periods.length} periods, ChargingScheduleMaxPeriods is ${ctx.maxPeriods}`);
  if (periods[0]!.startPeriod !== 0) return rejected('the first period must start at 0');
  for (let i = 0; i < periods.length; i++) {
    const p = periods[i]!;
    if (i > 0 && p.startPeriod <= periods[i - 1]!.startPeriod) return rejected(`period ${i} does not start after period ${i - 1}`);
    if (!(p.limit >= 0)) return rejected(`period ${i} has a negative limit`);
    if (p.numberPhases !== undefined && (!Number.isInteger(p.numberPhases) || p.numberPhases < 1 || p.numberPhases > 3)) {
      return rejected(`period ${i} has numberPhases ${p.numberPhases} (1 to 3)`);
    }
  }
  if (s.minChargingRate !== undefined && s.minChargingRate < 0) return rejected('minChargingRate is negative');
  if (ctx.installedCount > ctx.maxInstalled) return rejected(`MaxChargingProfilesInstalled (${ctx.maxInstalled}) reached`);
  return ok;
}

/**
 * Check a profile the CSMS wants installed on a connector (0 = the station) against the spec's rules and the
 * Smart Charging keys. Pure; the caller installs only on Accepted. The answers, rule by rule:
 * - connectorId neither 0 nor a known connector: CALLERROR PropertyConstraintViolation (E16 §3.38/§3.39;
 *   `callError` is set, status Rejected), because the request names something that does not exist;
 * - ChargePointMaxProfile on a connector > 0, TxProfile on connector 0, a TxProfile without a running transaction
 *   on its connector or with another transactionId (OCTT TC_058): Rejected;
 * - kind/schedule/period/stackLevel/unit/limit/numberPhases/count breaches (checkSchedule): Rejected.
 */
export function validateProfile(connectorId: number, profile: ChargingProfile, ctx: ValidationContext): ValidationResult {
  if (connectorId !== 0 && !ctx.connectorIds.includes(connectorId)) {
    return { status: 'Rejected', reason: `connector ${connectorId} does not exist`, callError: 'PropertyConstraintViolation' };
  }
  switch (profile.chargingProfilePurpose) {
    case 'ChargePointMaxProfile':
      if (connectorId !== 0) return rejected('a ChargePointMaxProfile belongs on connector 0');
      break;
    case 'TxProfile': {
      if (connectorId === 0) return rejected('a TxProfile needs a connector > 0');
      const running = ctx.transactionOn(connectorId);
      if (running === undefined) return rejected(`no transaction runs on connector ${connectorId}`);
      if (profile.transactionId !== undefined && profile.transactionId !== running) {
        return rejected(`transaction ${profile.transactionId} does not run on connector ${connectorId} (${running} does)`);
      }
      break;
    }
    case 'TxDefaultProfile':
      break;
  }
  return checkSchedule(profile, ctx);
}

/**
 * The chargingProfile of a RemoteStartTransaction.req (S16 §5.11): purpose TxProfile and no transactionId (the
 * transaction does not exist yet), else Rejected (OCTT TC_060 accepts Rejected); then the schedule rules.
 */
export function validateRemoteStartProfile(connectorId: number, profile: ChargingProfile, ctx: ValidationContext): ValidationResult {
  if (connectorId !== 0 && !ctx.connectorIds.includes(connectorId)) {
    return { status: 'Rejected', reason: `connector ${connectorId} does not exist`, callError: 'PropertyConstraintViolation' };
  }
  if (profile.chargingProfilePurpose !== 'TxProfile') return rejected(`a RemoteStartTransaction profile must be a TxProfile, not ${profile.chargingProfilePurpose}`);
  if (profile.transactionId !== undefined) return rejected('a RemoteStartTransaction profile cannot name a transactionId');
  return checkSchedule(profile, ctx);
}
