import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';

export const TAG = 'DASH-TAG-1';

/** The browser the dashboard tests drive (they say plainly when it is not installed). */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface TestDaemon {
  daemon: Daemon;
  config: LoadedConfig['config'];
  base: string;
  dir: string;
  /** fetch against the daemon, with the token when one is configured. */
  call(path: string, init?: RequestInit): Promise<Response>;
  json<T = any>(path: string, init?: RequestInit): Promise<T>;
  post(path: string, body?: unknown): Promise<any>;
  /** Stops the daemon; the temp dir goes too unless kept (to start again on the same store). */
  close(opts?: { keepDir?: boolean }): Promise<void>;
}

/** A real daemon on 127.0.0.1 (random port) with a simulated connector and meter, storage in a temp dir. */
export async function startTestDaemon(opts: { token?: string; /** api.passwordHash: the page's sign-in. */ passwordHash?: string; port?: number; dir?: string; tariff?: string; connectors?: number; /** More top-level config sections (YAML). */ extra?: string } = {}): Promise<TestDaemon> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'evsed-dash-'));
  const file = join(dir, 'evsed.yaml');
  writeFileSync(
    file,
    [
      'station: { id: CP-DASH-1, vendor: evsed, model: sim }',
      `storage: { dir: ${JSON.stringify(join(dir, 'data'))}, sampleIntervalS: 1, flushIntervalS: 1 }`,
      'auth:',
      '  mode: local',
      `  tags: [ { idTag: ${TAG}, name: Test driver } ]`,
      `api: { listen: "127.0.0.1:${opts.port ?? 0}"${opts.token ? `, token: ${opts.token}` : ''}${opts.passwordHash ? `, passwordHash: "${opts.passwordHash}"` : ''} }`,
      'clock: { trust: always }',
      // The daemon shares its event loop with the test's browser driver (screenshots, page I/O): a
      // long lag there is the test's, not the station's, and must not latch a stall fault mid-session.
      'supervision: { stallThresholdMs: 10000 }',
      ...(opts.tariff ? [`tariff: ${opts.tariff}`] : []),
      'connectors:',
      ...Array.from({ length: opts.connectors ?? 1 }, (_, i) => [
        `  - id: ${i + 1}`,
        '    maxCurrentA: 32',
        '    phases: 3',
        '    hardware: { driver: sim, ev: { maxCurrentA: 16, phases: 3 } }',
        `    meter: { model: sim, initialEnergyWh: ${1234567 + i * 1_000_000} }`,
      ]).flat(),
      ...(opts.extra ? [opts.extra] : []),
      '',
    ].join('\n'),
  );
  const loaded = loadConfig(file);
  const daemon = await startDaemon(loaded, silentLogger());
  const base = `http://127.0.0.1:${daemon.address.port}`;
  const call = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (opts.token && !headers.has('authorization')) headers.set('authorization', `Bearer ${opts.token}`);
    return fetch(base + path, { ...init, headers });
  };
  const json = async (path: string, init?: RequestInit): Promise<any> => {
    const res = await call(path, init);
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const post = (path: string, body: unknown = {}) =>
    json(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return {
    daemon,
    config: loaded.config,
    base,
    dir,
    call,
    json,
    post,
    async close({ keepDir = false } = {}) {
      await daemon.stop();
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a value that is not undefined (no fixed sleeps). */
export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
