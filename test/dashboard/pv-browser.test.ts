import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, startTestDaemon, until, type TestDaemon } from './helpers.js';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`SKIPPED: chromium not installed (${CHROMIUM}): the dashboard PV select test did not run (apt-get install chromium)`);

describe.skipIf(!hasChromium)('dashboard: the PV mode select', () => {
  let browser: Browser;
  let d: TestDaemon;
  let plain: TestDaemon;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // No broker answers on port 1: the PV logic runs without a reading (that is all this page needs).
    d = await startTestDaemon({ extra: 'pv: { mode: pv, source: { mqtt: { url: "mqtt://127.0.0.1:1", topic: grid/power } } }' });
    plain = await startTestDaemon();
  });
  afterAll(async () => {
    await browser?.close();
    await d?.close();
    await plain?.close();
  });

  it('shows the mode and what the logic does, and sets the mode through the API', async () => {
    const ctx = await browser.newContext({ locale: 'en-US' });
    try {
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
      await page.goto(`${d.base}/`);
      await page.locator('#pv-mode').waitFor({ state: 'visible' });
      expect(await page.locator('#pv-mode').inputValue()).toBe('pv');
      expect(await page.locator('#pv-state').textContent()).toContain('no EV plugged in');
      await page.selectOption('#pv-mode', 'minpv');
      await until('the mode set from the page', async () => ((await d.json('/api/pv')).mode === 'minpv' ? true : undefined));
      expect(problems).toEqual([]);
    } finally {
      await ctx.close();
    }
  });

  it('is not there without a pv section', async () => {
    const ctx = await browser.newContext({ locale: 'en-US' });
    try {
      const page = await ctx.newPage();
      await page.goto(`${plain.base}/`);
      await until('the station name', async () => ((await page.locator('#station').textContent()) === 'CP-DASH-1' ? true : undefined));
      expect(await page.locator('#pv').isHidden()).toBe(true);
    } finally {
      await ctx.close();
    }
  });
});
