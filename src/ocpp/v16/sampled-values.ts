import type { StationEvents } from '../../evse/port.js';
import type { Measurand } from '../../config/ocpp16-keys.js';

export type Sample = StationEvents['sample'][0];
export type ReadingContext = 'Sample.Periodic' | 'Sample.Clock' | 'Transaction.Begin' | 'Transaction.End' | 'Trigger';

export interface SampledValue {
  value: string;
  context?: ReadingContext;
  measurand?: string;
  phase?: string;
  location?: 'Outlet';
  unit?: string;
}

/** Decimal text without exponent, at most 3 decimals: OCPP sampled values are strings. */
export function num(v: number): string {
  if (!Number.isFinite(v)) return '0';
  return String(Math.round(v * 1000) / 1000);
}

/**
 * Sampled values for the configured measurands. The phase-less Outlet Energy.Active.Import.Register
 * in Wh (integer register) is always first and always present (several CSMSs bill only from it).
 */
export function sampledValues(measurands: string[], s: Pick<Sample, 'energyWh' | 'powerW' | 'voltageV' | 'currentA' | 'frequencyHz'>, context: ReadingContext, offeredA: number | null): SampledValue[] {
  const base = { context, location: 'Outlet' as const };
  const out: SampledValue[] = [{ value: String(Math.round(s.energyWh)), ...base, measurand: 'Energy.Active.Import.Register', unit: 'Wh' }];
  for (const m of new Set(measurands) as Set<Measurand | string>) {
    switch (m) {
      case 'Power.Active.Import':
        out.push({ value: num(Math.max(0, s.powerW)), ...base, measurand: m, unit: 'W' });
        break;
      case 'Current.Import':
        s.currentA.forEach((a, i) => out.push({ value: num(a), ...base, measurand: m, phase: `L${i + 1}`, unit: 'A' }));
        break;
      case 'Voltage':
        s.voltageV.forEach((v, i) => out.push({ value: num(v), ...base, measurand: m, phase: `L${i + 1}-N`, unit: 'V' }));
        break;
      case 'Frequency':
        // Frequency has no unit in 1.6 (Hz implied, errata §3.86)
        if (s.frequencyHz !== null) out.push({ value: num(s.frequencyHz), ...base, measurand: m });
        break;
      case 'Current.Offered':
        if (offeredA !== null) out.push({ value: num(offeredA), ...base, measurand: m, unit: 'A' });
        break;
      default:
        break; // Energy.Active.Import.Register is already there
    }
  }
  return out;
}
