import type {
  ChargingProfile,
  ChargingProfilePurpose,
  ChargingRateUnit,
  InstalledProfile,
  ScheduleContext,
} from '../../../src/ocpp/v16/smart-charging/types.js';
import type { CompositeContext } from '../../../src/ocpp/v16/smart-charging/composite.js';

/** Monday 2024-03-04 10:00:00 UTC: the tests' "now". */
export const T0 = Date.parse('2024-03-04T10:00:00Z');
export const S = 1000;
export const iso = (ms: number) => new Date(ms).toISOString();

/** [startPeriod s, limit, numberPhases?] */
export type P = [number, number, number?];

export interface ProfileOptions {
  id: number;
  purpose: ChargingProfilePurpose;
  stackLevel?: number;
  kind?: ChargingProfile['chargingProfileKind'];
  recurrencyKind?: ChargingProfile['recurrencyKind'];
  startMs?: number;
  durationS?: number;
  unit?: ChargingRateUnit;
  periods: P[];
  transactionId?: number;
  validFromMs?: number;
  validToMs?: number;
  minChargingRate?: number;
}

/** A profile as the CSMS would send it (Absolute from T0 unless told otherwise). */
export function profile(o: ProfileOptions): ChargingProfile {
  const kind = o.kind ?? 'Absolute';
  const p: ChargingProfile = {
    chargingProfileId: o.id,
    stackLevel: o.stackLevel ?? 0,
    chargingProfilePurpose: o.purpose,
    chargingProfileKind: kind,
    chargingSchedule: {
      chargingRateUnit: o.unit ?? 'A',
      chargingSchedulePeriod: o.periods.map(([startPeriod, limit, numberPhases]) =>
        numberPhases === undefined ? { startPeriod, limit } : { startPeriod, limit, numberPhases },
      ),
    },
  };
  if (kind !== 'Relative') p.chargingSchedule.startSchedule = iso(o.startMs ?? T0);
  if (o.durationS !== undefined) p.chargingSchedule.duration = o.durationS;
  if (o.minChargingRate !== undefined) p.chargingSchedule.minChargingRate = o.minChargingRate;
  if (o.recurrencyKind !== undefined) p.recurrencyKind = o.recurrencyKind;
  if (o.transactionId !== undefined) p.transactionId = o.transactionId;
  if (o.validFromMs !== undefined) p.validFrom = iso(o.validFromMs);
  if (o.validToMs !== undefined) p.validTo = iso(o.validToMs);
  return p;
}

export const on = (connectorId: number, p: ChargingProfile): InstalledProfile => ({ connectorId, profile: p });

/** Connector 1 charging on 3 phases at 230 V, transaction 1 started at `startMs`. */
export function charging(startMs = T0 - 60 * S, connectorId = 1, transactionId = 1): ScheduleContext {
  return { connectorId, transaction: { transactionId, startMs }, phases: 3, voltageV: 230 };
}

export function idle(connectorId = 1): ScheduleContext {
  return { connectorId, phases: 3, voltageV: 230 };
}

/** One or two connectors of 32 A on a 3-phase 230 V supply. */
export function station(connectors: ScheduleContext[] = [charging()], connectorMaxA = 32): CompositeContext {
  return { connectors, station: { phases: 3, voltageV: 230 }, connectorMaxA };
}

/** The periods as [startPeriod, limit] pairs, for short assertions. */
export function pairs(periods: { startPeriod: number; limit: number }[]): [number, number][] {
  return periods.map((p) => [p.startPeriod, p.limit]);
}
