import { offsetMs } from '../util/time-zone.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

/**
 * Operator views over the sessions table: energy per day, sessions by hour of day, utilisation
 * and averages for a period (StationStatsRepository). Functions of the database and the period
 * (no clock inside).
 *
 * Days and hours are local to `timeZone` (an IANA name), DST included. The zone's UTC offsets over
 * the period are found once with Intl (a few hundred calls for years), then SQLite shifts each start
 * by its offset: no per-row JavaScript, so a long period stays a short query on a Pi (better-sqlite3
 * blocks the event loop while it runs, and the stall detector watches that loop).
 *
 * Rules, stated once:
 * - A session belongs to the period (and to a day and an hour) by its start time, like on an invoice.
 * - A session's energy is the register difference; for a running session, up to its last checkpoint.
 * - Utilisation counts time, not sessions: the part of each session's monotonic duration, placed
 *   from its start, that falls inside the period; charging time is pro-rated by the same share.
 */

export interface StatsPeriod {
  fromMs: number;
  /** Exclusive. */
  toMs: number;
  /** IANA time zone for days and hours; default UTC. */
  timeZone?: string;
}

export interface DayEnergy {
  /** Local date, YYYY-MM-DD. */
  day: string;
  energyWh: number;
  sessions: number;
}

export interface HourCount {
  /** Local hour of the start, 0-23. */
  hour: number;
  sessions: number;
  energyWh: number;
}

export interface Utilisation {
  /** Length of the period considered (up to `nowMs`), times the number of connectors. */
  capacityS: number;
  occupiedS: number;
  chargingS: number;
  /** Percentages with one decimal. */
  occupiedPercent: number;
  chargingPercent: number;
}

export interface Averages {
  sessions: number;
  /** Of which completed: the averages are over these. */
  completed: number;
  totalEnergyWh: number;
  avgEnergyWh: number | null;
  avgDurationS: number | null;
  avgChargingS: number | null;
}

export interface StationStats {
  from: string;
  to: string;
  timeZone: string;
  energyPerDay: DayEnergy[];
  sessionsByHour: HourCount[];
  utilisation: Utilisation;
  averages: Averages;
}

/** The longest period answered (about 2.7 years), so a wild request cannot make a long query or a huge answer. */
export const MAX_DAYS = 1000;

const SESSION_ENERGY = 'COALESCE(energy_wh, MAX(0, COALESCE(checkpoint_energy_wh, meter_start_wh) - meter_start_wh))';

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws a plain error for an unknown zone name. */
export function checkTimeZone(tz: string): string {
  formatter(tz);
  return tz;
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });
    } catch {
      throw new Error(`unknown time zone "${tz}" (use an IANA name such as Europe/Berlin, or UTC)`);
    }
    formatters.set(tz, f);
  }
  return f;
}

function localParts(ms: number, tz: string): { day: string; hour: number } {
  const p: Record<string, string> = {};
  for (const x of formatter(tz).formatToParts(ms)) p[x.type] = x.value;
  return { day: `${p.year}-${p.month}-${p.day}`, hour: Number(p.hour) };
}

export function localDay(ms: number, tz: string): string {
  return localParts(ms, tz).day;
}

export function localHour(ms: number, tz: string): number {
  return localParts(ms, tz).hour;
}

export interface OffsetSegment {
  /** The offset applies to instants before this (the last segment: to the end). */
  untilMs: number;
  offsetMs: number;
}

/**
 * The offset is probed this often; a change between probes is then found to the second. Zones
 * change at most a few times a year, never twice within four days (Morocco's Ramadan pause, the
 * shortest stretch in the tz database, lasts weeks).
 */
const PROBE_MS = 4 * 86_400_000;

const segmentCache = new Map<string, OffsetSegment[]>();

/** The zone's constant-offset stretches over [fromMs, toMs): each change found to the second. */
export function offsetSegments(fromMs: number, toMs: number, tz: string): OffsetSegment[] {
  const key = `${tz}|${fromMs}|${toMs}`;
  const hit = segmentCache.get(key);
  if (hit) return hit;
  const out = findSegments(fromMs, toMs, tz);
  if (segmentCache.size >= 64) segmentCache.clear();
  segmentCache.set(key, out);
  return out;
}

function findSegments(fromMs: number, toMs: number, tz: string): OffsetSegment[] {
  const out: OffsetSegment[] = [];
  let t = fromMs;
  let off = offsetMs(t, tz);
  while (t < toMs) {
    const next = Math.min(t + PROBE_MS, toMs);
    const o = offsetMs(next, tz);
    if (o !== off) {
      // off holds at lo, o at hi: narrow to the first second of the new offset.
      let lo = Math.floor(t / 1000);
      let hi = Math.ceil(next / 1000);
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (offsetMs(mid * 1000, tz) === off) lo = mid;
        else hi = mid;
      }
      out.push({ untilMs: hi * 1000, offsetMs: off });
      off = o;
    }
    t = next;
  }
  out.push({ untilMs: Infinity, offsetMs: off });
  return out;
}

/** SQL for `start_wall_ms` shifted to local time (the numbers are computed integers, inlined). */
function localStartSql(segments: OffsetSegment[]): string {
  const int = (n: number) => {
    if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
    return String(n);
  };
  const last = segments[segments.length - 1]!;
  if (segments.length === 1) return `(start_wall_ms + ${int(last.offsetMs)})`;
  const whens = segments.slice(0, -1).map((s) => `WHEN start_wall_ms < ${int(s.untilMs)} THEN ${int(s.offsetMs)}`);
  return `(start_wall_ms + CASE ${whens.join(' ')} ELSE ${int(last.offsetMs)} END)`;
}

function localDaySql(p: StatsPeriod, tz: string): string {
  return `strftime('%Y-%m-%d', ${localStartSql(offsetSegments(p.fromMs, p.toMs, tz))} / 1000, 'unixepoch')`;
}

function localHourSql(p: StatsPeriod, tz: string): string {
  return `CAST(strftime('%H', ${localStartSql(offsetSegments(p.fromMs, p.toMs, tz))} / 1000, 'unixepoch') AS INTEGER)`;
}

function check(p: StatsPeriod): string {
  if (!Number.isFinite(p.fromMs) || !Number.isFinite(p.toMs)) throw new Error('period: from and to must be dates');
  if (p.toMs <= p.fromMs) throw new Error('period: "to" must be after "from"');
  // Queries block the event loop while they run: keep the worst case bounded.
  if (p.toMs - p.fromMs > MAX_DAYS * 86_400_000) throw new Error(`period: at most ${MAX_DAYS} days (ask for less, or export the sessions as CSV)`);
  return checkTimeZone(p.timeZone ?? 'UTC');
}

/** The statements of one time zone's day/hour grouping are kept for this many distinct periods. */
const MAX_CACHED_STATEMENTS = 32;

export class StationStatsRepository {
  private readonly utilisationStmt: Statement;
  private readonly averagesStmt: Statement;
  /** Day/hour statements inline the zone's offsets (computed integers), so they are prepared per period shape. */
  private readonly grouped = new Map<string, Statement>();

  constructor(private readonly db: Db) {
    this.utilisationStmt = db.prepare(`SELECT
        COALESCE(SUM(MAX(0, MIN(start_wall_ms + duration_ms, @to) - MAX(start_wall_ms, @from))), 0) AS occupiedMs,
        COALESCE(SUM(CASE WHEN duration_ms > 0
          THEN charging_ms * 1.0 * MAX(0, MIN(start_wall_ms + duration_ms, @to) - MAX(start_wall_ms, @from)) / duration_ms
          ELSE 0 END), 0) AS chargingMs
      FROM sessions WHERE start_wall_ms < @to AND start_wall_ms + duration_ms > @from`);
    this.averagesStmt = db.prepare(`SELECT COUNT(*) AS sessions,
        SUM(status = 'completed') AS completed,
        COALESCE(SUM(${SESSION_ENERGY}), 0) AS totalEnergyWh,
        AVG(CASE WHEN status = 'completed' THEN energy_wh END) AS avgEnergyWh,
        AVG(CASE WHEN status = 'completed' THEN duration_ms END) AS avgDurationMs,
        AVG(CASE WHEN status = 'completed' THEN charging_ms END) AS avgChargingMs
      FROM sessions WHERE start_wall_ms >= @from AND start_wall_ms < @to`);
  }

  private groupedStmt(sql: string): Statement {
    let st = this.grouped.get(sql);
    if (!st) {
      if (this.grouped.size >= MAX_CACHED_STATEMENTS) this.grouped.clear();
      this.grouped.set(sql, (st = this.db.prepare(sql)));
    }
    return st;
  }

  /** Energy and session count per local day of the start, every day of the period listed (zeros included). */
  energyPerDay(p: StatsPeriod): DayEnergy[] {
    const tz = check(p);
    const rows = this.groupedStmt(`SELECT ${localDaySql(p, tz)} AS day, SUM(${SESSION_ENERGY}) AS energyWh, COUNT(*) AS sessions
        FROM sessions WHERE start_wall_ms >= @from AND start_wall_ms < @to GROUP BY day`)
      .all({ from: p.fromMs, to: p.toMs }) as DayEnergy[];
    const byDay = new Map(rows.map((r) => [r.day, r]));
    const out: DayEnergy[] = [];
    const last = localDay(p.toMs - 1, tz);
    for (let day = localDay(p.fromMs, tz); day <= last && out.length <= MAX_DAYS + 1; day = nextDay(day)) {
      const r = byDay.get(day);
      out.push({ day, energyWh: r?.energyWh ?? 0, sessions: r?.sessions ?? 0 });
    }
    return out;
  }

  /** Sessions (and their energy) by local hour of the start: 24 entries, peak times at a glance. */
  sessionsByHour(p: StatsPeriod): HourCount[] {
    const tz = check(p);
    const rows = this.groupedStmt(`SELECT ${localHourSql(p, tz)} AS hour, COUNT(*) AS sessions, SUM(${SESSION_ENERGY}) AS energyWh
        FROM sessions WHERE start_wall_ms >= @from AND start_wall_ms < @to GROUP BY hour`)
      .all({ from: p.fromMs, to: p.toMs }) as HourCount[];
    const byHour = new Map(rows.map((r) => [r.hour, r]));
    return Array.from({ length: 24 }, (_, hour) => ({ hour, sessions: byHour.get(hour)?.sessions ?? 0, energyWh: byHour.get(hour)?.energyWh ?? 0 }));
  }

  /**
   * Share of the period the connectors were occupied (a session open) and charging. The period ends
   * at `nowMs` when that is earlier, so "this month" is not diluted by days still to come.
   */
  utilisation(p: StatsPeriod, connectors: number, nowMs = Infinity): Utilisation {
    check(p);
    if (!Number.isInteger(connectors) || connectors < 1) throw new Error('connectors: must be a whole number of at least 1');
    const end = Math.min(p.toMs, nowMs);
    const capacityMs = Math.max(0, end - p.fromMs) * connectors;
    const r = this.utilisationStmt.get({ from: p.fromMs, to: end }) as { occupiedMs: number; chargingMs: number };
    const pct = (ms: number) => (capacityMs > 0 ? Math.round((ms / capacityMs) * 1000) / 10 : 0);
    return {
      capacityS: Math.floor(capacityMs / 1000),
      occupiedS: Math.floor(r.occupiedMs / 1000),
      chargingS: Math.floor(r.chargingMs / 1000),
      occupiedPercent: pct(r.occupiedMs),
      chargingPercent: pct(r.chargingMs),
    };
  }

  /** Count of sessions started in the period; averages over the completed ones, rounded to whole units. */
  averages(p: StatsPeriod): Averages {
    check(p);
    const r = this.averagesStmt.get({ from: p.fromMs, to: p.toMs }) as Record<string, number | null>;
    const round = (v: number | null, div = 1) => (v === null ? null : Math.round(v / div));
    return {
      sessions: r.sessions ?? 0,
      completed: r.completed ?? 0,
      totalEnergyWh: r.totalEnergyWh ?? 0,
      avgEnergyWh: round(r.avgEnergyWh ?? null),
      avgDurationS: round(r.avgDurationMs ?? null, 1000),
      avgChargingS: round(r.avgChargingMs ?? null, 1000),
    };
  }

  /** All views for one period, as GET /api/stats answers. */
  stationStats(p: StatsPeriod, connectors: number, nowMs = Infinity): StationStats {
    const timeZone = check(p);
    return {
      from: new Date(p.fromMs).toISOString(),
      to: new Date(p.toMs).toISOString(),
      timeZone,
      energyPerDay: this.energyPerDay(p),
      sessionsByHour: this.sessionsByHour(p),
      utilisation: this.utilisation(p, connectors, nowMs),
      averages: this.averages(p),
    };
  }
}

function nextDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}
