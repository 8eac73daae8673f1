import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, startTestDaemon, TAG, until, type TestDaemon } from './helpers.js';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`SKIPPED: chromium not installed (${CHROMIUM}): the dashboard reservation test did not run (apt-get install chromium)`);

describe.skipIf(!hasChromium)('dashboard: a reserved connector', () => {
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

  it('shows Reserved, for which tag (by its name) and until when; Available again once cancelled', async () => {
    const ctx = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC' });
    try {
      // the owner's name for the tag (what the page shows for a tag)
      expect((await d.call(`/api/tags/${TAG}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Test driver' }) })).status).toBe(200);
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      await page.goto(`${d.base}/`);
      const card = page.locator('article[data-connector="1"]');
      await until('the card', async () => ((await card.locator('[data-field="status"]').textContent()) === 'Available' ? true : undefined));

      expect(d.daemon.station.reserve({ reservationId: 5, connectorId: 1, idTag: TAG, expiresAtMs: Date.UTC(2030, 0, 2, 18, 30) })).toBe('Accepted');
      await until('Reserved on the card', async () => ((await card.locator('[data-field="status"]').textContent()) === 'Reserved' ? true : undefined));
      const reserved = card.locator('[data-field="reserved"]');
      expect(await reserved.isVisible()).toBe(true);
      expect(await reserved.textContent()).toBe(`for Test driver (${TAG}) until 1/2/30, 6:30 PM`);
      expect((await d.json('/api/status')).connectors[0].reservation).toEqual({ reservationId: 5, idTag: TAG, parentIdTag: null, expiresAt: '2030-01-02T18:30:00Z', station: false });

      expect(d.daemon.station.cancelReservation(5)).toBe(true);
      await until('Available again', async () => ((await card.locator('[data-field="status"]').textContent()) === 'Available' ? true : undefined));
      expect(await reserved.isVisible()).toBe(false);
      expect(problems).toEqual([]);
    } finally {
      await ctx.close();
    }
  });
});
