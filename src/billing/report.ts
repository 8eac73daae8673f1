import type { SessionStore } from '../store/sessions.js';
import { idTagKey } from '../domain/tags.js';
import type { Tariff } from '../config/tariff.js';
import type { BillingLedger, StoredCost } from './ledger.js';
import { formatKWh, formatMinor, formatRate } from '../domain/money.js';
import { daysText } from './tariff.js';
import { localIso, localMidnight } from './zone.js';

/**
 * Monthly report per tag (driver / company car): energy, sessions, cost, and the sessions
 * themselves. Built from the store (completed sessions that started in the month, local time),
 * rendered as CSV (for spreadsheets) or a self-contained HTML page that prints on A4.
 */

export interface ReportSession {
  sessionId: number;
  uid: string;
  connectorId: number;
  idTag: string | null;
  startWallMs: number;
  stopWallMs: number;
  durationMs: number;
  energyWh: number;
  /** null when the session has no cost (no tariff when it started). */
  cost: StoredCost | null;
}

export interface TagTotal {
  idTag: string | null;
  name: string | null;
  sessions: number;
  energyWh: number;
  /** Sums over the sessions that have a cost. */
  net: number;
  tax: number;
  gross: number;
  uncosted: number;
}

export interface MonthReport {
  stationId: string;
  month: string;
  timeZone: string;
  fromMs: number;
  toMs: number;
  idTag: string | null;
  /** The one currency of the costed sessions, or null if none has a cost. */
  currency: string | null;
  exponent: number;
  tags: TagTotal[];
  total: Omit<TagTotal, 'idTag' | 'name'>;
  sessions: ReportSession[];
  /** Tariffs the month's sessions were priced with (distinct snapshots). */
  tariffs: Tariff[];
  /** Sessions of the month still running: not in the report. */
  activeExcluded: number;
  /** Costed sessions whose start or stop time was taken before the clock was synced. */
  unsyncedClock: number;
}

export class ReportError extends Error {}

export function monthRange(month: string, timeZone: string): { fromMs: number; toMs: number } {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) throw new ReportError(`month must be YYYY-MM, e.g. 2026-11 (got "${month}")`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  return { fromMs: localMidnight(y, mo, 1, timeZone), toMs: localMidnight(mo === 12 ? y + 1 : y, mo === 12 ? 1 : mo + 1, 1, timeZone) };
}

/** One key per tag, case folded as everywhere (null: sessions without a tag). */
function tagKey(idTag: string | null): string | null {
  return idTag === null ? null : idTagKey(idTag);
}

export function buildMonthReport(
  store: Pick<SessionStore, 'list'>,
  ledger: BillingLedger,
  opts: { month: string; timeZone: string; stationId: string; idTag?: string | null; names: ReadonlyMap<string, string> },
): MonthReport {
  const { fromMs, toMs } = monthRange(opts.month, opts.timeZone);
  const filter = { fromMs, toMs, order: 'asc' as const, ...(opts.idTag ? { idTag: opts.idTag } : {}) };
  const activeExcluded = store.list({ ...filter, status: 'active' }).length;
  const sessions: ReportSession[] = store.list({ ...filter, status: 'completed' }).map((s) => ({
    sessionId: s.id,
    uid: s.uid,
    connectorId: s.connectorId,
    idTag: s.idTag,
    startWallMs: s.startWallMs,
    stopWallMs: s.stopWallMs ?? s.startWallMs,
    durationMs: s.durationMs,
    energyWh: s.energyWh ?? 0,
    cost: ledger.costOf(s.id),
  }));

  const currencies = [...new Set(sessions.flatMap((s) => (s.cost ? [s.cost.currency] : [])))];
  if (currencies.length > 1) {
    throw new ReportError(`the sessions of ${opts.month} were priced in different currencies (${currencies.join(', ')}): totals cannot be added up`);
  }
  const first = sessions.find((s) => s.cost)?.cost;

  // Tags are case-insensitive: "car1" and "CAR1" are one driver, and a name given to either spelling names both.
  const names = new Map([...opts.names].map(([tag, name]) => [idTagKey(tag), name]));
  const byTag = new Map<string | null, TagTotal>();
  for (const s of sessions) {
    const key = tagKey(s.idTag);
    let t = byTag.get(key);
    if (!t) {
      t = { idTag: s.idTag, name: key === null ? null : (names.get(key) ?? null), sessions: 0, energyWh: 0, net: 0, tax: 0, gross: 0, uncosted: 0 };
      byTag.set(key, t);
    }
    add(t, s);
  }
  const tags = [...byTag.values()].sort((a, b) => (a.name ?? a.idTag ?? '').localeCompare(b.name ?? b.idTag ?? '') || (a.idTag ?? '').localeCompare(b.idTag ?? ''));
  const total = { sessions: 0, energyWh: 0, net: 0, tax: 0, gross: 0, uncosted: 0 };
  for (const s of sessions) add(total, s);

  const tariffs: Tariff[] = [];
  const seen = new Set<string>();
  for (const s of sessions) {
    const t = ledger.tariffOf(s.sessionId);
    const key = t && JSON.stringify(t);
    if (t && key && !seen.has(key)) (seen.add(key), tariffs.push(t));
  }

  return {
    stationId: opts.stationId,
    month: opts.month,
    timeZone: opts.timeZone,
    fromMs,
    toMs,
    idTag: opts.idTag ?? null,
    currency: first?.currency ?? null,
    exponent: first?.exponent ?? 2,
    tags,
    total,
    sessions,
    tariffs,
    activeExcluded,
    unsyncedClock: sessions.filter((s) => s.cost && !s.cost.clockSynced).length,
  };
}

function add(t: Omit<TagTotal, 'idTag' | 'name'>, s: ReportSession): void {
  t.sessions += 1;
  t.energyWh += s.energyWh;
  if (s.cost) {
    t.net += s.cost.net;
    t.tax += s.cost.tax;
    t.gross += s.cost.gross;
  } else t.uncosted += 1;
}

/** Minutes, rounded half up. */
function minutes(ms: number): number {
  return Math.floor((ms + 30_000) / 60_000);
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  // Tags and names come from outside: keep a spreadsheet from reading them as formulas.
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * CSV (RFC 4180, CRLF, comma, dot decimals; amounts in major units, energy in kWh, times local
 * ISO 8601 with offset). One table: a `session` row per session, a `tag_total` row per tag after
 * its sessions, and a final `total` row, so a spreadsheet filter on `record` gives either view.
 */
export function renderCsv(r: MonthReport): string {
  const money = (v: number | null) => (v === null || r.currency === null ? null : formatMinor(v, r.exponent));
  const header = ['record', 'id_tag', 'name', 'sessions', 'start', 'stop', 'duration_min', 'energy_kwh', 'net', 'tax', 'gross', 'currency', 'session_uid'];
  const rows: (string | number | null)[][] = [header];
  for (const t of r.tags) {
    for (const s of r.sessions.filter((x) => tagKey(x.idTag) === tagKey(t.idTag))) {
      rows.push([
        'session', s.idTag, t.name, 1, localIso(s.startWallMs, r.timeZone), localIso(s.stopWallMs, r.timeZone), minutes(s.durationMs),
        formatKWh(s.energyWh), s.cost ? money(s.cost.net) : null, s.cost ? money(s.cost.tax) : null, s.cost ? money(s.cost.gross) : null,
        s.cost ? s.cost.currency : null, s.uid,
      ]);
    }
    rows.push(['tag_total', t.idTag, t.name, t.sessions, null, null, null, formatKWh(t.energyWh), money(t.net), money(t.tax), money(t.gross), r.currency, null]);
  }
  const x = r.total;
  rows.push(['total', null, null, x.sessions, null, null, null, formatKWh(x.energyWh), money(x.net), money(x.tax), money(x.gross), r.currency, null]);
  return rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function monthTitle(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 15));
}

/** One line describing a tariff: "0.30 EUR/kWh; mon-fri 07:00-22:00 0.35 EUR/kWh; session 0.50 EUR; ...". */
export function describeTariff(t: Tariff): string {
  const c = t.currency;
  const parts = [`${formatRate(t.energyPerKWh, t.exponent)} ${c}/kWh`];
  for (const w of t.timeOfUse) parts.push(`${daysText(w.days)} ${w.from}-${w.to} ${formatRate(w.energyPerKWh, t.exponent)} ${c}/kWh`);
  if (t.sessionFee) parts.push(`session fee ${formatMinor(t.sessionFee, t.exponent)} ${c}`);
  if (t.parkingPerHour) parts.push(`parking ${formatRate(t.parkingPerHour, t.exponent)} ${c}/h`);
  if (t.idleFeePerMinute) parts.push(`idle ${formatRate(t.idleFeePerMinute, t.exponent)} ${c}/min after ${t.idleGraceMinutes} min`);
  parts.push(`tax ${formatMinor(t.taxBasisPoints, 2).replace(/\.?0+$/, '')} %`);
  return parts.join('; ');
}

/** A self-contained HTML page (inline CSS, no scripts, no external resources) that prints on A4. */
export function renderHtml(r: MonthReport, generatedAtMs: number): string {
  const cur = r.currency ?? '';
  const money = (v: number) => (r.currency === null ? '–' : formatMinor(v, r.exponent));
  const date = (ms: number) => localIso(ms, r.timeZone).slice(0, 10);
  const time = (ms: number) => localIso(ms, r.timeZone).slice(11, 16);
  const dur = (ms: number) => {
    const m = minutes(ms);
    return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}`;
  };
  const who = (t: { idTag: string | null; name: string | null }) => esc(t.name ?? t.idTag ?? '(no tag)');
  const nameOf = new Map(r.tags.map((t) => [tagKey(t.idTag), t]));

  const tagRows = r.tags
    .map(
      (t) => `<tr><td>${who(t)}</td><td class="tag">${esc(t.idTag ?? '')}</td><td class="n">${t.sessions}</td><td class="n">${formatKWh(t.energyWh)}</td>` +
        `<td class="n">${money(t.net)}</td><td class="n">${money(t.tax)}</td><td class="n">${money(t.gross)}</td></tr>`,
    )
    .join('\n');
  const detailRows = r.sessions
    .map((s) => {
      const t = nameOf.get(tagKey(s.idTag))!;
      return `<tr><td>${date(s.startWallMs)}</td><td>${time(s.startWallMs)}–${time(s.stopWallMs)}</td><td class="n">${dur(s.durationMs)}</td><td>${who(t)}</td>` +
        `<td class="n">${formatKWh(s.energyWh)}</td><td class="n">${s.cost ? money(s.cost.net) : '–'}</td><td class="n">${s.cost ? money(s.cost.gross) : '–'}</td></tr>`;
    })
    .join('\n');
  const notes: string[] = [];
  notes.push(`Times are local (${esc(r.timeZone)}); a session belongs to the month in which it started. Energy is the difference of the station meter's register readings at start and stop.`);
  if (r.tariffs.length) notes.push(`Prices (net): ${r.tariffs.map((t) => esc(describeTariff(t))).join(' — then: ')}. Rounded half up per item; tax on the rounded net.`);
  if (r.total.uncosted) notes.push(`${r.total.uncosted} session(s) had no tariff when they started and carry no cost.`);
  if (r.activeExcluded) notes.push(`${r.activeExcluded} session(s) still running are not included.`);
  if (r.unsyncedClock) notes.push(`${r.unsyncedClock} session(s) started or stopped before the station clock was synchronised; their time-of-use split may be off.`);

  const title = `Charging report ${monthTitle(r.month)}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} – ${esc(r.stationId)}</title>
<style>
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 9.5pt/1.35 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #111; margin: 0 auto; max-width: 186mm; padding: 8mm 0; }
@media print { body { padding: 0; max-width: none; } }
h1 { font-size: 15pt; margin: 0 0 1mm; }
h2 { font-size: 10.5pt; margin: 5mm 0 1.5mm; }
.meta { color: #444; margin: 0 0 3mm; }
table { width: 100%; border-collapse: collapse; }
th, td { padding: 0.8mm 1.5mm; text-align: left; border-bottom: 0.2mm solid #ccc; vertical-align: top; }
th { font-weight: 600; border-bottom: 0.4mm solid #111; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.tag { color: #555; font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; }
tfoot td { font-weight: 700; border-top: 0.4mm solid #111; border-bottom: none; }
.detail td, .detail th { font-size: 8pt; line-height: 1.2; padding: 0.35mm 1.5mm; }
tr { break-inside: avoid; }
.notes { color: #444; font-size: 8pt; margin-top: 4mm; }
.notes p { margin: 0 0 1mm; }
.sign { display: flex; gap: 12mm; margin-top: 9mm; }
.sign div { flex: 1; border-top: 0.2mm solid #111; padding-top: 1mm; font-size: 8pt; color: #444; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">Station ${esc(r.stationId)} · ${date(r.fromMs)} to ${date(r.toMs - 1)}${r.idTag ? ` · tag ${esc(r.idTag)}` : ''} · amounts in ${esc(cur || 'no currency')} · generated ${esc(localIso(generatedAtMs, r.timeZone).replace('T', ' ').slice(0, 16))}</p>

<h2>Per driver / vehicle</h2>
<table class="summary">
<thead><tr><th>Name</th><th>Tag</th><th class="n">Sessions</th><th class="n">Energy kWh</th><th class="n">Net</th><th class="n">Tax</th><th class="n">Total</th></tr></thead>
<tbody>
${tagRows || '<tr><td colspan="7">No completed sessions in this month.</td></tr>'}
</tbody>
<tfoot><tr><td>Total</td><td></td><td class="n">${r.total.sessions}</td><td class="n">${formatKWh(r.total.energyWh)}</td><td class="n">${money(r.total.net)}</td><td class="n">${money(r.total.tax)}</td><td class="n">${money(r.total.gross)}</td></tr></tfoot>
</table>

<h2>Sessions</h2>
<table class="detail">
<thead><tr><th>Date</th><th>Time</th><th class="n">Duration</th><th>Name</th><th class="n">Energy kWh</th><th class="n">Net</th><th class="n">Total</th></tr></thead>
<tbody>
${detailRows}
</tbody>
</table>

<div class="notes">${notes.map((n) => `<p>${n}</p>`).join('')}</div>
<div class="sign"><div>Date, signature (driver)</div><div>Date, signature (approved)</div></div>
</body>
</html>
`;
}
