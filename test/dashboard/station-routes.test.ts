import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { report as reportCommand } from '../../src/cli/commands/report.js';
import { CURVE_POINTS } from '../../src/api/dashboard/station-routes.js';
import { startTestDaemon, type TestDaemon } from './helpers.js';
import { PAGE_TARIFF, SEED_MONTH, SEED_TAGS, SEEDED, seedMonth } from './station-fixture.js';

/** What `evsed report` writes for the test daemon's config. */
async function cli(d: TestDaemon, format: 'csv' | 'html', idTag?: string): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'evsed-report-'));
  try {
    const file = join(out, `report.${format}`);
    expect(await reportCommand({ month: SEED_MONTH, format, config: join(d.dir, 'evsed.yaml'), out: file, ...(idTag ? { idTag } : {}) })).toBe(0);
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

describe('station page routes', () => {
  let d: TestDaemon;
  let ids: number[];
  beforeAll(async () => {
    d = await startTestDaemon({ tariff: PAGE_TARIFF });
    ids = await seedMonth(d);
  });
  afterAll(() => d?.close());

  it('GET /api/report.csv is byte for byte what `evsed report` writes, also for one tag', async () => {
    const res = await d.call(`/api/report.csv?month=${SEED_MONTH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="CP-DASH-1-report-${SEED_MONTH}.csv"`);
    const csv = await res.text();
    expect(csv).toBe(await cli(d, 'csv'));
    expect(csv).toContain('Anna');
    expect(await (await d.call(`/api/report.csv?month=${SEED_MONTH}&idTag=${SEED_TAGS.unnamed.toLowerCase()}`)).text()).toBe(await cli(d, 'csv', SEED_TAGS.unnamed));
  });

  it('GET /api/report.html is the CLI page (but for the time it was made), under a CSP that allows its inline CSS only', async () => {
    const res = await d.call(`/api/report.html?month=${SEED_MONTH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; style-src 'unsafe-inline'/);
    const generated = /generated [^<]*</g;
    expect((await res.text()).replace(generated, '')).toBe((await cli(d, 'html')).replace(generated, ''));
  });

  it('GET /api/report gives the CSV figures per tag and in total', async () => {
    const r = await d.json(`/api/report?month=${SEED_MONTH}`);
    const csv = (await cli(d, 'csv')).trim().split('\r\n').map((l) => l.split(','));
    const header = csv[0]!;
    const col = (row: string[], name: string) => row[header.indexOf(name)];
    const tagRows = csv.filter((row) => row[0] === 'tag_total');
    expect(r.tags.map((t: any) => [t.idTag, t.name, String(t.sessions), t.text.energyKWh, t.text.net, t.text.tax, t.text.gross])).toEqual(
      tagRows.map((row) => [col(row, 'id_tag'), col(row, 'name') || null, col(row, 'sessions'), col(row, 'energy_kwh'), col(row, 'net'), col(row, 'tax'), col(row, 'gross')]),
    );
    const total = csv.find((row) => row[0] === 'total')!;
    expect([r.total.text.energyKWh, r.total.text.gross]).toEqual([col(total, 'energy_kwh'), col(total, 'gross')]);
    expect(r.total.energyWh).toBe(SEEDED.reduce((a, s) => a + s.energyWh, 0));
    expect(r.currency).toBe('EUR');
  });

  it('refuses a report without a month or with a malformed one, naming what to send', async () => {
    const none = await d.call('/api/report');
    expect(none.status).toBe(400);
    expect(((await none.json()) as any).error).toMatch(/month: .*YYYY-MM/);
    const bad = await d.call('/api/report.csv?month=2026-13');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toMatch(/YYYY-MM/);
  });

  it("GET /api/sessions/:id/samples gives the session's curve, cut down to max points", async () => {
    const id = ids[2]!; // 240 min: 241 samples
    const full = await d.json(`/api/sessions/${id}/samples`);
    expect(full.samples).toBe(241);
    expect(full.points).toHaveLength(241);
    const stored = d.daemon.sessions.samples(id);
    expect(full.points[0]).toEqual({ t: new Date(stored[0]!.wallMs).toISOString(), powerW: stored[0]!.powerW, energyWh: stored[0]!.energyWh });
    const cut = await d.json(`/api/sessions/${id}/samples?max=50`);
    expect(cut.samples).toBe(241);
    expect(cut.points.length).toBeLessThanOrEqual(50);
    expect(cut.points.at(-1)).toEqual(full.points.at(-1));
    for (const q of ['max=1', `max=${CURVE_POINTS.max + 1}`, 'max=ten']) expect((await d.call(`/api/sessions/${id}/samples?${q}`)).status).toBe(400);
    expect((await d.call('/api/sessions/999999/samples')).status).toBe(404);
  });

  it('GET /api/status carries what the current control may offer: 0, or 6 up to the connector rating', async () => {
    const st = await d.json('/api/status');
    expect(st.currentControl).toEqual([{ connectorId: 1, minA: 6, maxA: 32, apiLimitA: null }]);
    await d.post('/api/connectors/1/limit', { maxA: 10 });
    expect((await d.json('/api/status')).currentControl[0].apiLimitA).toBe(10);
    await d.post('/api/connectors/1/limit', { maxA: null });
  });
});
