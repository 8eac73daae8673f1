import { isoSeconds } from '../hal/clock.js';
import type { SessionRecord } from './sessions.js';

/** Extra columns contributed by other modules (e.g. billing adds cost). */
export type ExtraColumns = (s: SessionRecord) => Record<string, string | number | null>;

/** The exported shape of a session: stable names, seconds, ISO UTC times with their clock quality. */
export function sessionRow(s: SessionRecord, extra?: ExtraColumns): Record<string, string | number | boolean | null> {
  return {
    id: s.id,
    uid: s.uid,
    connectorId: s.connectorId,
    idTag: s.idTag,
    authSource: s.authSource,
    status: s.status,
    startTime: isoSeconds(s.startWallMs),
    startTimeQuality: s.startQuality,
    stopTime: s.stopWallMs === null ? null : isoSeconds(s.stopWallMs),
    stopTimeQuality: s.stopQuality,
    durationS: Math.floor(s.durationMs / 1000),
    chargingS: Math.floor(s.chargingMs / 1000),
    idleS: Math.floor(s.idleMs / 1000),
    meterStartWh: s.meterStartWh,
    meterStopWh: s.meterStopWh,
    energyWh: s.energyWh,
    stopReason: s.stopReason,
    recovered: s.recovered,
    meterGapS: Math.floor(s.meterGapMs / 1000),
    // true: the register could not be read then; the value is the last good one (energyWh may be low).
    meterStartProvisional: s.meterStartProvisional,
    meterStopProvisional: s.meterStopProvisional,
    ...(extra ? extra(s) : {}),
  };
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  // Quote when needed; neutralise spreadsheet formulas in free text (idTag comes from outside).
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function sessionsToCsv(sessions: SessionRecord[], extra?: ExtraColumns): string {
  const rows = sessions.map((s) => sessionRow(s, extra));
  const header = Object.keys(rows[0] ?? sessionRow(EMPTY, extra));
  const lines = [header.join(',')];
  for (const r of rows) lines.push(header.map((h) => csvCell(r[h])).join(','));
  return lines.join('\r\n') + '\r\n';
}

export function sessionsToJson(sessions: SessionRecord[], extra?: ExtraColumns): string {
  return JSON.stringify(sessions.map((s) => sessionRow(s, extra)), null, 2) + '\n';
}

const EMPTY: SessionRecord = {
  id: 0, uid: '', connectorId: 0, idTag: null, authSource: 'free', status: 'completed', startWallMs: 0, startQuality: 'synced',
  startBootId: '', startMonoMs: 0, meterStartWh: 0, checkpointWallMs: null, checkpointEnergyWh: null, durationMs: 0,
  chargingMs: 0, idleMs: 0, meterGapMs: 0, stopWallMs: null, stopQuality: null, meterStopWh: null, energyWh: null,
  stopReason: null, stopIdTag: null, recovered: false, meterStartProvisional: false, meterStopProvisional: false,
};

/**
 * Parses --from/--to style dates: YYYY-MM-DD (a whole UTC day) or a full ISO timestamp.
 * With `endOfDay`, a bare date means the end of that day, so `--to 2026-11-30` includes the 30th.
 */
export function parseDate(s: string, name: string, endOfDay = false): number {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(s);
  const ms = dateOnly ? Date.parse(`${s}T00:00:00Z`) : Date.parse(s);
  if (Number.isNaN(ms)) throw new Error(`${name}: not a date (got "${s}"); use YYYY-MM-DD or an ISO timestamp`);
  return dateOnly && endOfDay ? ms + 86_400_000 : ms;
}
