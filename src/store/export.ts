import { isoSeconds } from '../hal/clock.js';
import { wholeSeconds, type SessionRecord } from './sessions.js';
import { STOP_REASON_TEXT } from '../domain/types.js';

/** Extra columns contributed by other modules (e.g. billing adds cost). */
export type ExtraColumns = (s: SessionRecord) => Record<string, string | number | null>;

/** The exported shape of a session: stable names, seconds, ISO UTC times with their clock quality. */
export function sessionRow(s: SessionRecord, extra?: ExtraColumns): Record<string, string | number | boolean | null> {
  const secs = wholeSeconds(s);
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
    durationS: secs.durationS,
    chargingS: secs.chargingS,
    idleS: secs.idleS,
    meterStartWh: s.meterStartWh,
    meterStopWh: s.meterStopWh,
    energyWh: s.energyWh,
    stopReason: s.stopReason,
    recovered: s.recovered,
    meterGapS: secs.meterGapS,
    // true: the register could not be read then; the value is the last good one (energyWh may be low).
    meterStartProvisional: s.meterStartProvisional,
    meterStopProvisional: s.meterStopProvisional,
    // Added last: the earlier columns keep their places in the CSV.
    stopReasonText: s.stopReason === null ? null : (STOP_REASON_TEXT[s.stopReason] ?? s.stopReason),
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
  chargingMs: 0, idleMs: 0, meterGapMs: 0, stopWallMs: null, stopQuality: null, stopBootId: null, stopMonoMs: null, meterStopWh: null, energyWh: null,
  stopReason: null, stopIdTag: null, recovered: false, meterStartProvisional: false, meterStopProvisional: false, reservationId: null,
};

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})$/;

/** A --from/--to (or ?from/?to) value that is not a date this tool accepts. */
export class DateInputError extends Error {}

/**
 * Parses --from/--to style dates: YYYY-MM-DD (a whole UTC day) or an ISO timestamp with its zone
 * (`2026-11-30T18:00:00Z`, `2026-11-30T19:00+01:00`). Nothing else: `Date.parse` would read `12` as
 * a year 2001 date, roll `2026-02-30` over into March and take zoneless text as local time.
 * With `endOfDay`, a bare date means the end of that day, so `--to 2026-11-30` includes the 30th.
 */
export function parseDate(s: string, name: string, endOfDay = false): number {
  const bad = (why: string) => new DateInputError(`${name}: ${why} (got "${s}"); use YYYY-MM-DD or an ISO timestamp with a zone, e.g. 2026-11-30T18:00:00Z`);
  const d = DATE_ONLY.exec(s) ?? TIMESTAMP.exec(s);
  if (!d) throw bad('not a date');
  const [y, mo, day, h, mi, sec, frac, zone] = d.slice(1) as (string | undefined)[];
  const f = [y, mo, day, h, mi, sec].map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  const utc = Date.UTC(f[0], f[1] - 1, f[2], f[3], f[4], f[5], Number((frac ?? '0').padEnd(3, '0')));
  const t = new Date(utc);
  const roundTrips = t.getUTCFullYear() === f[0] && t.getUTCMonth() === f[1] - 1 && t.getUTCDate() === f[2]
    && t.getUTCHours() === f[3] && t.getUTCMinutes() === f[4] && t.getUTCSeconds() === f[5];
  if (!roundTrips) throw bad('no such date or time');
  let offsetMin = 0;
  if (zone && zone !== 'Z') {
    const [oh, om] = zone.slice(1).split(':').map(Number) as [number, number];
    if (oh > 14 || om > 59) throw bad('no such zone offset');
    offsetMin = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const ms = utc - offsetMin * 60_000;
  return DATE_ONLY.test(s) && endOfDay ? ms + 86_400_000 : ms;
}

/** Parses an optional from/to pair and refuses an empty range (to before from) instead of answering nothing. */
export function parseDateRange(from: string | undefined | null, to: string | undefined | null, names: [string, string]): { fromMs?: number; toMs?: number } {
  const r: { fromMs?: number; toMs?: number } = {};
  if (from) r.fromMs = parseDate(from, names[0]);
  if (to) r.toMs = parseDate(to, names[1], true);
  if (r.fromMs !== undefined && r.toMs !== undefined && r.toMs <= r.fromMs) {
    throw new DateInputError(`${names[1]}: must be after ${names[0]} (got ${names[0]} ${from}, ${names[1]} ${to}; a bare --to date includes that whole day)`);
  }
  return r;
}
