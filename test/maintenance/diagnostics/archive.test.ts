import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar';
import { archiveName, DiagnosticsCollector, type DiagnosticsProviders } from '../../../src/maintenance/diagnostics/archive.js';
import type { LogSource } from '../../../src/maintenance/diagnostics/log-source.js';
import { windowOf } from '../../../src/maintenance/diagnostics/window.js';
import { secretValues } from '../../../src/config/secrets.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'evsed-diag-'));
  dirs.push(d);
  return d;
}

async function unpack(path: string): Promise<Map<string, string>> {
  const out = tmp();
  await extract({ file: path, cwd: out });
  return new Map(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
}

const AUTH_KEY_TEXT = 'EvsedKey-7Qx!2024z';
const AUTH_KEY = Buffer.from(AUTH_KEY_TEXT).toString('hex');
const CSMS_SET_KEY_TEXT = 'NewKeyFromCsms-99';
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KEY_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** A test config with every kind of secret the station holds. */
const CONFIG = {
  station: { id: 'CP-DIAG' },
  api: { listen: '127.0.0.1:8080', token: 'api-token-4f9c2b7d1e' },
  ocpp: {
    version: '1.6', url: 'ws://csms.example:9000/ocpp', password: 'ocpp-basic-pw-31337', securityProfile: 1,
    keys: { AuthorizationKey: AUTH_KEY, HeartbeatInterval: '300' },
  },
  mqtt: { url: 'mqtts://evsed:mqtt-url-pw-8812@broker:8883', password: 'mqtt-pw-5521', username: 'evsed' },
  pv: { source: { mqtt: { password: 'pv-mqtt-pw-7734' } } },
};

/** Every form in which a secret of CONFIG (or the key the CSMS set) could have leaked. */
function secretForms(): string[] {
  const values = [...secretValues(CONFIG), Buffer.from(CSMS_SET_KEY_TEXT).toString('hex')];
  const forms = new Set<string>();
  for (const v of values) {
    forms.add(v);
    forms.add(encodeURIComponent(v));
    forms.add(Buffer.from(v).toString('base64'));
    if (/^([0-9a-f]{2})+$/i.test(v)) {
      const decoded = Buffer.from(v, 'hex').toString('latin1');
      forms.add(v.toUpperCase());
      forms.add(decoded);
      forms.add(Buffer.from(`CP-DIAG:${decoded}`).toString('base64'));
    }
  }
  for (const line of KEY_PEM.split('\n')) if (line.length >= 16 && !line.startsWith('-----')) forms.add(line);
  forms.add('PRIVATE KEY');
  return [...forms];
}

function providers(src: LogSource, over: Partial<DiagnosticsProviders> = {}): DiagnosticsProviders {
  return {
    stationId: 'CP-DIAG',
    logSource: async () => src,
    config: () => CONFIG,
    versions: () => ({ evsed: '0.1.0', node: process.version }),
    storeIntegrity: () => ['ok'],
    queues: () => ({ pending: { StartTransaction: 1 }, failed: {} }),
    secrets: () => secretValues(CONFIG),
    privateKeys: async () => [KEY_PEM],
    ...over,
  };
}

const line = (iso: string, msg: string, extra = '') => `{"level":30,"time":"${iso}","module":"ocpp"${extra},"msg":"${msg}"}`;

describe('the diagnostics archive', () => {
  it('holds exactly the window\'s log lines from log.file and its rotated predecessor, and the other parts', async () => {
    const dir = tmp();
    const file = join(dir, 'evsed.log');
    writeFileSync(`${file}.1`, [line('2026-12-03T09:00:00.000Z', 'old, before the window'), line('2026-12-03T10:00:00.000Z', 'first in window')].join('\n') + '\n');
    writeFileSync(file, [line('2026-12-03T10:15:00.000Z', 'second'), '    at a stack line of second', line('2026-12-03T11:00:00.000Z', 'last in window'), line('2026-12-03T11:00:01.000Z', 'after the window')].join('\n') + '\n');
    const c = new DiagnosticsCollector(providers({ kind: 'file', path: file }));
    const name = archiveName('diagnostics', 'CP-DIAG', Date.parse('2026-12-03T12:00:00.123Z'));
    expect(name).toBe('diagnostics-CP-DIAG-20261203T120000Z.tar.gz');
    const res = await c.build({ kind: 'diagnostics', window: windowOf('2026-12-03T10:00:00Z', '2026-12-03T11:00:00Z'), dir: join(dir, 'out'), fileName: name });
    expect(statSync(res.path).mode & 0o777).toBe(0o600);
    const files = await unpack(res.path);
    expect([...files.keys()].sort()).toEqual(['config.yaml', 'log.txt', 'manifest.json', 'queues.json', 'store-integrity.txt', 'versions.json']);
    expect(files.get('log.txt')!.split('\n').filter(Boolean).map((l) => (l.startsWith('{') ? JSON.parse(l).msg : l))).toEqual(['first in window', 'second', '    at a stack line of second', 'last in window']);
    expect(files.get('store-integrity.txt')).toBe('ok\n');
    expect(JSON.parse(files.get('queues.json')!)).toEqual({ pending: { StartTransaction: 1 }, failed: {} });
    expect(JSON.parse(files.get('versions.json')!)).toMatchObject({ evsed: '0.1.0' });
    expect(files.get('config.yaml')).toContain('HeartbeatInterval: "300"');
    const manifest = JSON.parse(files.get('manifest.json')!);
    expect(manifest).toMatchObject({ station: 'CP-DIAG', kind: 'diagnostics', window: { from: '2026-12-03T10:00:00.000Z', to: '2026-12-03T11:00:00.000Z' } });
    expect(manifest.parts.every((p: { droppedBytes: number }) => p.droppedBytes === 0)).toBe(true);
  });

  it('holds no secret of the config in any form, even where the log leaked them', async () => {
    const dir = tmp();
    const file = join(dir, 'evsed.log');
    const t = '2026-12-03T10:00:00.000Z';
    const csmsKey = Buffer.from(CSMS_SET_KEY_TEXT).toString('hex');
    // lines an older release (or a library) might have written, each carrying a secret in some form
    const leaks = [
      line(t, `config ${JSON.stringify(CONFIG).replaceAll('"', '\\"')}`),
      line(t, `connect ws://CP-DIAG:${CONFIG.ocpp.password}@csms.example:9000`),
      line(t, `Authorization: Basic ${Buffer.from(`CP-DIAG:${AUTH_KEY_TEXT}`).toString('base64')}`),
      line(t, `password on the wire ${AUTH_KEY_TEXT} and as hex ${AUTH_KEY.toUpperCase()}`),
      line(t, `ChangeConfiguration AuthorizationKey=${csmsKey} (${CSMS_SET_KEY_TEXT})`),
      line(t, `api ?token=${encodeURIComponent(CONFIG.api.token)}`),
      line(t, 'the key', `,"pem":${JSON.stringify(KEY_PEM)}`),
      KEY_PEM.trimEnd(),
      line(t, 'mqtt', `,"url":"${CONFIG.mqtt.url}","pw":"${CONFIG.mqtt.password}","pv":"${CONFIG.pv.source.mqtt.password}"`),
    ];
    writeFileSync(file, leaks.join('\n') + '\n');
    const c = new DiagnosticsCollector(providers({ kind: 'file', path: file }));
    const res = await c.build({ kind: 'diagnostics', window: {}, dir: join(dir, 'out'), fileName: 'd.tar.gz', secrets: [csmsKey] });
    const files = await unpack(res.path);
    const all = [...files.values()].join('\n');
    // the lines are there (scrubbed), so the test greps real content
    expect(files.get('log.txt')!.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(leaks.length);
    expect(all).toContain('[private key removed]');
    for (const form of secretForms()) expect(all, `secret form ${form}`).not.toContain(form);
    // the raw archive too (a file name or header outside the parts)
    const raw = readFileSync(res.path);
    for (const form of secretForms()) expect(raw.includes(form)).toBe(false);
  });

  it('each part and the whole archive stay within their bounds, with a note where something was cut', async () => {
    const dir = tmp();
    const file = join(dir, 'evsed.log');
    const lines = Array.from({ length: 2000 }, (_, i) => line(new Date(Date.parse('2026-12-03T10:00:00Z') + i * 1000).toISOString(), `line ${i}`));
    writeFileSync(file, lines.join('\n') + '\n');
    const c = new DiagnosticsCollector(providers({ kind: 'file', path: file }), { partMaxBytes: 20_000, totalMaxBytes: 30_000 });
    const res = await c.build({ kind: 'diagnostics', window: {}, dir: join(dir, 'out'), fileName: 'd.tar.gz' });
    const files = await unpack(res.path);
    const log = files.get('log.txt')!;
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(20_000);
    expect(log).toMatch(/^\[evsed: \d+ earlier line\(s\), \d+ bytes, left out/);
    expect(log.trimEnd().endsWith('"msg":"line 1999"}')).toBe(true);
    const total = [...files.entries()].filter(([n]) => n !== 'manifest.json').reduce((a, [, v]) => a + Buffer.byteLength(v), 0);
    expect(total).toBeLessThanOrEqual(30_000);
    expect(JSON.parse(files.get('manifest.json')!).parts.find((p: { name: string }) => p.name === 'log.txt').droppedBytes).toBeGreaterThan(0);
  });

  it('under systemd the lines come from journalctl for the unit and the window', async () => {
    const dir = tmp();
    const fake = join(dir, 'journalctl');
    const argsFile = join(dir, 'args');
    writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\necho '2026-12-03T10:00:05+0000 pi evsed[7]: {"msg":"from the journal"}'\necho '2026-12-03T10:00:06+0000 pi evsed[7]: token ${CONFIG.api.token}'\n`);
    chmodSync(fake, 0o755);
    const c = new DiagnosticsCollector(providers({ kind: 'journald', unit: 'evsed.service', journalctl: fake }));
    const res = await c.build({ kind: 'diagnostics', window: windowOf('2026-12-03T10:00:00Z', '2026-12-03T10:01:00Z'), dir: join(dir, 'out'), fileName: 'j.tar.gz' });
    const files = await unpack(res.path);
    expect(files.get('log.txt')).toBe('2026-12-03T10:00:05+0000 pi evsed[7]: {"msg":"from the journal"}\n2026-12-03T10:00:06+0000 pi evsed[7]: token ***\n');
    expect(readFileSync(argsFile, 'utf8').trim().split('\n')).toEqual(['-u', 'evsed.service', '-o', 'short-iso', '--no-pager', '-q', `--since=@${Date.parse('2026-12-03T10:00:00Z') / 1000}`, `--until=@${Date.parse('2026-12-03T10:01:00Z') / 1000}`]);
  });

  it('a security log archive holds the security log lines given, scrubbed', async () => {
    const dir = tmp();
    const c = new DiagnosticsCollector(providers({ kind: 'none', why: 'test' }));
    const res = await c.build({ kind: 'security-log', window: {}, dir, fileName: 's.tar.gz', securityLog: ['2026-12-03T10:00:00Z StartupOfTheDevice', `2026-12-03T10:01:00Z ReconfigurationOfSecurityParameters ${CONFIG.ocpp.password}`] });
    const files = await unpack(res.path);
    expect([...files.keys()].sort()).toEqual(['manifest.json', 'security-log.txt']);
    expect(files.get('security-log.txt')).toBe('2026-12-03T10:00:00Z StartupOfTheDevice\n2026-12-03T10:01:00Z ReconfigurationOfSecurityParameters ***\n');
  });
});
