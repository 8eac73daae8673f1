import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StationStatsRepository } from '../../src/store/stats.js';
import { insertFixture, PERIOD } from './fixture.js';
import { startTestDaemon, type TestDaemon } from './helpers.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A plain request, nothing decoded (fetch would decompress gzip on its own). */
function raw(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const uplotDist = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

describe('dashboard routes (no token)', () => {
  let d: TestDaemon;
  let html: string;
  beforeAll(async () => {
    d = await startTestDaemon();
    html = (await raw(d.base, '/')).body.toString('utf8');
  });
  afterAll(() => d.close());

  it('serves the page at / with revalidation, an ETag and a strict CSP', async () => {
    const r = await raw(d.base, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers.etag).toMatch(/^"[A-Za-z0-9_-]{16}"$/);
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(html).toContain('<section id="connectors"');
    const again = await raw(d.base, '/', { 'if-none-match': String(r.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect((await raw(d.base, '/index.html')).body.toString('utf8')).toBe(html);
  });

  it('links every asset by content hash and serves it immutable with its content type', async () => {
    const links = [...html.matchAll(/"(\/dashboard\/[a-z.]+)\?v=([A-Za-z0-9_-]{16})"/g)].map((m) => ({ path: m[1]!, v: m[2]! }));
    expect(links.map((l) => l.path).sort()).toEqual(['/dashboard/app.js', '/dashboard/style.css', '/dashboard/uplot.css', '/dashboard/uplot.js']);
    for (const { path, v } of links) {
      const r = await raw(d.base, `${path}?v=${v}`);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toBe(path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(r.headers['cache-control'], path).toBe('public, max-age=31536000, immutable');
      expect(r.headers.etag, path).toBe(`"${v}"`);
      expect(Number(r.headers['content-length']), path).toBe(r.body.length);
      // An unversioned or outdated URL is revalidated, never cached for a year.
      expect((await raw(d.base, path)).headers['cache-control'], path).toBe('no-cache');
      expect((await raw(d.base, `${path}?v=old`)).headers['cache-control'], path).toBe('no-cache');
    }
  });

  it('serves uPlot from node_modules, gzipped when the client accepts it', async () => {
    const plain = await raw(d.base, '/dashboard/uplot.js');
    expect(plain.body.equals(readFileSync(join(uplotDist, 'uPlot.iife.min.js')))).toBe(true);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const gz = await raw(d.base, '/dashboard/uplot.js', { 'accept-encoding': 'gzip, deflate' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('Accept-Encoding');
    expect(gz.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
    expect(gz.headers.etag).not.toBe(plain.headers.etag);
    expect((await raw(d.base, '/dashboard/uplot.css')).body.equals(readFileSync(join(uplotDist, 'uPlot.min.css')))).toBe(true);
  });

  it('keeps the whole page small: under 130 kB before compression, 46 kB gzipped (raised from 40 kB for session details, the monthly report and the current control)', async () => {
    const paths = ['/', '/dashboard/app.js', '/dashboard/style.css', '/dashboard/uplot.js', '/dashboard/uplot.css'];
    let plain = 0;
    let gzipped = 0;
    for (const p of paths) {
      plain += (await raw(d.base, p)).body.length;
      gzipped += (await raw(d.base, p, { 'accept-encoding': 'gzip' })).body.length;
    }
    expect(plain).toBeLessThan(130_000);
    expect(gzipped).toBeLessThan(46_000);
  });

  it('answers HEAD without a body and refuses other methods on the page', async () => {
    const head = await raw(d.base, '/dashboard/app.js', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    const post = await raw(d.base, '/', {}, 'POST');
    expect(post.status).toBe(405);
  });

  it('GET /api/stats answers the SQL views of the store for the asked period and zone', async () => {
    insertFixture(d.daemon.db);
    const from = new Date(PERIOD.fromMs).toISOString();
    const to = new Date(PERIOD.toMs).toISOString();
    const got = await d.json(`/api/stats?from=${from}&to=${to}&tz=Europe/Berlin`);
    expect(got.connectors).toBe(1);
    expect(got.timeZone).toBe('Europe/Berlin');
    expect(got.from).toBe('2026-10-23T22:00:00.000Z');
    expect(got.energyPerDay).toEqual([
      { day: '2026-10-24', energyWh: 26000, sessions: 2 },
      { day: '2026-10-25', energyWh: 7400, sessions: 2 },
      { day: '2026-10-26', energyWh: 27500, sessions: 3 },
    ]);
    expect(got.averages.avgEnergyWh).toBe(9733);
    // The period lies in the past: utilisation over all of it, one connector here.
    expect(got.utilisation).toEqual({ capacityS: 262_800, occupiedS: 41_399, chargingS: 28_799, occupiedPercent: 15.8, chargingPercent: 11 });
    const { connectors: _c, ...rest } = got;
    expect(rest).toEqual(new StationStatsRepository(d.daemon.db).stationStats({ ...PERIOD, timeZone: 'Europe/Berlin' }, 1));
  });

  it('GET /api/stats takes bare dates as whole UTC days, the "to" day included', async () => {
    const got = await d.json('/api/stats?from=2026-10-24&to=2026-10-25');
    expect(got.from).toBe('2026-10-24T00:00:00.000Z');
    expect(got.to).toBe('2026-10-26T00:00:00.000Z');
    expect(got.energyPerDay).toEqual([
      { day: '2026-10-24', energyWh: 26000, sessions: 2 },
      { day: '2026-10-25', energyWh: 10400, sessions: 3 },
    ]);
  });

  it('GET /api/stats refuses bad input with a 400 that says what to send', async () => {
    const cases: [string, RegExp][] = [
      ['?from=yesterday', /from: not a date/],
      ['?from=2026-10-25&to=2026-10-01', /to: must be after from/],
      ['?tz=Mars/Olympus', /unknown time zone "Mars\/Olympus"/],
      ['?from=2020-01-01&to=2026-01-01', /at most 1000 days apart/],
    ];
    for (const [q, msg] of cases) {
      const r = await d.call(`/api/stats${q}`);
      expect(r.status, q).toBe(400);
      expect(((await r.json()) as { error: string }).error, q).toMatch(msg);
    }
  });
});

describe('dashboard routes with api.token', () => {
  const token = 'dashboard-test-token-0123';
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startTestDaemon({ token });
  });
  afterAll(() => d.close());

  it('serves the page and its assets without the token (they hold no data)', async () => {
    for (const p of ['/', '/dashboard/app.js', '/dashboard/style.css', '/dashboard/uplot.js', '/dashboard/uplot.css']) {
      expect((await raw(d.base, p)).status, p).toBe(200);
    }
  });

  it('keeps the data behind the token: stats, status, sessions, events', async () => {
    for (const p of ['/api/stats', '/api/status', '/api/sessions', '/api/sessions.csv', '/api/events', '/nope']) {
      expect((await raw(d.base, p)).status, p).toBe(401);
    }
    expect((await raw(d.base, '/api/stats', { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    expect((await raw(d.base, '/api/stats', { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await raw(d.base, `/api/sessions.csv?token=${token}`)).status).toBe(200);
  });
});

describe('CSV export (the dashboard\'s Export CSV link)', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startTestDaemon();
    // Three sessions a day for over a year: more than the JSON list's default page of 1000.
    const sessions = Array.from({ length: 1205 }, (_, i) => ({
      name: `s${i}`,
      start: new Date(Date.UTC(2025, 0, 1) + i * 8 * 3_600_000).toISOString(),
      durationMin: 90,
      chargingMin: 60,
      energyWh: 5000 + i,
    }));
    insertFixture(d.daemon.db, sessions);
  });
  afterAll(() => d.close());

  it('holds every session of the period, not just the first 1000', async () => {
    const lines = (await raw(d.base, '/api/sessions.csv?from=2025-01-01&to=2026-12-31')).body.toString('utf8').trim().split('\r\n');
    expect(lines.length - 1).toBe(1205);
    expect(lines.at(-1)).toContain('fixture-s1204');
    expect(((await (await fetch(`${d.base}/api/sessions?from=2025-01-01&to=2026-12-31`)).json()) as unknown[]).length).toBe(1000); // the JSON list is paged
    // An explicit limit still applies.
    expect((await raw(d.base, '/api/sessions.csv?from=2025-01-01&to=2026-12-31&limit=10')).body.toString('utf8').trim().split('\r\n').length - 1).toBe(10);
  });
});
