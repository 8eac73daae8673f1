import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, startTestDaemon, TAG, until, type TestDaemon } from './helpers.js';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`SKIPPED: chromium not installed (${CHROMIUM}): the dashboard owner-controls test did not run (apt-get install chromium)`);

const card = 'article[data-connector="1"]';
const text = async (page: Page, sel: string) => ((await page.locator(`${card} ${sel}`).textContent()) ?? '').trim();

/** The live card's owner controls: the energy/time limit form, charge now, the timer state. */
describe.skipIf(!hasChromium)('dashboard: limits, charge now, timer', () => {
  let browser: Browser;
  let d: TestDaemon;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    d = await startTestDaemon();
  });
  afterAll(async () => {
    await browser?.close();
    await d?.close();
  });

  it('sets an energy limit that ends the session, turns charge now on over a closed timer window', async () => {
    // A window that opens in two hours: the session waits for it.
    const h = (n: number) => `${String((new Date().getHours() + n) % 24).padStart(2, '0')}:00`;
    const ctx = await browser.newContext({ locale: 'en-US' });
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    try {
      await d.json('/api/timers', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ timers: [{ start: h(2), end: h(3) }] }) });
      await page.goto(`${d.base}/`);
      await page.locator(card).waitFor();
      await d.post('/api/connectors/1/sim', { action: 'plug' });
      await d.post('/api/connectors/1/tag', { idTag: TAG });
      await d.post('/api/connectors/1/sim', { action: 'ev-ready' });
      await until('the session waiting for the window', async () => ((await text(page, '[data-field="status"]')) === 'SuspendedEVSE' ? true : undefined));
      await until('the timer shown', async () => ((await text(page, '[data-field="timer"]')).startsWith('waiting until') ? true : undefined));
      expect(await text(page, '[data-field="limits"]')).toBe('when you stop it');

      await page.locator(`${card} [data-action="charge-now"]`).click();
      await until('charging now', async () => ((await text(page, '[data-field="status"]')) === 'Charging' ? true : undefined));
      expect(await page.locator(`${card} [data-action="charge-now"]`).getAttribute('data-on')).toBe('true');

      await page.locator(`${card} input[name="durationMin"]`).fill('600');
      await page.locator(`${card} [data-form="limits"] button[type="submit"]`).click();
      await until('the time limit shown', async () => ((await text(page, '[data-field="limits"]')) === 'after 10:00:00' ? true : undefined));
      expect((await d.json('/api/connectors/1/limits')).limits).toEqual({ energyWh: null, durationS: 36_000, socPercent: null });
      await page.locator(`${card} input[name="energyKWh"]`).fill('0.01');
      await page.locator(`${card} [data-form="limits"] button[type="submit"]`).click();
      const done = await until('the session ended', async () => {
        const s = (await d.json('/api/sessions'))[0];
        return s.status === 'completed' ? s : undefined;
      });
      expect(done).toMatchObject({ stopReason: 'EnergyLimitReached' });
      const row = page.locator(`#sessions tr[data-session-id="${done.id}"]`);
      await until('the history row saying why, in words', async () => ((await row.locator('td').last().textContent()) === 'Energy limit reached' ? true : undefined));
      expect(problems).toEqual([]);
    } finally {
      await ctx.close();
    }
  }, 60_000);

  it('sets a charging timer from the page, shows it, and goes back to the config\'s', async () => {
    const ctx = await browser.newContext({ locale: 'en-US' });
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    try {
      await d.json('/api/timers', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ timers: null }) });
      await page.goto(`${d.base}/`);
      await until('no timer shown', async () => (((await page.locator('#timers-now').textContent()) ?? '').startsWith('No timer') ? true : undefined));
      await page.locator('#timers select[name="days"]').selectOption('weekdays');
      await page.locator('#timers input[name="start"]').fill('23:00');
      await page.locator('#timers input[name="end"]').fill('05:30');
      await page.locator('#timers button[type="submit"]').click();
      await until('the timer in force', async () => ((await d.json('/api/timers')).source === 'api' ? true : undefined));
      expect((await d.json('/api/timers')).timers).toEqual([{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '23:00', end: '05:30' }]);
      await until('the timer shown', async () => (((await page.locator('#timers-now').textContent()) ?? '').includes('mon, tue, wed, thu, fri 23:00–05:30') ? true : undefined));
      await page.locator('#timers-clear').click();
      await until('back to the config (none)', async () => ((await d.json('/api/timers')).source === 'config' ? true : undefined));
      expect(problems).toEqual([]);
    } finally {
      await ctx.close();
    }
  }, 60_000);
});
