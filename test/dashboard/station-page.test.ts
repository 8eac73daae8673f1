import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { report as reportCommand } from '../../src/cli/commands/report.js';
import { insertFixtureIds } from './fixture.js';
import { CHROMIUM, CHROMIUM_ARGS, startTestDaemon, TAG, until, type TestDaemon } from './helpers.js';
import { lowContrast, tooWide } from './page-checks.js';
import { PAGE_TARIFF, SEED_MONTH, SEED_TAGS, seedMonth } from './station-fixture.js';

const OUT = join(process.cwd(), 'test-output');

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`SKIPPED: chromium not installed (${CHROMIUM}): the station page browser tests did not run (apt-get install chromium)`);

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent())?.trim() ?? '';
}

/** Both dates of the history period at once, then Show. */
async function showPeriod(page: Page, from: string, to: string): Promise<void> {
  await page.evaluate(([f, t]) => {
    const doc = (globalThis as any).document;
    doc.getElementById('from').value = f;
    doc.getElementById('to').value = t;
  }, [from, to]);
  await page.locator('#period button[type="submit"]').click();
}

describe.skipIf(!hasChromium)('the station page in Chromium', () => {
  let browser: Browser;
  let d: TestDaemon;
  let ids: number[];
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    d = await startTestDaemon({ tariff: PAGE_TARIFF });
    ids = await seedMonth(d);
    // A session of today with very little energy: the day chart's scale must still say what its bar is.
    insertFixtureIds(d.daemon.db, [{ name: 'tiny', start: new Date(Date.now() - 3 * 3600_000).toISOString(), durationMin: 10, chargingMin: 2, energyWh: 20, idTag: SEED_TAGS.unnamed }]);
    // A live session: the card with everything on it.
    await d.post('/api/connectors/1/sim', { action: 'plug' });
    await d.post('/api/connectors/1/tag', { idTag: TAG });
    await d.post('/api/connectors/1/sim', { action: 'ev-ready' });
  });
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
  });
  afterAll(async () => {
    await browser?.close();
    await d?.close();
  });

  async function open(opts: { colorScheme?: 'light' | 'dark'; phone?: boolean } = {}): Promise<{ page: Page; problems: string[] }> {
    const ctx = await browser.newContext({
      locale: 'en-US',
      timezoneId: 'Europe/Berlin',
      colorScheme: opts.colorScheme ?? 'light',
      acceptDownloads: true,
      ...(opts.phone ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } : { viewport: { width: 1280, height: 900 } }),
    });
    contexts.push(ctx);
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    await page.goto(`${d.base}/`);
    await page.locator('article[data-connector="1"] [data-field="session"]:not([hidden])').waitFor();
    await page.locator('article[data-connector="1"] [data-field="curve"] canvas').waitFor();
    await page.locator('#sessions tr').first().waitFor();
    return { page, problems };
  }

  /** Opens a past session's details from the history. */
  async function details(page: Page, id: number): Promise<void> {
    await showPeriod(page, '2026-10-01', '2026-11-01');
    await page.locator(`#sessions tr[data-session-id="${id}"]`).click();
    await page.locator('#session-details:not([hidden]) [data-detail="curve"] canvas').waitFor();
  }

  for (const scheme of ['dark', 'light'] as const) {
    it(`${scheme} mode: every text, the bar charts and the curves' axes have a contrast of at least 4.5:1`, async () => {
      const { page, problems } = await open({ colorScheme: scheme });
      await details(page, ids[2]!);
      await page.locator('#report-month').fill(SEED_MONTH);
      await page.locator('#report-form button[type="submit"]').click();
      await page.locator('#report-tags tr').first().waitFor();
      const { checked, low } = await lowContrast(page);
      expect(checked).toBeGreaterThan(80);
      expect(low).toEqual([]);
      await page.screenshot({ path: join(OUT, `station-page-${scheme}.png`), fullPage: true });
      expect(problems).toEqual([]);
    }, 60_000);
  }

  it('phone (390 px): nothing is wider than the screen; the history is a list of cards', async () => {
    const { page, problems } = await open({ colorScheme: 'dark', phone: true });
    await showPeriod(page, '2026-10-01', '2026-11-01');
    await page.locator(`#sessions tr[data-session-id="${ids[0]}"]`).waitFor();
    const wide = await tooWide(page);
    expect(wide).toEqual({ pageScrollsSideways: false, elements: [] });
    // Each session row shows its fields with their names, one under the other.
    const row = page.locator(`#sessions tr[data-session-id="${ids[0]}"]`);
    expect(await row.evaluate((tr) => (globalThis as any).getComputedStyle(tr).display)).not.toBe('table-row');
    expect(await row.locator('td.energy').evaluate((td) => (globalThis as any).getComputedStyle(td, '::before').content)).toBe('"Energy"');
    await details(page, ids[0]!);
    expect(await tooWide(page)).toEqual({ pageScrollsSideways: false, elements: [] });
    expect(problems).toEqual([]);
  }, 60_000);

  it('the current control offers only 0 (pause) and 6 A up to the rating, and sets the limit through the API', async () => {
    const { page, problems } = await open();
    const bodies: any[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/api/connectors/1/limit')) bodies.push(JSON.parse(r.postData() ?? 'null'));
    });
    const control = page.locator('article[data-connector="1"] select[data-control="current"]');
    const values = await control.locator('option').evaluateAll((os) => os.map((o) => (o as any).value));
    expect(values).toEqual(['', '0', ...Array.from({ length: 32 - 6 + 1 }, (_, i) => String(6 + i))]);
    await control.selectOption('10');
    await until('the page showing 10 A set here', async () => ((await text(page, 'article[data-connector="1"] [data-field="limitA"]')).startsWith('10 A') ? true : undefined));
    expect((await d.json('/api/status')).connectors[0].currentLimitA).toBe(10);
    await control.selectOption('0');
    await until('the offer at 0 (paused by the limit)', async () => ((await d.json('/api/status')).connectors[0].currentLimitA === 0 ? true : undefined));
    await control.selectOption('');
    await until('the limit removed', async () => ((await d.json('/api/status')).currentControl[0].apiLimitA === null ? true : undefined));
    expect(bodies).toEqual([{ maxA: 10 }, { maxA: 0 }, { maxA: null }]);
    expect(problems).toEqual([]);
  }, 60_000);

  it("a past session's details: times, tag name, energy, cost, charging and idle time, end reason in words, and its power curve", async () => {
    const { page, problems } = await open();
    const id = ids[2]!;
    await details(page, id);
    const s = await d.json(`/api/sessions/${id}`);
    const curve = await d.json(`/api/sessions/${id}/samples`);
    const detail = async (name: string) => text(page, `#session-details [data-detail="${name}"]`);
    expect(await detail('tag')).toBe(`Anna (${SEED_TAGS.named})`);
    expect(await detail('energy')).toBe('22.999 kWh');
    expect(await detail('cost')).toBe(`€${s.costTotal}`);
    expect(await detail('duration')).toBe('4:00:00');
    expect(await detail('charging')).toBe('3:20:00');
    expect(await detail('idle')).toBe('0:40:00');
    expect(await detail('end')).toBe('EV unplugged');
    const n = await page.evaluate(() => (globalThis as any).eval('detailPlot && detailPlot.data[0].length'));
    expect(n).toBe(curve.points.length);
    // The history says the same energy with the same rounding.
    expect(await text(page, `#sessions tr[data-session-id="${id}"] td.energy`)).toBe('22.999 kWh');
    expect(problems).toEqual([]);
  }, 60_000);

  it('the history says why each session ended in words, never a protocol word', async () => {
    const { page } = await open();
    await showPeriod(page, '2026-10-01', '2026-11-01');
    await page.locator(`#sessions tr[data-session-id="${ids[3]}"]`).waitFor();
    const ends = await page.locator('#sessions tr td.end').allTextContents();
    expect(ends.length).toBe(4);
    for (const e of ends) expect(e).toBe('EV unplugged');
  }, 60_000);

  it('the monthly per-tag report: the figures of `evsed report`, and its CSV as download', async () => {
    const { page, problems } = await open();
    await page.locator('#report-month').fill(SEED_MONTH);
    await page.locator('#report-form button[type="submit"]').click();
    await page.locator('#report-tags tr').first().waitFor();
    const dir = mkdtempSync(join(tmpdir(), 'evsed-page-report-'));
    let cli: string;
    try {
      expect(await reportCommand({ month: SEED_MONTH, format: 'csv', config: join(d.dir, 'evsed.yaml'), out: join(dir, 'r.csv') })).toBe(0);
      cli = readFileSync(join(dir, 'r.csv'), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const lines = cli.trim().split('\r\n').map((l) => l.split(','));
    const header = lines[0]!;
    const col = (row: string[], name: string) => row[header.indexOf(name)]!;
    const want = lines.filter((r) => r[0] === 'tag_total').map((r) => [col(r, 'name') || col(r, 'id_tag'), col(r, 'sessions'), `${col(r, 'energy_kwh')} kWh`, `€${col(r, 'net')}`, `€${col(r, 'tax')}`, `€${col(r, 'gross')}`]);
    const shown = await page.locator('#report-tags tr').evaluateAll((trs) => trs.map((tr) => [...(tr as any).querySelectorAll('td')].filter((td: any) => !td.classList.contains('tag')).map((td: any) => td.textContent.trim())));
    expect(shown).toEqual(want);
    const total = lines.find((r) => r[0] === 'total')!;
    expect(await text(page, '#report-total [data-report="energy"]')).toBe(`${col(total, 'energy_kwh')} kWh`);
    expect(await text(page, '#report-total [data-report="gross"]')).toBe(`€${col(total, 'gross')}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#report-csv').click()]);
    expect(readFileSync((await download.path())!, 'utf8')).toBe(cli);
    expect(await page.locator('#report-html').getAttribute('href')).toBe(`/api/report.html?month=${SEED_MONTH}`);
    expect(problems).toEqual([]);
  }, 60_000);

  it('the day chart says what its bars are in kWh with the same rounding as everywhere (no "max 0.0" over a visible bar)', async () => {
    const { page } = await open();
    await page.locator('#chart-days rect:not([height="0"])').first().waitFor();
    const stats = await page.evaluate(() => (globalThis as any).eval('lastStats'));
    const maxWh = Math.max(...stats.energyPerDay.map((x: any) => x.energyWh));
    expect(maxWh).toBeGreaterThan(0);
    const label = await text(page, '#chart-days text.scale');
    const kwh = `${Math.floor(maxWh / 1000)}.${String(maxWh % 1000).padStart(3, '0')} kWh`;
    expect(label).toBe(`max ${kwh}`);
    expect(await text(page, '[data-stat="totalEnergyWh"]')).toMatch(/^\d+\.\d{3} kWh$/);
  }, 60_000);

  // Last: it ends the live session the others use.
  it('one energy figure per session: the card and its row while it runs; after the stop the row, the details and the station use say the stored register difference', async () => {
    const { page, problems } = await open();
    const id = (await d.json('/api/status')).connectors[0].session.id as number;
    await until('energy flowing', async () => ((await d.json('/api/status')).connectors[0].session.energyWh > 0 ? true : undefined));
    const cardEnergy = 'article[data-connector="1"] [data-field="sessionEnergyWh"]';
    await until('the running row saying what the card says', async () => {
      const row = await text(page, `#sessions tr[data-session-id="${id}"] td.energy`);
      return row.endsWith(' kWh') && row === (await text(page, cardEnergy)) ? true : undefined;
    });
    await d.post('/api/connectors/1/stop');
    const stored = await until('the session stored', async () => {
      const s = await d.json(`/api/sessions/${id}`);
      return s.status === 'completed' ? (s.energyWh as number) : undefined;
    });
    const want = `${Math.floor(stored / 1000)}.${String(stored % 1000).padStart(3, '0')} kWh`;
    // the list loaded again: the row is no longer the running one (which already showed the same figure)
    await until('the history row with the stored energy', async () => ((await page.locator(`#sessions tr[data-session-id="${id}"]:not([data-running])`).count()) === 1 && (await text(page, `#sessions tr[data-session-id="${id}"] td.energy`)) === want ? true : undefined));
    await page.locator(`#sessions tr[data-session-id="${id}"]`).click();
    await until('the details', async () => ((await text(page, '#session-details [data-detail="id"]')) === `#${id}` ? true : undefined));
    expect(await text(page, '#session-details [data-detail="energy"]')).toBe(want);
    // Station use adds up the same figures the list shows (every session of these days is completed now).
    const listed = await page.locator('#sessions td.energy').evaluateAll((tds) => tds.map((td) => Number((td as any).dataset.value)));
    const sum = listed.reduce((a, b) => a + b, 0);
    await until('station use counting the stored energy', async () => (Number(await page.locator('[data-stat="totalEnergyWh"]').getAttribute('data-value')) === sum ? true : undefined));
    expect(await text(page, '[data-stat="totalEnergyWh"]')).toBe(`${Math.floor(sum / 1000)}.${String(sum % 1000).padStart(3, '0')} kWh`);
    expect(problems).toEqual([]);
  }, 60_000);
});
