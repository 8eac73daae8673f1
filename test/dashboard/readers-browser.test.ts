import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, startTestDaemon, TAG, until, type TestDaemon } from './helpers.js';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`SKIPPED: chromium not installed (${CHROMIUM}): the dashboard reader line test did not run (apt-get install chromium)`);

describe.skipIf(!hasChromium)('dashboard: the card readers of a connector', () => {
  let browser: Browser;
  let d: TestDaemon;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    d = await startTestDaemon({
      extra: 'readers:\n  - { id: front, driver: sim }\n  - { id: door, driver: keyboard, device: /dev/input/by-id/usb-not-plugged-in-event-kbd }\n',
    });
  });
  afterAll(async () => {
    await browser?.close();
    await d?.close();
  });

  it('shows each reader\'s state on its connector (a reader fault as a warning with its reason) and takes a card for the simulated one', async () => {
    const ctx = await browser.newContext({ locale: 'en-US' });
    try {
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      await page.goto(`${d.base}/`);
      const line = page.locator('article[data-connector="1"] [data-field="readers"]');
      const text = await until('the readers line', async () => ((await line.isVisible()) ? (await line.textContent()) ?? undefined : undefined));
      expect(text).toMatch(/^Reader front: ok · Reader door: fault \(cannot open \/dev\/input\/by-id\/usb-not-plugged-in-event-kbd: no such device/);
      expect(await line.getAttribute('class')).toBe('warn');

      // the simulated reader takes a card from the page, as a driver holds one to a real reader
      await d.post('/api/connectors/1/sim', { action: 'plug' });
      const form = page.locator('article[data-connector="1"] form[data-field="simCard"]');
      await form.locator('input[name="idTag"]').fill(TAG);
      await form.locator('button[type="submit"]').click();
      const result = form.locator('[data-field="simCardResult"]');
      await until('the card\'s outcome', async () => ((await result.textContent()) || undefined));
      expect(await result.textContent()).toMatch(new RegExp(`^${TAG}: (started|pending) \\(Accepted\\)$`));
      await until('the session on the page', async () => ((await page.locator('article[data-connector="1"] [data-field="sessionId"]').textContent()) || undefined));
      expect((await d.json('/api/status')).connectors[0].session.idTag).toBe(TAG);
      expect(problems).toEqual([]);
    } finally {
      await ctx.close();
    }
  });
});
