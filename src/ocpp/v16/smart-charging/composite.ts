import type {
  ChargingProfilePurpose,
  ChargingRateUnit,
  ChargingSchedulePeriod,
  InstalledProfile,
  LimitNow,
  ScheduleContext,
} from './types.js';
import { profileAt, type PeriodInForce } from './schedule.js';

/** The nominal phase voltage when none is measured. */
export const NOMINAL_VOLTAGE_V = 230;

/** The profile that decided at one instant, in unrounded amps per phase (rounding happens once, at the output). */
interface Decision {
  amps: number | null;
  /** Phases the W ↔ A conversion used (the period's numberPhases, capped at the phases in use). */
  phases: number;
  numberPhases?: number;
  minChargingRateA?: number;
  profileId?: number;
  purpose?: ChargingProfilePurpose;
  nextChangeMs: number | null;
}

function usablePhases(period: PeriodInForce, phasesInUse: number): number {
  // E16 §3.34: numberPhases above what can be used → the limit as given, for the phases in use.
  return Math.max(1, Math.min(period.numberPhases ?? phasesInUse, phasesInUse));
}

function rawAmps(value: number, unit: ChargingRateUnit, phases: number, voltageV: number): number {
  return unit === 'A' ? value : value / (phases * voltageV);
}

function roundDown1(x: number): number {
  // The tolerance absorbs float noise (10999.999… W is 11000 W), never a real tenth.
  return Math.floor(x * 10 + 1e-6) / 10;
}

function volts(v: number): number {
  return Number.isFinite(v) && v > 0 ? v : NOMINAL_VOLTAGE_V;
}

/**
 * The first candidate (in priority order) with a period in force decides. Only the candidates up to the decider
 * can change the answer before one of them changes, so only their next changes count.
 */
function decide(
  candidates: readonly InstalledProfile[],
  t: number,
  relativeStartMs: number | undefined,
  phasesInUse: number,
  voltageV: number,
): Decision {
  let next: number | null = null;
  const sooner = (ms: number | null) => {
    if (ms !== null && (next === null || ms < next)) next = ms;
  };
  for (const { profile } of candidates) {
    const at = profileAt(profile, t, relativeStartMs);
    sooner(at.nextChangeMs);
    if (at.period === null) continue;
    const phases = usablePhases(at.period, phasesInUse);
    const d: Decision = {
      amps: rawAmps(at.period.limit, at.period.unit, phases, voltageV),
      phases,
      profileId: profile.chargingProfileId,
      purpose: profile.chargingProfilePurpose,
      nextChangeMs: next,
    };
    if (at.period.numberPhases !== undefined) d.numberPhases = at.period.numberPhases;
    if (at.period.minChargingRate !== undefined) d.minChargingRateA = rawAmps(at.period.minChargingRate, at.period.unit, phases, voltageV);
    return d;
  }
  return { amps: null, phases: phasesInUse, nextChangeMs: next };
}

const byStackLevelDesc = (a: InstalledProfile, b: InstalledProfile) => b.profile.stackLevel - a.profile.stackLevel;

/** Tx and TxDefault candidates of a connector, highest priority first. */
function connectorCandidates(list: readonly InstalledProfile[], ctx: ScheduleContext): InstalledProfile[] {
  const of = (purpose: ChargingProfilePurpose, connectorId: number) =>
    list.filter((p) => p.connectorId === connectorId && p.profile.chargingProfilePurpose === purpose).sort(byStackLevelDesc);
  const tx = ctx.transaction;
  const txProfiles =
    tx === undefined
      ? []
      : of('TxProfile', ctx.connectorId).filter((p) => p.profile.transactionId === undefined || p.profile.transactionId === tx.transactionId);
  const ownDefaults = ctx.connectorId > 0 ? of('TxDefaultProfile', ctx.connectorId) : [];
  return [...txProfiles, ...ownDefaults, ...of('TxDefaultProfile', 0)];
}

function connectorDecision(list: readonly InstalledProfile[], t: number, ctx: ScheduleContext, relativeStartMs: number | undefined): Decision {
  return decide(connectorCandidates(list, ctx), t, relativeStartMs, ctx.phases, volts(ctx.voltageV));
}

function stationDecision(list: readonly InstalledProfile[], t: number, ctx: StationContext): Decision {
  const candidates = list.filter((p) => p.connectorId === 0 && p.profile.chargingProfilePurpose === 'ChargePointMaxProfile').sort(byStackLevelDesc);
  return decide(candidates, t, ctx.relativeStartMs, ctx.phases, volts(ctx.voltageV));
}

function toLimitNow(d: Decision): LimitNow {
  const out: LimitNow = { limitA: d.amps === null ? null : roundDown1(d.amps), nextChangeMs: d.nextChangeMs };
  if (d.numberPhases === 1 || d.numberPhases === 3) out.numberPhases = d.numberPhases;
  if (d.profileId !== undefined) out.profileId = d.profileId;
  if (d.purpose !== undefined) out.purpose = d.purpose;
  return out;
}

/**
 * The limit OCPP puts on one connector at `nowMs` (wall clock, UTC): the TxProfile of the running transaction
 * over the TxDefaultProfile (the connector's own over connector 0's); in a purpose the valid profile with
 * the highest stackLevel that has a period in force, falling back to lower levels outside a higher one's
 * duration or validity. A Relative schedule counts from the transaction's start (no transaction: it does not
 * apply). W limits are turned into A per phase (the period's numberPhases, at most ctx.phases; ctx.voltageV).
 * ChargePointMaxProfile is not included (see stationLimitAt).
 */
export function limitAt(list: readonly InstalledProfile[], nowMs: number, ctx: ScheduleContext): LimitNow {
  return toLimitNow(connectorDecision(list, nowMs, ctx, ctx.transaction?.startMs));
}

/** The station's supply as the ChargePointMaxProfile sees it. */
export interface StationContext {
  /** Phases of the station's supply (W → A conversion when a period does not say numberPhases). */
  phases: 1 | 3;
  voltageV: number;
  /**
   * Start of a Relative ChargePointMaxProfile (e.g. the earliest running transaction's start);
   * absent → a Relative ChargePointMaxProfile does not apply.
   */
  relativeStartMs?: number;
}

/** The ChargePointMaxProfile (connector 0) limit per phase at `nowMs`, for all connectors together. */
export function stationLimitAt(list: readonly InstalledProfile[], nowMs: number, ctx: StationContext): LimitNow {
  return toLimitNow(stationDecision(list, nowMs, ctx));
}

export interface CompositeRequest {
  /** 0 = the station's expected total. */
  connectorId: number;
  /** Wall-clock ms the schedule starts (now); cut to whole seconds. */
  startMs: number;
  durationS: number;
  /** Absent → A. */
  unit?: ChargingRateUnit;
}

export interface CompositeContext {
  /** Every connector (> 0) with its transaction, phases and voltage. */
  connectors: readonly ScheduleContext[];
  station: StationContext;
  /** What a connector offers when no profile limits it (its configured maximum, A per phase). */
  connectorMaxA: number;
}

/** The fields of GetCompositeSchedule.conf besides status (chargingSchedule without startSchedule, E16 §3.57). */
export interface CompositeSchedule {
  connectorId: number;
  scheduleStart: string;
  chargingSchedule: {
    duration: number;
    chargingRateUnit: ChargingRateUnit;
    chargingSchedulePeriod: ChargingSchedulePeriod[];
    minChargingRate?: number;
  };
}

interface Slice {
  amps: number;
  phases: number;
  voltageV: number;
  numberPhases?: number;
  minChargingRateA?: number;
  nextChangeMs: number | null;
}

function sooner(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

function sliceAt(list: readonly InstalledProfile[], t: number, req: CompositeRequest, ctx: CompositeContext, startMs: number): Slice {
  const station = stationDecision(list, t, { ...ctx.station, relativeStartMs: ctx.station.relativeStartMs ?? startMs });
  const cap = station.amps ?? Infinity;
  const connectorLimit = (c: ScheduleContext) => connectorDecision(list, t, c, c.transaction?.startMs ?? startMs);
  if (req.connectorId === 0) {
    let total = 0;
    let next = station.nextChangeMs;
    for (const c of ctx.connectors) {
      const d = connectorLimit(c);
      total += Math.min(d.amps ?? ctx.connectorMaxA, ctx.connectorMaxA);
      next = sooner(next, d.nextChangeMs);
    }
    return { amps: Math.min(total, cap), phases: ctx.station.phases, voltageV: volts(ctx.station.voltageV), nextChangeMs: next };
  }
  const c = ctx.connectors.find((x) => x.connectorId === req.connectorId)!;
  const d = connectorLimit(c);
  const slice: Slice = {
    amps: Math.min(d.amps ?? ctx.connectorMaxA, ctx.connectorMaxA, cap),
    phases: d.phases,
    voltageV: volts(c.voltageV),
    nextChangeMs: sooner(station.nextChangeMs, d.nextChangeMs),
  };
  if (d.numberPhases !== undefined) slice.numberPhases = d.numberPhases;
  if (d.minChargingRateA !== undefined) slice.minChargingRateA = d.minChargingRateA;
  return slice;
}

/**
 * GetCompositeSchedule from startMs for durationS: for a connector min(ChargePointMax, TxProfile or
 * TxDefault, connectorMaxA) over time; for connector 0 min(ChargePointMax, the sum of the connectors'). Equal
 * neighbouring periods are merged. A Relative profile counts from the connector's transaction start, or
 * from startMs when none runs (the schedule a transaction started now would get). minChargingRate is the one of
 * the profile in force at the start. Unknown connector → null (the answer is Rejected).
 */
export function compositeSchedule(
  list: readonly InstalledProfile[],
  req: CompositeRequest,
  ctx: CompositeContext,
): CompositeSchedule | null {
  if (req.connectorId !== 0 && !ctx.connectors.some((c) => c.connectorId === req.connectorId)) return null;
  const unit = req.unit ?? 'A';
  // Whole seconds: startPeriod is an integer and some CSMSs cannot read fractional seconds in a dateTime.
  const startMs = Math.floor(req.startMs / 1000) * 1000;
  const durationS = Math.max(0, Math.floor(req.durationS));
  const endMs = startMs + durationS * 1000;
  const periods: ChargingSchedulePeriod[] = [];
  let minChargingRate: number | undefined;
  let t = startMs;
  do {
    const s = sliceAt(list, t, req, ctx, startMs);
    const limit = roundDown1(unit === 'A' ? s.amps : s.amps * s.phases * s.voltageV);
    if (t === startMs && s.minChargingRateA !== undefined) {
      minChargingRate = roundDown1(unit === 'A' ? s.minChargingRateA : s.minChargingRateA * s.phases * s.voltageV);
    }
    const period: ChargingSchedulePeriod = { startPeriod: Math.round((t - startMs) / 1000), limit };
    if (s.numberPhases !== undefined) period.numberPhases = s.numberPhases;
    const last = periods[periods.length - 1];
    if (last !== undefined && last.startPeriod === period.startPeriod) periods[periods.length - 1] = period;
    else if (last === undefined || last.limit !== period.limit || last.numberPhases !== period.numberPhases) periods.push(period);
    if (s.nextChangeMs === null || s.nextChangeMs <= t) break;
    t = s.nextChangeMs;
  } while (t < endMs);
  const merged = periods.filter((p, i) => i === 0 || p.limit !== periods[i - 1]!.limit || p.numberPhases !== periods[i - 1]!.numberPhases);
  const chargingSchedule: CompositeSchedule['chargingSchedule'] = { duration: durationS, chargingRateUnit: unit, chargingSchedulePeriod: merged };
  if (minChargingRate !== undefined) chargingSchedule.minChargingRate = minChargingRate;
  return { connectorId: req.connectorId, scheduleStart: new Date(startMs).toISOString().replace('.000Z', 'Z'), chargingSchedule };
}

/** A limit in `unit` as amps per phase (W / (phases × V)), one decimal rounded down so it never exceeds. */
export function ampsFromLimit(limit: number, unit: ChargingRateUnit, phases: number, voltageV: number): number {
  return roundDown1(rawAmps(limit, unit, Math.max(1, phases), volts(voltageV)));
}

/** Amps per phase as a limit in `unit` (A × phases × V for W), one decimal rounded down. */
export function limitFromAmps(amps: number, unit: ChargingRateUnit, phases: number, voltageV: number): number {
  return roundDown1(unit === 'A' ? amps : amps * Math.max(1, phases) * volts(voltageV));
}
