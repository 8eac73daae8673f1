/**
 * OCPP 1.6 Smart Charging in station terms: the profile as the CSMS sends it (SetChargingProfile,
 * RemoteStartTransaction), the profile as installed, and what the pure schedule math answers.
 * The math (composite.ts, validate.ts) is pure: time is passed in as wall-clock ms.
 */

export type ChargingRateUnit = 'A' | 'W';
export type ChargingProfilePurpose = 'ChargePointMaxProfile' | 'TxDefaultProfile' | 'TxProfile';
export type ChargingProfileKind = 'Absolute' | 'Recurring' | 'Relative';
export type RecurrencyKind = 'Daily' | 'Weekly';

export interface ChargingSchedulePeriod {
  /** Seconds from the start of the schedule. */
  startPeriod: number;
  /** In the schedule's unit, one decimal. */
  limit: number;
  numberPhases?: number;
}

export interface ChargingSchedule {
  /** Seconds; absent = the last period lasts until the profile ends (or forever). */
  duration?: number;
  /** ISO 8601; absent for Relative (the transaction's start). */
  startSchedule?: string;
  chargingRateUnit: ChargingRateUnit;
  chargingSchedulePeriod: ChargingSchedulePeriod[];
  minChargingRate?: number;
}

export interface ChargingProfile {
  chargingProfileId: number;
  transactionId?: number;
  stackLevel: number;
  chargingProfilePurpose: ChargingProfilePurpose;
  chargingProfileKind: ChargingProfileKind;
  recurrencyKind?: RecurrencyKind;
  validFrom?: string;
  validTo?: string;
  chargingSchedule: ChargingSchedule;
}

/** A profile as installed on a connector (0 = the station), persisted across reboots. */
export interface InstalledProfile {
  connectorId: number;
  profile: ChargingProfile;
}

/** What the station knows about a connector when a limit is evaluated. */
export interface ScheduleContext {
  connectorId: number;
  /** The running transaction on the connector, if any (a TxProfile needs it; Relative starts at its start). */
  transaction?: { transactionId: number; startMs: number };
  /** Phases the EV charges on now (W ↔ A conversion when the period does not say numberPhases). */
  phases: 1 | 3;
  /** Measured mean phase voltage (V); 230 when none. */
  voltageV: number;
}

/** The limit in force at one instant. */
export interface LimitNow {
  /** Amps per phase, or null when no profile applies (no limit from OCPP). */
  limitA: number | null;
  /** numberPhases of the period in force, when it says one. */
  numberPhases?: 1 | 3;
  /** The profile that decided (for the status and logs). */
  profileId?: number;
  purpose?: ChargingProfilePurpose;
  /** Wall-clock ms of the next instant the answer can change (a period boundary, validFrom/validTo, a recurrence); null = never. */
  nextChangeMs: number | null;
}
