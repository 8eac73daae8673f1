import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { insertFixtureIds, type FixtureSession } from './fixture.js';
import { CHROMIUM, CHROMIUM_ARGS as ARGS, startTestDaemon, TAG, until, type TestDaemon } from './helpers.js';

const OUT = join(process.cwd(), 'test-output');

/** data-value of a connector card field, as a number (or null when absent). */
async function field(page: Page, name: string, connector = 1): Promise<number | null> {
  const v = await page.locator(`article[data-connector="${connector}"] [data-field="${name}"]`).getAttribute('data-value');
  return v === null ? null : Number(v);
}

/**
 * Both dates of the period at once. Filled one after the other, a refresh the page makes meanwhile
 * (its 15 s status poll, an event) asks for the half-changed period, e.g. 2020-01-01 to today: more
 * than the 1000 days /api/stats serves, a 400 in the console.
 */
async function setPeriod(page: Page, from: string, to: string): Promise<void> {
  await page.evaluate(([f, t]) => {
    const doc = (globalThis as any).document;
    for (const [id, value] of [['from', f], ['to', t]]) {
      const input = doc.getElementById(id);
      input.value = value;
      input.dispatchEvent(new (globalThis as any).Event('input', { bubbles: true }));
    }
  }, [from, to]);
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).textContent())?.trim() ?? '';
}

const TARIFF = '{ currency: EUR, energyPerKWh: 0.30, sessionFee: 0.50, taxPercent: 19, timeZone: Europe/Berlin }';

/**
 * Seeded sessions priced as the station prices its own: the tariff snapshot a session start
 * stores, then the ledger's final cost from it (as after a clock sync).
 */
function priceFixture(d: TestDaemon, ids: number[]): void {
  const snapshot = d.daemon.db.prepare('INSERT INTO billing_session_tariffs (session_id, tariff_json, snapshot_wall_ms) VALUES (?, ?, ?)');
  for (const id of ids) {
    snapshot.run(id, JSON.stringify(d.config.tariff), d.daemon.sessions.get(id)!.startWallMs);
    expect(d.daemon.ledger.recompute(id)).not.toBeNull();
  }
}

const en2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const en3 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 3, maximumFractionDigits: 3 });

/** Three weeks of completed sessions before `nowMs`: evenings and mornings, a few days without. */
function seededMonth(nowMs: number): FixtureSession[] {
  const out: FixtureSession[] = [];
  const today = new Date(nowMs);
  for (let i = 1; i <= 21; i++) {
    const hours = i % 3 === 0 ? [6, 17] : i % 3 === 1 ? [18] : i % 7 === 2 ? [] : [16, 20];
    for (const h of hours) {
      const energyWh = 4000 + ((i * 7919 + h * 131) % 26000);
      const chargingMin = Math.round((energyWh / 11040) * 60);
      out.push({
        name: `seed-${i}-${h}`,
        start: new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i, h, (i * 13) % 60)).toISOString(),
        durationMin: chargingMin + 20 + ((i * 37) % 300),
        chargingMin,
        energyWh,
      });
    }
  }
  return out;
}

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`SKIPPED: chromium not installed (${CHROMIUM}): the dashboard browser tests did not run (apt-get install chromium)`);

describe.skipIf(!hasChromium)('dashboard in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(() => browser?.close());
  // Contexts close before their daemon does, also when a test fails.
  const contexts: BrowserContext[] = [];
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
  });

  async function open(
    d: TestDaemon,
    opts: { viewport?: { width: number; height: number }; before?: (page: Page) => Promise<void> } = {},
  ): Promise<{ ctx: BrowserContext; page: Page; problems: string[] }> {
    const ctx = await browser.newContext({ locale: 'en-US', timezoneId: 'Europe/Berlin', viewport: opts.viewport ?? { width: 1280, height: 900 }, acceptDownloads: true });
    contexts.push(ctx);
    const page = await ctx.newPage();
    await opts.before?.(page);
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    // Nothing may leave the station: every request goes to the daemon.
    page.on('request', (r) => {
      if (!r.url().startsWith(d.base) && !r.url().startsWith('data:')) problems.push(`request outside the station: ${r.url()}`);
    });
    await page.goto(`${d.base}/`);
    return { ctx, page, problems };
  }

  describe('a simulated session', () => {
    let d: TestDaemon;
    beforeAll(async () => {
      d = await startTestDaemon();
    });
    afterAll(() => d?.close());

    it('appears live with the numbers of the API, lands in the history and the CSV export', async () => {
      const { page, problems } = await open(d);
      const card = page.locator('article[data-connector="1"]');
      await card.waitFor();
      await until('the event stream', async () => ((await page.locator('#link').getAttribute('data-state')) === 'live' ? true : undefined));
      expect(await text(page, 'article[data-connector="1"] [data-field="status"]')).toBe('Available');
      expect(await text(page, '#station')).toBe('CP-DASH-1');

      await d.post('/api/connectors/1/sim', { action: 'plug' });
      await d.post('/api/connectors/1/tag', { idTag: TAG });
      await d.post('/api/connectors/1/sim', { action: 'ev-ready' });
      await until('Charging on the page', async () => ((await field(page, 'sessionId')) !== null && (await text(page, 'article[data-connector="1"] [data-field="status"]')) === 'Charging' ? true : undefined));

      // Live numbers equal to /api/status (read together between two meter polls; retried until they are).
      const live = await until('page numbers equal to /api/status, with energy flowing', async () => {
        const api = (await d.json('/api/status')).connectors[0];
        const page_ = {
          powerW: await field(page, 'powerW'),
          registerWh: await field(page, 'registerWh'),
          sessionEnergyWh: await field(page, 'sessionEnergyWh'),
          sessionId: await field(page, 'sessionId'),
        };
        const want = { powerW: api.meter.powerW, registerWh: api.meter.energyWh, sessionEnergyWh: api.session?.energyWh, sessionId: api.session?.id };
        return JSON.stringify(page_) === JSON.stringify(want) && want.sessionEnergyWh > 0 ? want : undefined;
      });
      expect(live.powerW).toBe(16 * 3 * 230);
      expect(await text(page, 'article[data-connector="1"] [data-field="powerW"]')).toBe(`${en2.format(live.powerW / 1000)} kW`);
      const shown = await field(page, 'registerWh');
      expect(await text(page, 'article[data-connector="1"] [data-field="registerWh"]')).toBe(`${en3.format(shown! / 1000)} kWh`);
      // The tag with its name (the config's, as the session list carries it) once the history has loaded.
      await until('the tag with its name', async () => ((await text(page, 'article[data-connector="1"] [data-field="idTag"]')) === `Test driver (${TAG})` ? true : undefined));
      // The running session's duration counts up on the page.
      await until('a running duration', async () => ((await text(page, 'article[data-connector="1"] [data-field="durationS"]')) >= '0:00:02' ? true : undefined));
      // No tariff here: no cost row. Time to finish as the API says it (no target: an honest "unknown"), hidden if it says nothing.
      const apiSession = (await d.json('/api/status')).connectors[0].session;
      expect(apiSession.cost ?? null).toBe(null);
      expect(await card.locator('[data-field="cost"]').isHidden()).toBe(true);
      if ('etaS' in apiSession) {
        expect(apiSession.etaS).toBe(null);
        expect(await text(page, 'article[data-connector="1"] [data-field="eta"]')).toBe('unknown');
      } else {
        expect(await card.locator('[data-field="eta"]').isHidden()).toBe(true);
      }
      expect(await card.locator('[data-field="soc"]').isHidden()).toBe(typeof apiSession.socPercent !== 'number');

      // Power curve: stored samples of the session plus live ones, drawn by uPlot.
      const curve = await until('a power curve with live points', async () => {
        const c = await page.evaluate(() => {
          // eslint-disable-next-line no-undef
          const x = (globalThis as any).eval('state.curves.get(1)');
          return x ? { sessionId: x.sessionId, n: x.xs.length, last: x.ys[x.ys.length - 1] } : null;
        });
        return c && c.n >= 3 ? c : undefined;
      });
      expect(curve).toEqual({ sessionId: live.sessionId, n: curve.n, last: live.powerW / 1000 });
      await expect(card.locator('[data-field="curve"] canvas').count()).resolves.toBeGreaterThan(0);
      // A curve of one point spans the minute around it (uPlot alone makes that axis 1000 days wide);
      // a short one at least a minute from its start.
      const xRange = (xs: number[]) =>
        page.evaluate((xs) => (globalThis as any).eval(`(async () => {
          state.curves.set(99, { sessionId: 0, xs: ${JSON.stringify(xs)}, ys: ${JSON.stringify(xs.map(() => 11))}, plot: null, finished: true });
          drawCurve(99);
          const p = state.curves.get(99).plot;
          await new Promise((r) => setTimeout(r, 50)); // uPlot sets its scales after the current task
          const r = [p.scales.x.min, p.scales.x.max];
          p.destroy();
          state.curves.delete(99);
          document.querySelector('article[data-connector="99"]').remove();
          return r;
        })()`) as Promise<[number, number]>, xs);
      expect(await xRange([1_800_000_000])).toEqual([1_800_000_000 - 30, 1_800_000_000 + 30]);
      expect(await xRange([1_800_000_000, 1_800_000_010])).toEqual([1_800_000_000, 1_800_000_060]);
      expect(await xRange([1_800_000_000, 1_800_003_600])).toEqual([1_800_000_000, 1_800_003_600]);
      await page.screenshot({ path: join(OUT, 'session-live.png'), fullPage: true });

      // Stop; the history shows the session with the energy the API stored.
      await d.post('/api/connectors/1/stop');
      const done = await until('the session completed', async () => {
        const s = await d.json(`/api/sessions/${live.sessionId}`);
        return s.status === 'completed' ? s : undefined;
      });
      const row = page.locator(`#sessions tr[data-session-id="${live.sessionId}"]`);
      await row.waitFor();
      await until('the final energy in the history row', async () =>
        Number(await row.locator('td.num').first().getAttribute('data-value')) === done.energyWh ? true : undefined,
      );
      // The history names the tag (the raw id on hover).
      expect(await row.locator('td').nth(2).textContent()).toBe('Test driver');
      expect(await row.locator('td').nth(2).getAttribute('title')).toBe(TAG);
      expect(done.energyWh).toBeGreaterThan(0);
      await until('the live session block gone', async () => ((await card.locator('[data-field="session"]').isHidden()) ? true : undefined));
      expect(await text(page, 'article[data-connector="1"] [data-field="curveTitle"]')).toBe(`Power, session #${live.sessionId} (finished)`);

      // Operator views follow: one session with its energy.
      await until('operator views updated', async () => (Number(await page.locator('[data-stat="sessions"]').getAttribute('data-value')) === 1 ? true : undefined));
      expect(Number(await page.locator('[data-stat="totalEnergyWh"]').getAttribute('data-value'))).toBe(done.energyWh);
      expect(Number(await page.locator('[data-stat="avgEnergyWh"]').getAttribute('data-value'))).toBe(done.energyWh);

      // CSV export: the link downloads a CSV holding that session.
      const href = await page.locator('#csv').getAttribute('href');
      expect(href).toMatch(/^\/api\/sessions\.csv\?from=.+&to=.+$/);
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv').click()]);
      expect(download.suggestedFilename()).toBe('CP-DASH-1-sessions.csv');
      const csv = readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
      const header = csv[0]!.split(',');
      const rows = csv.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
      const mine = rows.find((r) => r.id === String(live.sessionId));
      expect(mine).toMatchObject({ idTag: TAG, status: 'completed', energyWh: String(done.energyWh), stopReason: 'Local' });

      // A period without it: the table empties and the export link follows the dates.
      await setPeriod(page, '2020-01-01', '2020-01-31');
      await page.locator('#period button[type="submit"]').click();
      await until('an empty period', async () => ((await text(page, '#sessions-note')) === 'No sessions in this period.' ? true : undefined));
      expect(await page.locator('#sessions tr').count()).toBe(0);
      // Local days of the browser (Europe/Berlin), sent as instants.
      expect(await page.locator('#csv').getAttribute('href')).toBe('/api/sessions.csv?from=2019-12-31T23%3A00%3A00.000Z&to=2020-01-31T23%3A00%3A00.000Z');

      await setPeriod(page, new Date().toISOString().slice(0, 8) + '01', new Date(Date.now() + 86_400_000).toISOString().slice(0, 10));
      await page.locator('#period button[type="submit"]').click();
      await row.waitFor();
      await page.screenshot({ path: join(OUT, 'session-stopped.png'), fullPage: true });

      expect(problems).toEqual([]);
    }, 90_000);
  });

  describe('operator views, cost and time to finish (the README screenshots)', () => {
    let d: TestDaemon;
    beforeAll(async () => {
      d = await startTestDaemon({ tariff: TARIFF });
      priceFixture(d, insertFixtureIds(d.daemon.db, seededMonth(Date.now())));
    });
    afterAll(() => d?.close());

    it('draws the /api/stats answer, and the cost and time to finish the station computes with a real tariff and target', async () => {
      let stats: any;
      const { page, problems } = await open(d, {
        before: async (p) => {
          p.on('response', async (r) => {
            if (new URL(r.url()).pathname === '/api/stats') stats = await r.json();
          });
        },
      });
      await until('the stats the page asked for', async () => stats);
      const bars = page.locator('#chart-days rect');
      await until('the day bars', async () => ((await bars.count()) === stats.energyPerDay.length ? true : undefined));
      const heights = await bars.evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('height'))));
      const energies = stats.energyPerDay.map((x: any) => x.energyWh);
      expect(heights.map((h) => h > 0)).toEqual(energies.map((e: number) => e > 0));
      expect(heights.indexOf(Math.max(...heights))).toBe(energies.indexOf(Math.max(...energies)));
      const hourHeights = await page.locator('#chart-hours rect').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('height'))));
      expect(hourHeights.map((h) => h > 0)).toEqual(stats.sessionsByHour.map((x: any) => x.sessions > 0));
      const stat = async (name: string) => Number(await page.locator(`[data-stat="${name}"]`).getAttribute('data-value'));
      expect(await stat('occupiedPercent')).toBe(stats.utilisation.occupiedPercent);
      expect(await stat('chargingPercent')).toBe(stats.utilisation.chargingPercent);
      expect(await stat('sessions')).toBe(stats.averages.sessions);
      expect(await stat('avgEnergyWh')).toBe(stats.averages.avgEnergyWh);
      expect(stats.averages.sessions).toBeGreaterThan(10);
      expect(await text(page, '[data-stat="occupiedPercent"]')).toBe(`${stats.utilisation.occupiedPercent} %`);

      // The history's cost column: each seeded session's cost as the ledger stored it.
      await page.locator('#sessions tr').first().waitFor();
      expect(await page.locator('#history th.cost-col').isVisible()).toBe(true);
      const rows = (await d.json('/api/sessions?limit=200')) as any[];
      expect(rows.length).toBeGreaterThan(10);
      for (const r of rows.slice(0, 5)) {
        expect(r.costTotal).toMatch(/^\d+\.\d\d$/);
        expect(await page.locator(`#sessions tr[data-session-id="${r.id}"] td.cost-col`).textContent()).toBe(`€${r.costTotal}`);
      }

      // A live session with a real energy target and steps in the current limit, for a curve worth looking at.
      await d.post('/api/connectors/1/sim', { action: 'plug' });
      await d.post('/api/connectors/1/tag', { idTag: TAG });
      await d.post('/api/connectors/1/sim', { action: 'ev-ready' });
      await d.post('/api/connectors/1/target', { energyWh: 50_000 });
      const points = async () => page.evaluate(() => (globalThis as any).eval('state.curves.get(1)?.xs.length ?? 0') as number);
      for (const maxA of [16, 10, null]) {
        if (maxA !== 16) await d.post('/api/connectors/1/limit', { maxA });
        // The EV draws what the PWM duty cycle allows (e.g. 10 A offered -> 9.96 A drawn): compare within 2 %, and to the API exactly.
        const want = (maxA ?? 16) * 3 * 230;
        await until(`about ${want} W on the page`, async () => {
          const api = (await d.json('/api/status')).connectors[0].meter.powerW;
          return Math.abs(api - want) < want * 0.02 && (await field(page, 'powerW')) === api ? true : undefined;
        });
        const n = await points();
        await until('more curve points', async () => ((await points()) >= n + 3 ? true : undefined));
      }
      // Cost and time to finish come with the status poll, are those of /api/status, and stay through SSE updates.
      const card = page.locator('article[data-connector="1"]');
      const seen = await until('cost and time to finish equal to /api/status', async () => {
        await page.evaluate(() => (globalThis as any).eval('loadStatus()'));
        const s = (await d.json('/api/status')).connectors[0].session;
        return s.cost && typeof s.etaS === 'number' && s.etaS > 0 && (await field(page, 'cost')) === s.cost.grossMinor && (await field(page, 'eta')) === s.etaS ? s : undefined;
      }, 30_000);
      expect(seen.target).toEqual({ energyWh: 50_000, socPercent: null, mode: 'estimate' });
      const minor = seen.cost.grossMinor as number;
      const costText = `€${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
      expect(await text(page, 'article[data-connector="1"] [data-field="cost"]')).toBe(costText);
      // The estimate from the API, counting down on the page since it arrived.
      const [h, m, sec] = (await text(page, 'article[data-connector="1"] [data-field="eta"]')).split(':').map(Number) as [number, number, number];
      expect(h * 3600 + m * 60 + sec).toBeLessThanOrEqual(seen.etaS);
      expect(h * 3600 + m * 60 + sec).toBeGreaterThan(seen.etaS - 60);
      const n = await points();
      await until('more samples over SSE', async () => ((await points()) >= n + 2 ? true : undefined));
      expect(await card.locator('[data-field="cost"]').isVisible()).toBe(true);
      expect(await field(page, 'cost')).toBe(minor);

      // The running session's history row counts on with the card.
      const running = page.locator(`#sessions tr[data-session-id="${seen.id}"]`);
      await until('the running row following the card', async () => {
        const row = await running.locator('td.duration').textContent();
        return row !== null && row >= '0:00:10' && row === (await text(page, 'article[data-connector="1"] [data-field="durationS"]')) ? true : undefined;
      });

      await page.screenshot({ path: join(OUT, 'dashboard-desktop.png'), fullPage: true });
      const phone = await browser.newContext({ locale: 'en-US', timezoneId: 'Europe/Berlin', viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
      contexts.push(phone);
      const p2 = await phone.newPage();
      await p2.goto(`${d.base}/`);
      await p2.locator('article[data-connector="1"] [data-field="curve"] canvas').waitFor();
      await p2.locator('#chart-days rect:not([height="0"])').first().waitFor();
      await p2.locator('article[data-connector="1"] [data-field="eta"]:not([hidden])').waitFor();
      await p2.screenshot({ path: join(OUT, 'dashboard-phone.png') });

      expect(problems).toEqual([]);
    }, 90_000);
  });

  describe('history filters', () => {
    let d: TestDaemon;
    let seeded: { id: number; connectorId: number; idTag: string }[];
    beforeAll(async () => {
      d = await startTestDaemon({ connectors: 2 });
      const day = Date.now() - 2 * 86_400_000;
      const at = (h: number) => new Date(day + h * 3_600_000).toISOString();
      const sessions = [
        { name: 'a', start: at(0), durationMin: 60, chargingMin: 50, energyWh: 9000, connectorId: 1, idTag: 'CAR-A' },
        { name: 'b', start: at(2), durationMin: 60, chargingMin: 50, energyWh: 8000, connectorId: 2, idTag: 'CAR-A' },
        { name: 'c', start: at(4), durationMin: 60, chargingMin: 50, energyWh: 7000, connectorId: 2, idTag: 'CAR-B' },
        { name: 'd', start: at(6), durationMin: 60, chargingMin: 50, energyWh: 6000, connectorId: 1, idTag: 'CAR-B' },
      ];
      const ids = insertFixtureIds(d.daemon.db, sessions);
      seeded = sessions.map((x, i) => ({ id: ids[i]!, connectorId: x.connectorId, idTag: x.idTag }));
    });
    afterAll(() => d?.close());

    it('narrow the history and the CSV export to a connector and a tag', async () => {
      const asked: string[] = [];
      const { page, problems } = await open(d, {
        before: async (p) => {
          p.on('request', (r) => {
            const u = new URL(r.url());
            if (u.pathname === '/api/sessions') asked.push(u.search);
          });
        },
      });
      const shownIds = async () => (await page.locator('#sessions tr').evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-session-id'))))).sort((a, b) => a - b);
      const want = (f: (x: (typeof seeded)[number]) => boolean) => seeded.filter(f).map((x) => x.id).sort((a, b) => a - b);
      await until('every seeded session', async () => (JSON.stringify(await shownIds()) === JSON.stringify(want(() => true)) ? true : undefined));
      expect(await page.locator('#connector-filter').isVisible()).toBe(true);
      expect(await page.locator('#connector option').evaluateAll((os) => os.map((o) => o.getAttribute('value')))).toEqual(['', '1', '2']);
      expect(await page.locator('#known-tags option').evaluateAll((os) => os.map((o) => o.getAttribute('value')).sort())).toEqual(['CAR-A', 'CAR-B']);

      const show = async (expected: number[]) => {
        await page.locator('#period button[type="submit"]').click();
        await until(`sessions ${expected.join(', ')}`, async () => (JSON.stringify(await shownIds()) === JSON.stringify(expected) ? true : undefined));
      };
      const csvIds = async () => {
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv').click()]);
        const lines = readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
        const header = lines[0]!.split(',');
        return lines.slice(1).map((l) => Number(l.split(',')[header.indexOf('id')])).sort((a, b) => a - b);
      };

      await page.selectOption('#connector', '2');
      await show(want((x) => x.connectorId === 2));
      expect(asked.at(-1)).toMatch(/[?&]connector=2(&|$)/);
      expect(await page.locator('#csv').getAttribute('href')).toMatch(/^\/api\/sessions\.csv\?from=.+&to=.+&connector=2$/);
      expect(await csvIds()).toEqual(want((x) => x.connectorId === 2));
      expect(await page.locator('#filter-note').isVisible()).toBe(true);

      await page.fill('#idTag', 'CAR-B');
      // The export link follows as the tag is typed, before Show.
      expect(await page.locator('#csv').getAttribute('href')).toMatch(/&connector=2&idTag=CAR-B$/);
      await show(want((x) => x.connectorId === 2 && x.idTag === 'CAR-B'));
      expect(asked.at(-1)).toMatch(/[?&]idTag=CAR-B(&|$)/);
      expect(await csvIds()).toEqual(want((x) => x.connectorId === 2 && x.idTag === 'CAR-B'));

      await page.selectOption('#connector', '');
      await show(want((x) => x.idTag === 'CAR-B'));
      expect(await csvIds()).toEqual(want((x) => x.idTag === 'CAR-B'));

      await page.fill('#idTag', 'NOBODY');
      await page.locator('#period button[type="submit"]').click();
      await until('an empty list for an unknown tag', async () => ((await text(page, '#sessions-note')) === 'No sessions in this period for this connector and tag.' ? true : undefined));

      await page.fill('#idTag', '');
      await show(want(() => true));
      expect(await page.locator('#filter-note').isHidden()).toBe(true);
      expect(await page.locator('#csv').getAttribute('href')).toMatch(/^\/api\/sessions\.csv\?from=[^&]+&to=[^&]+$/);
      expect(problems).toEqual([]);
    }, 60_000);
  });

  describe('with a tariff and an energy target', () => {
    let d: TestDaemon;
    beforeAll(async () => {
      d = await startTestDaemon({ tariff: TARIFF });
    });
    afterAll(() => d?.close());

    it('shows the cost and time to finish the station computes, and the final cost in the history', async () => {
      const { page, problems } = await open(d);
      await page.locator('article[data-connector="1"]').waitFor();
      await d.post('/api/connectors/1/sim', { action: 'plug' });
      await d.post('/api/connectors/1/tag', { idTag: TAG });
      await d.post('/api/connectors/1/sim', { action: 'ev-ready' });
      await until('Charging', async () => ((await text(page, 'article[data-connector="1"] [data-field="status"]')) === 'Charging' ? true : undefined));
      await d.post('/api/connectors/1/target', { energyWh: 50_000 });

      // The page's last /api/status read against a read right after it (retried across a change of value).
      const seen = await until('cost and time to finish equal to /api/status', async () => {
        await page.evaluate(() => (globalThis as any).eval('loadStatus()'));
        const s = (await d.json('/api/status')).connectors[0].session;
        const cost = await field(page, 'cost');
        const eta = await field(page, 'eta');
        return s.cost && s.cost.grossMinor > 0 && typeof s.etaS === 'number' && cost === s.cost.grossMinor && eta === s.etaS ? s : undefined;
      }, 30_000);
      expect(seen.cost.currency).toBe('EUR');
      const minor = seen.cost.grossMinor as number;
      expect(await text(page, 'article[data-connector="1"] [data-field="cost"]')).toBe(`€${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`);
      expect(seen.etaBasis).toBe('energy');
      expect(await page.locator('article[data-connector="1"] [data-field="eta"]').getAttribute('title')).toBe('estimated from the energy target');
      const etaText = await text(page, 'article[data-connector="1"] [data-field="eta"]');
      expect(etaText).toMatch(/^\d+:\d\d:\d\d$/);
      await page.screenshot({ path: join(OUT, 'session-cost.png'), fullPage: true });

      await d.post('/api/connectors/1/stop');
      const row = await until('the completed session with its cost', async () => {
        const r = (await d.json('/api/sessions'))[0];
        return r.status === 'completed' && r.costTotal ? r : undefined;
      });
      const cell = page.locator(`#sessions tr[data-session-id="${row.id}"] td.cost-col`);
      await until('the final cost in the history', async () => ((await cell.textContent()) === `€${row.costTotal}` ? true : undefined));
      expect(await page.locator('#history th.cost-col').isVisible()).toBe(true);
      expect(problems).toEqual([]);
    }, 60_000);
  });

  describe('a daemon restart', () => {
    let d: TestDaemon | undefined;
    afterAll(() => d?.close());

    it('the open page reconnects by itself and follows the new daemon', async () => {
      d = await startTestDaemon();
      const { page, problems } = await open(d);
      const live = async () => ((await page.locator('#link').getAttribute('data-state')) === 'live' ? true : undefined);
      await until('the event stream', live);
      const { port } = d.daemon.address;
      const dir = d.dir;
      await d.close({ keepDir: true });
      d = undefined;
      await until('the page noticing', async () => ((await page.locator('#link').getAttribute('data-state')) === 'offline' ? true : undefined));
      d = await startTestDaemon({ port, dir });
      await until('the event stream again', live, 20_000);
      await d.post('/api/connectors/1/sim', { action: 'plug' });
      await until('Preparing from the new daemon', async () => ((await text(page, 'article[data-connector="1"] [data-field="status"]')) === 'Preparing' ? true : undefined));
      // While the daemon was away the browser logged failed connections; nothing else.
      expect(problems.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(p))).toEqual([]);
    }, 60_000);
  });

  describe('event stream refused', () => {
    let d: TestDaemon;
    beforeAll(async () => {
      d = await startTestDaemon();
    });
    afterAll(() => d?.close());

    it('tries again by itself when the station had no stream to spare (429)', async () => {
      // Take every event stream the daemon allows, so the page's is refused. Streams are bounded
      // per client (a client's new stream replaces its oldest): it takes one stream from each of
      // many clients, here other loopback addresses (127.0.0.2 ...), to fill the station.
      const taken: ClientRequest[] = [];
      for (let i = 2; ; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          let answered = false;
          const req = request({ host: '127.0.0.1', port: d.daemon.address.port, path: '/api/events', localAddress: `127.0.0.${i}`, agent: false }, (res) => {
            answered = true;
            resolve(res.statusCode!);
            if (res.statusCode === 429) res.resume();
          });
          // Destroyed at the end of the test: only an error before the answer counts.
          req.on('error', (err) => (answered ? undefined : reject(err)));
          req.end();
          taken.push(req);
        });
        if (status === 429) break;
      }
      expect(taken.length).toBeGreaterThan(1);
      const { page, problems } = await open(d);
      await page.locator('article[data-connector="1"]').waitFor();
      await until('the refusal shown', async () => ((await page.locator('#link').getAttribute('data-state')) === 'offline' ? true : undefined));
      for (const req of taken) req.destroy();
      await until('the stream after the retry', async () => ((await page.locator('#link').getAttribute('data-state')) === 'live' ? true : undefined), 20_000);
      await d.post('/api/connectors/1/sim', { action: 'plug' });
      await until('a live change', async () => ((await text(page, 'article[data-connector="1"] [data-field="status"]')) === 'Preparing' ? true : undefined));
      expect(problems.filter((p) => !/429/.test(p))).toEqual([]);
    }, 60_000);
  });

  describe('with api.token', () => {
    const token = 'dashboard-browser-token-42';
    let d: TestDaemon;
    beforeAll(async () => {
      d = await startTestDaemon({ token });
    });
    afterAll(() => d?.close());

    it('asks for the token once, keeps it, and uses it for fetch and the event stream', async () => {
      const { page, problems } = await open(d);
      const dialog = page.locator('#token-dialog');
      await dialog.waitFor();
      expect(await page.locator('#token-error').isHidden()).toBe(true);
      await page.fill('#token-input', 'not-the-right-token-at-all');
      await page.locator('#token-form button[type="submit"]').click();
      // Refused: asked again, saying so.
      await until('the refusal', async () => ((await page.locator('#token-error').isVisible()) && (await dialog.isVisible()) ? true : undefined));
      await page.fill('#token-input', token);
      await page.locator('#token-form button[type="submit"]').click();
      await page.locator('article[data-connector="1"]').waitFor();
      await until('the event stream with ?token=', async () => ((await page.locator('#link').getAttribute('data-state')) === 'live' ? true : undefined));
      expect(await page.evaluate(() => (globalThis as any).localStorage.getItem('evsed.token'))).toBe(token);

      // A live change arrives over the stream.
      await d.post('/api/connectors/1/sim', { action: 'plug' });
      await until('Preparing over SSE', async () => ((await text(page, 'article[data-connector="1"] [data-field="status"]')) === 'Preparing' ? true : undefined));

      // Next visit: no question.
      await page.reload();
      await page.locator('article[data-connector="1"]').waitFor();
      expect(await dialog.isVisible()).toBe(false);
      expect(await page.locator('#csv').getAttribute('href')).toContain(`token=${token}`);

      // 401 answers to the wrong token are expected console errors; nothing else may go wrong.
      expect(problems.filter((p) => !/401/.test(p))).toEqual([]);
    });
  });
});
