import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { StationPort } from '../../evse/port.js';
import { parseDate } from '../../store/export.js';
import { checkTimeZone, MAX_DAYS, type StationStats, type StationStatsRepository } from '../../store/stats.js';
import { HttpError, sendJson, type RouteRegistry } from '../http.js';

/** A file held in memory: small, served many times from a Pi. */
export interface Asset {
  /** URL path. */
  path: string;
  type: string;
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
  /** index.html is revalidated on every load; the rest is addressed by content hash (?v=). */
  immutable: boolean;
}

const PAGE_FILES = { 'app.js': 'text/javascript; charset=utf-8', 'style.css': 'text/css; charset=utf-8' } as const;
const UPLOT_FILES = { 'uPlot.iife.min.js': 'uplot.js', 'uPlot.min.css': 'uplot.css' } as const;

/**
 * Nothing but this origin: the page runs offline on the LAN. uPlot positions elements through the
 * CSSOM (element.style), which style-src does not restrict.
 */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The page's files: next to this module when running from source; from the source tree when
 * running from dist (tsc does not copy non-TS files).
 */
export function dashboardDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'public'), join(here, '..', '..', '..', '..', 'src', 'api', 'dashboard', 'public')];
  const dir = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!dir) throw new Error(`dashboard files not found (looked in ${candidates.join(', ')})`);
  return dir;
}

function uplotDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
}

function asset(path: string, type: string, body: Buffer, immutable: boolean): Asset {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  const gz = gzipSync(body, { level: 9 });
  return { path, type, body, gzip: gz.length < body.length ? gz : null, etag: hash, immutable };
}

/** Reads the page, its script and style and uPlot; index.html gets each file's hash as ?v= so browsers cache them for good. */
export function loadAssets(dir = dashboardDir()): Asset[] {
  const files: Asset[] = [];
  for (const [name, type] of Object.entries(PAGE_FILES)) files.push(asset(`/dashboard/${name}`, type, readFileSync(join(dir, name)), true));
  const up = uplotDir();
  for (const [file, name] of Object.entries(UPLOT_FILES)) {
    files.push(asset(`/dashboard/${name}`, name.endsWith('.js') ? PAGE_FILES['app.js'] : PAGE_FILES['style.css'], readFileSync(join(up, file)), true));
  }
  const version = new Map(files.map((a) => [a.path, a.etag]));
  const html = readFileSync(join(dir, 'index.html'), 'utf8').replace(/(["'])(\/dashboard\/[a-z.]+)\1/g, (m, q: string, p: string) =>
    version.has(p) ? `${q}${p}?v=${version.get(p)}${q}` : m,
  );
  files.unshift(asset('/', 'text/html; charset=utf-8', Buffer.from(html), false));
  return files;
}

export function serveAsset(a: Asset, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const gzip = a.gzip !== null && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const etag = `"${a.etag}${gzip ? '-gz' : ''}"`;
  // Long caching only for the exact version index.html links; any other URL revalidates.
  const cache = a.immutable && url.searchParams.get('v') === a.etag ? 'public, max-age=31536000, immutable' : 'no-cache';
  const headers: Record<string, string | number> = {
    'Content-Type': a.type,
    'Cache-Control': cache,
    ETag: etag,
    Vary: 'Accept-Encoding',
    'X-Content-Type-Options': 'nosniff',
  };
  if (a.path === '/') {
    headers['Content-Security-Policy'] = CSP;
    headers['Referrer-Policy'] = 'no-referrer';
  }
  const inm = String(req.headers['if-none-match'] ?? '');
  if (inm.split(/\s*,\s*/).some((t) => t === etag || t === `W/${etag}` || t === '*')) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = gzip ? a.gzip! : a.body;
  if (gzip) headers['Content-Encoding'] = 'gzip';
  headers['Content-Length'] = body.length;
  res.writeHead(200, headers);
  res.end(body);
}

/** Parses GET /api/stats?from&to&tz; defaults: the last 30 days up to now, UTC. */
export function statsQuery(url: URL, nowMs: number): { fromMs: number; toMs: number; timeZone: string } {
  const q = url.searchParams;
  try {
    const toMs = q.get('to') ? parseDate(q.get('to')!, 'to', true) : nowMs;
    const fromMs = q.get('from') ? parseDate(q.get('from')!, 'from') : toMs - 30 * 86_400_000;
    if (toMs <= fromMs) throw new Error('to: must be after from');
    if (toMs - fromMs > MAX_DAYS * 86_400_000) throw new Error(`from, to: at most ${MAX_DAYS} days apart (ask for less, or export the sessions as CSV)`);
    return { fromMs, toMs, timeZone: checkTimeZone(q.get('tz') || 'UTC') };
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
}

/**
 * Serves the local dashboard at `/` (public: the page holds no data and asks for api.token itself)
 * and GET /api/stats (behind the token like the rest of the API).
 */
export function mountDashboard(api: RouteRegistry, station: StationPort, stats: StationStatsRepository): void {
  let assets: Asset[];
  try {
    assets = loadAssets();
  } catch (err) {
    const message = `dashboard unavailable: ${(err as Error).message}`;
    api.route('GET', '/', () => {
      throw new HttpError(503, message);
    }, { public: true });
    assets = [];
  }
  for (const a of assets) {
    api.route('GET', a.path, (req, res, _p, url) => serveAsset(a, req, res, url), { public: true });
    if (a.path === '/') api.route('GET', '/index.html', (req, res, _p, url) => serveAsset(a, req, res, url), { public: true });
  }

  api.route('GET', '/api/stats', async (_req, res, _p, url) => {
    const now = station.clock.wallMs();
    const period = statsQuery(url, now);
    const connectors = station.connectorIds().length;
    // Each query blocks the loop while it runs; let the control loop in between them.
    const turn = () => new Promise<void>((r) => setImmediate(r));
    const energy = stats.energyPerDay(period);
    await turn();
    const hours = stats.sessionsByHour(period);
    await turn();
    const use = stats.utilisation(period, connectors, now);
    await turn();
    const avg = stats.averages(period);
    const body: StationStats = {
      from: new Date(period.fromMs).toISOString(),
      to: new Date(period.toMs).toISOString(),
      timeZone: period.timeZone,
      energyPerDay: energy,
      sessionsByHour: hours,
      utilisation: use,
      averages: avg,
    };
    sendJson(res, 200, { ...body, connectors });
  });
}
