import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extract } from 'tar';
import { lineTime } from '../../../src/maintenance/diagnostics/window.js';
import { startFtpServer, type FtpFileServer } from '../../support/file-servers.js';
import { spawnDaemon, tempDir, writeSimConfig, type DaemonProcess } from '../../support/station.js';
import { Csms, waitFor } from '../csms.js';

let daemon: DaemonProcess | undefined;
let csms: Csms | undefined;
let ftp: FtpFileServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await daemon?.stop();
  await csms?.close();
  await ftp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  daemon = csms = ftp = dir = undefined;
});

const API_TOKEN = 'api-token-d1a9n0s7i5c3';
const OCPP_PASSWORD = 'ocpp-basic-password-1';
const KEY_TEXT = 'StationKey#2026-abc';
const KEY_HEX = Buffer.from(KEY_TEXT).toString('hex');

describe('evsed run: GetDiagnostics end to end', () => {
  it('the daemon uploads its own log.file lines of the window, its redacted config, versions, store and queues; no secret', async () => {
    // the daemon decides by these whether it runs under systemd (then it reads the journal)
    delete process.env.INVOCATION_ID;
    delete process.env.JOURNAL_STREAM;
    dir = tempDir('evsed-diag-daemon-');
    csms = new Csms();
    const port = await csms.listen();
    ftp = await startFtpServer();
    const logFile = join(dir, 'evsed.log');
    const file = writeSimConfig(dir, {
      authMode: 'ocpp',
      extra: `ocpp:
  version: "1.6"
  url: ws://127.0.0.1:${port}/ocpp
  password: ${OCPP_PASSWORD}
  reconnectMinS: 0.05
  reconnectMaxS: 0.3
  keys: { AuthorizationKey: "${KEY_HEX}", HeartbeatInterval: 300, MeterValueSampleInterval: 0 }
`,
    });
    writeFileSync(file, readFileSync(file, 'utf8')
      .replace('log: { level: info, format: json }', `log: { level: info, format: json, file: ${JSON.stringify(logFile)} }`)
      .replace('api: { listen: 127.0.0.1:0 }', `api: { listen: 127.0.0.1:0, token: ${API_TOKEN} }`));
    const from = new Date(Date.now() - 1000).toISOString();
    daemon = await spawnDaemon(file);
    await waitFor(() => csms!.of('StatusNotification').length >= 2, 'boot accepted');
    // the station authenticated with the decoded AuthorizationKey: the secret really was in use
    expect(csms.auths.at(-1)).toEqual({ identity: 'CP-TEST', password: KEY_TEXT });
    const to = new Date().toISOString();
    const conf = await csms.call('GetDiagnostics', { location: `${ftp.url}/`, startTime: from, stopTime: to, retries: 0 });
    await waitFor(() => csms!.of('DiagnosticsStatusNotification').length === 2, 'uploaded');
    expect(csms.of('DiagnosticsStatusNotification').map((p) => p.status)).toEqual(['Uploading', 'Uploaded']);

    const out = join(dir, 'unpacked');
    mkdirSync(out);
    await extract({ file: join(ftp.root, conf.fileName), cwd: out });
    const files = new Map(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    // exactly the log file's lines of the window
    const window = (l: string) => {
      const t = lineTime(l);
      return t !== undefined && t >= Date.parse(from) && t <= Date.parse(to);
    };
    const expected = readFileSync(logFile, 'utf8').split('\n').filter(window);
    expect(expected.length).toBeGreaterThan(3);
    expect(files.get('log.txt')!.trim().split('\n')).toEqual(expected);
    expect(files.get('log.txt')).toContain('BootNotification answered');
    expect(files.get('store-integrity.txt')).toBe('ok\n');
    expect(JSON.parse(files.get('queues.json')!)).toBeInstanceOf(Array);
    expect(JSON.parse(files.get('versions.json')!)).toMatchObject({ evsed: expect.any(String), node: process.version });
    const config = files.get('config.yaml')!;
    expect(config).toContain('id: CP-TEST');
    expect(config).toMatch(/token: "\*\*\*"/);
    const all = [...files.values()].join('\n');
    for (const s of [API_TOKEN, OCPP_PASSWORD, KEY_HEX, KEY_TEXT, Buffer.from(`CP-TEST:${KEY_TEXT}`).toString('base64')]) expect(all).not.toContain(s);
  });
});
