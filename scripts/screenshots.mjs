// Regenerates the README's screenshots of the station page from the real page: starts the simulated
// daemon (built, from dist/), seeds three weeks of priced sessions with names and power curves,
// drives a live session with an energy target and steps in the current limit, and captures the
// page with Chromium: desktop light and dark, phone (390 px) light and dark, into docs/img/.
//
//   npm run screenshots            (needs /usr/bin/chromium, or CHROMIUM=/path/to/chrome)
//
// Nothing here is a test: the numbers are the daemon's own, the script only waits for them.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../dist/src/config/load.js';
import { startDaemon } from '../dist/src/daemon.js';
import { silentLogger } from '../dist/src/log.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT = resolve(process.argv[2] ?? 'docs/img');
const TAGS = [
  { idTag: '04A1B2C3', name: 'Anna' },
  { idTag: '04D5E6F7', name: 'Company car' },
  { idTag: '04CAFE01', name: null },
];

if (!existsSync(CHROMIUM)) {
  console.error(`screenshots: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);
  process.exit(69);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`screenshots: timed out waiting for ${what}`);
    await sleep(200);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'evsed-screens-'));
const file = join(dir, 'evsed.yaml');
writeFileSync(file, [
  'station: { id: CP-HOME-1, vendor: evsed, model: sim }',
  `storage: { dir: ${JSON.stringify(join(dir, 'data'))}, sampleIntervalS: 1, flushIntervalS: 1 }`,
  'auth:',
  '  mode: local',
  `  tags: [ ${TAGS.map((t) => `{ idTag: "${t.idTag}"${t.name ? `, name: "${t.name}"` : ''} }`).join(', ')} ]`,
  'api: { listen: "127.0.0.1:0" }',
  'clock: { trust: always }',
  'supervision: { stallThresholdMs: 10000 }',
  'tariff: { currency: EUR, energyPerKWh: 0.30, sessionFee: 0.50, taxPercent: 19, timeZone: Europe/Berlin }',
  'connectors:',
  '  - id: 1',
  '    maxCurrentA: 32',
  '    phases: 3',
  '    hardware: { driver: sim, ev: { maxCurrentA: 16, phases: 3 }, world: fresh }',
  '    meter: { model: sim, initialEnergyWh: 1234567 }',
  '',
].join('\n'));

const loaded = loadConfig(file);
const daemon = await startDaemon(loaded, silentLogger());
const base = `http://127.0.0.1:${daemon.address.port}`;
const post = async (path, body = {}) => {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
};
const status = async () => (await (await fetch(`${base}/api/status`)).json()).connectors[0];

let browser;
try {
  seed(daemon, loaded.config);

  await post('/api/connectors/1/sim', { action: 'plug' });
  await post('/api/connectors/1/tag', { idTag: TAGS[0].idTag });
  await post('/api/connectors/1/sim', { action: 'ev-ready' });
  await post('/api/connectors/1/target', { energyWh: 50_000 });
  // Steps in the current limit, so the live curve has a shape: 16 A, 10 A, back to the EV's 16 A.
  for (const maxA of [10, null]) {
    await sleep(8000);
    await post('/api/connectors/1/limit', { maxA });
  }
  await sleep(8000);
  await until('cost and time to finish', async () => {
    const s = (await status()).session;
    return s?.cost && typeof s.etaS === 'number';
  });

  mkdirSync(OUT, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  const shots = [
    { name: 'dashboard-desktop.png', colorScheme: 'light', viewport: { width: 1280, height: 900 } },
    { name: 'dashboard-desktop-dark.png', colorScheme: 'dark', viewport: { width: 1280, height: 900 } },
    { name: 'dashboard-phone.png', colorScheme: 'light', viewport: { width: 390, height: 844 }, phone: true },
    { name: 'dashboard-phone-dark.png', colorScheme: 'dark', viewport: { width: 390, height: 844 }, phone: true },
  ];
  for (const s of shots) {
    const ctx = await browser.newContext({
      locale: 'en-GB', timezoneId: 'Europe/Berlin', colorScheme: s.colorScheme, viewport: s.viewport,
      ...(s.phone ? { deviceScaleFactor: 2, isMobile: true, hasTouch: true } : { deviceScaleFactor: 1 }),
    });
    const page = await ctx.newPage();
    await page.goto(`${base}/`);
    await page.locator('article[data-connector="1"] [data-field="curve"] canvas').waitFor();
    await page.locator('article[data-connector="1"] [data-field="cost"]:not([hidden])').waitFor();
    await page.locator('#chart-days rect:not([height="0"])').first().waitFor();
    await page.locator('#sessions tr').nth(1).waitFor();
    if (!s.phone) {
      // The details of the latest finished session, and this month's report.
      await page.locator('#sessions tr:not([data-running])').first().click();
      await page.locator('#session-details:not([hidden]) canvas').waitFor();
      await page.locator('#report-form button[type="submit"]').click();
      await page.locator('#report-tags tr').first().waitFor();
    }
    await sleep(300);
    await page.screenshot({ path: join(OUT, s.name), fullPage: !s.phone });
    console.log(`screenshots: ${join(OUT, s.name)}`);
    if (s.phone && s.colorScheme === 'light') {
      // The history on a phone: a list of cards, nothing wider than the screen.
      const box = await page.locator('#history').boundingBox();
      await page.screenshot({ path: join(OUT, 'dashboard-phone-history.png'), fullPage: true, clip: { x: 0, y: box.y, width: s.viewport.width, height: Math.min(box.height, 700) } });
      console.log(`screenshots: ${join(OUT, 'dashboard-phone-history.png')}`);
    }
    await ctx.close();
  }
} finally {
  await browser?.close();
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Three weeks of completed sessions before today, each priced by the station's ledger from the
 * tariff (the snapshot a session start stores, then the final cost), with a sample a minute.
 */
function seed(d, config) {
  const db = d.db;
  const insert = db.prepare(`INSERT INTO sessions (uid, connector_id, id_tag, auth_source, status, start_wall_ms, start_quality,
      start_boot_id, start_mono_ms, meter_start_wh, checkpoint_wall_ms, checkpoint_energy_wh, duration_ms, charging_ms, idle_ms,
      stop_wall_ms, stop_quality, meter_stop_wh, energy_wh, stop_reason)
    VALUES (?, 1, ?, 'local', 'completed', ?, 'synced', 'seed', 0, ?, ?, ?, ?, ?, ?, ?, 'synced', ?, ?, ?)`);
  const snapshot = db.prepare('INSERT INTO billing_session_tariffs (session_id, tariff_json, snapshot_wall_ms) VALUES (?, ?, ?)');
  const sample = db.prepare(`INSERT INTO meter_samples (connector_id, session_id, wall_ms, quality, boot_id, mono_ms, energy_wh, power_w, phases)
    VALUES (1, ?, ?, 'synced', 'seed', 0, ?, ?, NULL)`);
  const reasons = ['EVDisconnected', 'EVDisconnected', 'Local', 'EnergyLimitReached'];
  const ids = [];
  let register = 600_000;
  const today = new Date();
  db.transaction(() => {
    for (let i = 21; i >= 1; i--) {
      const hours = i % 3 === 0 ? [6, 17] : i % 3 === 1 ? [18] : i % 7 === 2 ? [] : [16, 20];
      for (const h of hours) {
        const energyWh = 4000 + ((i * 7919 + h * 131) % 26000);
        const chargingMs = Math.round((energyWh / 11040) * 3600_000);
        const durationMs = chargingMs + (20 + ((i * 37) % 300)) * 60_000;
        const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i, h, (i * 13) % 60);
        const tag = TAGS[(i + h) % TAGS.length].idTag;
        const r = insert.run(`seed-${i}-${h}`, tag, start, register, start + durationMs, register + energyWh, durationMs, chargingMs, durationMs - chargingMs,
          start + durationMs, register + energyWh, energyWh, reasons[(i + h) % reasons.length]);
        const id = Number(r.lastInsertRowid);
        ids.push(id);
        snapshot.run(id, JSON.stringify(config.tariff), start);
        // 11 kW while charging, tapering off over the last fifth, then idle.
        const minutes = Math.round(durationMs / 60_000);
        const chargingMin = chargingMs / 60_000;
        let e = register;
        for (let m = 0; m <= minutes; m++) {
          const w = m >= chargingMin ? 0 : m > chargingMin * 0.8 ? Math.round(11040 * (chargingMin - m) / (chargingMin * 0.2)) : 11040;
          sample.run(id, start + m * 60_000, Math.min(e, register + energyWh), w);
          e += Math.round(w / 60);
        }
        register += energyWh;
      }
    }
  })();
  for (const id of ids) d.ledger.recompute(id);
}
