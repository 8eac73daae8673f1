import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/util/password-hash.js';
import { CHROMIUM, CHROMIUM_ARGS, startTestDaemon, until, type TestDaemon } from './helpers.js';

const PASSWORD = 'garage-door-7731';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`SKIPPED: chromium not installed (${CHROMIUM}): the sign-in browser tests did not run (apt-get install chromium)`);

/** The station page with api.passwordHash, in real Chromium. */
describe.skipIf(!hasChromium)('sign-in in Chromium', () => {
  let browser: Browser;
  let d: TestDaemon;
  let hash: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    hash = await hashPassword(PASSWORD, { ln: 14, r: 8, p: 1 });
    d = await startTestDaemon({ passwordHash: hash });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await d?.close();
  });
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
  });

  async function open(o: { javaScriptEnabled?: boolean } = {}): Promise<{ ctx: BrowserContext; page: Page; problems: string[] }> {
    const ctx = await browser.newContext({ locale: 'en-US', javaScriptEnabled: o.javaScriptEnabled ?? true });
    contexts.push(ctx);
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      // A failed sign-in answers 401, which Chromium logs as a failed resource load.
      if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${d.base}/`);
    return { ctx, page, problems };
  }

  async function signIn(page: Page, password: string): Promise<void> {
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
  }

  const showsStation = (page: Page) => until('the station page', async () => ((await page.locator('#station').textContent()) === 'CP-DASH-1' && (await page.locator('#link').getAttribute('data-state')) === 'live' ? true : undefined));

  it('shows the sign-in, refuses a wrong password without saying more, signs in, keeps the session over a reload, signs out', async () => {
    const { ctx, page, problems } = await open();
    expect(new URL(page.url()).pathname).toBe('/signin');
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    // Nothing of the station before the sign-in.
    expect(await page.content()).not.toContain('CP-DASH-1');

    await signIn(page, 'not the password');
    expect(new URL(page.url()).pathname).toBe('/api/session');
    const alert = page.getByRole('alert');
    expect(await alert.textContent()).toBe('Sign-in failed. Check the password and try again.');
    expect(await page.getByLabel('Password').getAttribute('aria-invalid')).toBe('true');

    await signIn(page, PASSWORD);
    expect(new URL(page.url()).pathname).toBe('/');
    await showsStation(page);
    const [cookie] = await ctx.cookies();
    expect(cookie).toMatchObject({ name: 'evsed_session', httpOnly: true, sameSite: 'Strict', path: '/', secure: false });
    expect(await page.evaluate(() => (globalThis as any).document.cookie)).toBe('');
    expect(await page.locator('#sign-out').isVisible()).toBe(true);
    expect(await page.locator('#token-dialog').isVisible()).toBe(false);
    // The page's own writes go through with the cookie (same origin), as app.js sends them.
    const write = await page.evaluate(async () => {
      const r = await fetch('/api/connectors/1/sim', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ action: 'plug' }) });
      return r.status;
    });
    expect(write).toBe(200);
    expect(d.daemon.station.connectorView(1)!.status).toBe('Preparing');

    await page.reload();
    expect(new URL(page.url()).pathname).toBe('/');
    await showsStation(page);

    await page.locator('#sign-out').click();
    await until('the sign-in page after sign-out', async () => (new URL(page.url()).pathname === '/signin' ? true : undefined));
    expect(await page.getByRole('status').textContent()).toBe('You are signed out.');
    expect(await ctx.cookies()).toEqual([]);
    await page.goto(`${d.base}/`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    expect(problems).toEqual([]);
  }, 60_000);

  it('an open page whose sign-in ended goes to the sign-in by itself (the station closes its event stream)', async () => {
    const { ctx, page } = await open();
    await signIn(page, PASSWORD);
    await showsStation(page);
    // The session ends on the station (as after its idle time): sign out with the same cookie elsewhere.
    const [cookie] = await ctx.cookies();
    const out = await fetch(`${d.base}/api/session`, { method: 'DELETE', headers: { cookie: `evsed_session=${cookie!.value}` } });
    expect(out.status).toBe(200);
    await until('the sign-in page', async () => (new URL(page.url()).pathname === '/signin' ? true : undefined));
    expect(await page.locator('#token-dialog').count()).toBe(0);
  }, 60_000);

  it('the sign-in works without script', async () => {
    const { page } = await open({ javaScriptEnabled: false });
    expect(new URL(page.url()).pathname).toBe('/signin');
    await signIn(page, PASSWORD);
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await page.title()).toBe('evsed');
    const status = await page.request.get(`${d.base}/api/status`);
    expect(status.status()).toBe(200);
  }, 60_000);
});
