import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, startTestDaemon, until, type TestDaemon } from './helpers.js';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`SKIPPED: chromium not installed (${CHROMIUM}): the dashboard light and learn test did not run (apt-get install chromium)`);

describe.skipIf(!hasChromium)('dashboard: the status light, learning a card, tag names', () => {
  let browser: Browser;
  let d: TestDaemon;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    d = await startTestDaemon({ extra: 'readers:\n  - { id: front, driver: sim }\nsignals: { light: { driver: sim }, buzzer: { driver: sim }, feedbackMs: 300 }\n' });
  });
  afterAll(async () => {
    await browser?.close();
    await d?.close();
  });

  it('shows the light\'s pattern, learns a card from the button, and names the tag on the live card', async () => {
    const ctx = await browser.newContext({ locale: 'en-US' });
    try {
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      await page.goto(`${d.base}/`);
      const card = page.locator('article[data-connector="1"]');
      const light = card.locator('[data-field="lightText"]');
      await until('the light line', async () => ((await light.textContent()) === 'Light (sim): green on' ? true : undefined));
      expect(await card.locator('[data-field="lamp"]').getAttribute('class')).toBe('lamp on');

      // Learn: the button waits for the next card, held to the simulated reader.
      await page.locator('#learn-name').fill('Anna, "the neighbour"');
      await page.locator('#learn button[type="submit"]').click();
      await until('learn mode waiting', async () => (d.daemon.learner.pending() === 'Anna, "the neighbour"' ? true : undefined));
      await d.post('/api/sim/readers/front/card', { idTag: 'ANNA-1' });
      await until('learned', async () => ((await page.locator('#learn-result').textContent())?.startsWith('Learned') ? true : undefined));
      expect(await page.locator('#learn-result').textContent()).toBe('Learned ANNA-1 as "Anna, "the neighbour""');

      // The learned card charges; the live card shows its name.
      await d.post('/api/connectors/1/sim', { action: 'plug' });
      await new Promise((r) => setTimeout(r, 2100)); // past the reader's same-card guard
      await d.post('/api/sim/readers/front/card', { idTag: 'ANNA-1' });
      await d.post('/api/connectors/1/sim', { action: 'ev-ready' });
      await until('the name on the live card', async () => ((await card.locator('[data-field="idTag"]').textContent()) === 'Anna, "the neighbour" (ANNA-1)' ? true : undefined));
      await until('the charging light', async () => ((await light.textContent()) === 'Light (sim): blue pulse 2000 ms' ? true : undefined));
      expect(await card.locator('[data-field="lamp"]').getAttribute('class')).toBe('lamp on pulse');
      expect((await d.json('/api/status')).connectors[0].session.idTag).toBe('ANNA-1');
      expect(problems).toEqual([]);
    } finally {
      await ctx.close();
    }
  });
});
