import type { ChargingRateUnit, ChargingSchedulePeriod, InstalledProfile, LimitNow, ScheduleContext } from './types.js';

/** The nominal phase voltage when none is measured. */
export const NOMINAL_VOLTAGE_V = 230;

/**
 * The limit OCPP puts on one connector at `nowMs` (wall clock, UTC): the TxProfile of the running transaction
 * over the TxDefaultProfile (the connector's own over connector 0's); in a purpose the valid profile with
 * the highest stackLevel that has a period in force, falling back to lower levels outside a higher one's
 * duration or validity. W limits are turned into A per phase. ChargePointMaxProfile is not included
 * (see stationLimitAt).
 */
export function limitAt(list: readonly InstalledProfile[], nowMs: number, ctx: ScheduleContext): LimitNow {
  void list;
  void nowMs;
  void ctx;
  throw new Error('limitAt: not implemented yet');
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
  void list;
  void nowMs;
  void ctx;
  throw new Error('stationLimitAt: not implemented yet');
}

export interface CompositeRequest {
  /** 0 = the station's expected total. */
  connectorId: number;
  /** Wall-clock ms the schedule starts (now). */
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

/**
 * GetCompositeSchedule from startMs for durationS: for a connector min(ChargePointMax, TxProfile or
 * TxDefault, connectorMaxA) over time; for connector 0 min(ChargePointMax, the sum of the connectors'). Equal
 * neighbouring periods are merged. A Relative profile counts from the connector's transaction start, or
 * from startMs when none runs (the schedule a transaction started now would get). Unknown connector → null
 * (the answer is Rejected).
 */
export function compositeSchedule(
  list: readonly InstalledProfile[],
  req: CompositeRequest,
  ctx: CompositeContext,
): CompositeSchedule | null {
  void list;
  void req;
  void ctx;
  throw new Error('compositeSchedule: not implemented yet');
}

/** A limit in `unit` as amps per phase (W / (phases × V)), one decimal rounded down so it never exceeds. */
export function ampsFromLimit(limit: number, unit: ChargingRateUnit, phases: number, voltageV: number): number {
  void limit;
  void unit;
  void phases;
  void voltageV;
  throw new Error('ampsFromLimit: not implemented yet');
}

/** Amps per phase as a limit in `unit` (A × phases × V for W), one decimal rounded down. */
export function limitFromAmps(amps: number, unit: ChargingRateUnit, phases: number, voltageV: number): number {
  void amps;
  void unit;
  void phases;
  void voltageV;
  throw new Error('limitFromAmps: not implemented yet');
}
