import type { ServerResponse } from 'node:http';
import type { StationPort } from '../../evse/port.js';
import type { SessionStore } from '../../store/sessions.js';
import { buildMonthReport, renderCsv, renderHtml, ReportError, type MonthReport } from '../../billing/report.js';
import type { BillingLedger } from '../../billing/ledger.js';
import { formatKWh, formatMinor } from '../../domain/money.js';
import { MIN_CURRENT_A } from '../../domain/pwm.js';
import { HttpError, sendJson, type RouteRegistry } from '../http.js';
import { decimate } from './decimate.js';

export interface StationPageOptions {
  station: StationPort;
  sessions: Pick<SessionStore, 'get' | 'samples' | 'list'>;
  ledger: BillingLedger;
  stationId: string;
  /** The zone `evsed report` uses (the tariff's, else the system's): the page's report is the CLI's. */
  reportTimeZone: string;
  /** Tag names as `evsed report` reads them (config names, then the owner's). */
  reportNames: () => ReadonlyMap<string, string>;
  /** connectors[].maxCurrentA, the most the current control offers. */
  ratings: ReadonlyMap<number, number>;
}

/** Points a session's curve is cut down to by default, and at most (a chart is a few hundred pixels wide). */
export const CURVE_POINTS = { default: 600, max: 5000 } as const;

/**
 * The station page's own routes: a session's power curve (bounded), the monthly per-tag report
 * (JSON for the page, CSV and printable HTML exactly as `evsed report` writes them), and a status
 * section `currentControl` with what the page's current control may offer per connector.
 */
export function mountStationPage(api: RouteRegistry, o: StationPageOptions): void {
  o.station.registerStatus('currentControl', () =>
    o.station.connectorIds().map((id) => ({
      connectorId: id,
      minA: MIN_CURRENT_A,
      maxA: o.ratings.get(id) ?? null,
      // The page's own limit (the API's claim); other claims (MQTT, OCPP, timers) show in limitSource.
      apiLimitA: o.station.claims(id).find((c) => c.source === 'api')?.maxA ?? null,
    })),
  );

  api.route('GET', '/api/sessions/:id/samples', (_q, res, p, url) => {
    const id = Number(p.id);
    const s = Number.isInteger(id) ? o.sessions.get(id) : undefined;
    if (!s) throw new HttpError(404, `no session ${p.id}`);
    const raw = url.searchParams.get('max');
    const max = raw === null ? CURVE_POINTS.default : Number(raw);
    if (!Number.isInteger(max) || max < 2 || max > CURVE_POINTS.max) throw new HttpError(400, `max: must be a whole number of points from 2 to ${CURVE_POINTS.max}`);
    const all = o.sessions.samples(s.id);
    const points = decimate(all.map((x) => ({ wallMs: x.wallMs, powerW: x.powerW, energyWh: x.energyWh })), max);
    sendJson(res, 200, {
      sessionId: s.id,
      samples: all.length,
      points: points.map((x) => ({ t: new Date(x.wallMs).toISOString(), powerW: x.powerW, energyWh: x.energyWh })),
    });
  });

  const report = (url: URL): MonthReport => {
    const month = url.searchParams.get('month');
    if (!month) throw new HttpError(400, 'month: give the month as YYYY-MM, e.g. ?month=2026-11');
    try {
      return buildMonthReport(o.sessions, o.ledger, { month, timeZone: o.reportTimeZone, stationId: o.stationId, idTag: url.searchParams.get('idTag') || null, names: o.reportNames() });
    } catch (err) {
      if (err instanceof ReportError) throw new HttpError(400, err.message);
      throw err;
    }
  };

  api.route('GET', '/api/report', (_q, res, _p, url) => sendJson(res, 200, reportJson(report(url))));
  api.route('GET', '/api/report.csv', (_q, res, _p, url) => {
    const r = report(url);
    sendText(res, 'text/csv; charset=utf-8', renderCsv(r), `attachment; filename="${o.stationId}-report-${r.month}.csv"`);
  });
  api.route('GET', '/api/report.html', (_q, res, _p, url) => {
    const r = report(url);
    // The report is a self-contained page with inline CSS and no script: allow that and nothing else.
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    res.setHeader('Referrer-Policy', 'no-referrer');
    sendText(res, 'text/html; charset=utf-8', renderHtml(r, o.station.clock.wallMs()), null);
  });
}

function sendText(res: ServerResponse, type: string, body: string, disposition: string | null): void {
  res.writeHead(200, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': Buffer.byteLength(body),
    ...(disposition ? { 'Content-Disposition': disposition } : {}),
  });
  res.end(body);
}

/**
 * The report for the page: the integers, and beside each the text the CSV writes for it (energy
 * in kWh with three decimals, amounts in major units), so the page shows the CSV's own figures.
 */
export function reportJson(r: MonthReport) {
  const money = (v: number) => (r.currency === null ? null : formatMinor(v, r.exponent));
  const totals = (t: MonthReport['total']) => ({
    sessions: t.sessions,
    energyWh: t.energyWh,
    uncosted: t.uncosted,
    text: { energyKWh: formatKWh(t.energyWh), net: money(t.net), tax: money(t.tax), gross: money(t.gross) },
  });
  return {
    stationId: r.stationId,
    month: r.month,
    timeZone: r.timeZone,
    idTag: r.idTag,
    currency: r.currency,
    tags: r.tags.map((t) => ({ idTag: t.idTag, name: t.name, ...totals(t) })),
    total: totals(r.total),
    activeExcluded: r.activeExcluded,
  };
}
