import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Aedes } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, spawnDaemon, tempDir, until, writeSimConfig, type DaemonProcess } from '../support/station.js';
import { Csms } from '../ocpp/csms.js';
import { createLogger, logSecrets } from '../../src/log.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';

/**
 * Secrets are never echoed: config errors (`config check` and `run`), every log line of a daemon run
 * at level trace, the API's answers, and OCPP configuration changes. Each secret is a value nothing
 * else could produce, and the whole output is searched for it.
 */
const API_TOKEN = 'ApiTokenSecret-7c1d5e';
const SHORT_TOKEN = 'ShortTok-91b'; // 12 characters: api.token needs 16
const OCPP_PASSWORD = 'OcppPasswordSecret-93a1';
const MQTT_PASSWORD = 'MqttPasswordSecret-40fe';
const AUTH_KEY = Buffer.from('AuthKeyInitial-5b2e77').toString('hex'); // 21 bytes: too long (16-20) → a config error
const AUTH_KEY_OK = Buffer.from('AuthKeyInit-5b2e77').toString('hex'); // 18 bytes
const AUTH_KEY_NEW = Buffer.from('AuthKeyNewer-0d9c31').toString('hex');
const AUTH_KEY_BAD = 'NotHexAuthKeyFromCsms-6f0a';
const URL_PASSWORD = 'UrlPasswordSecret-2d88';
const ALL = [API_TOKEN, SHORT_TOKEN, OCPP_PASSWORD, MQTT_PASSWORD, AUTH_KEY, AUTH_KEY_OK, AUTH_KEY_NEW, AUTH_KEY_BAD, URL_PASSWORD];
const decoded = (hex: string) => Buffer.from(hex, 'hex').toString('utf8');

/** Every secret found in `text` (in any form it was given or used in). */
function leaked(text: string): string[] {
  const forms = ALL.flatMap((s) => [s, /^[0-9a-f]+$/.test(s) ? decoded(s) : s, s.toUpperCase()]);
  return [...new Set(forms.filter((f) => text.includes(f)))];
}

const dirs: string[] = [];
let daemon: DaemonProcess | undefined;
let csms: Csms | undefined;
let broker: { close(): Promise<void> } | undefined;
afterEach(async () => {
  if (daemon && daemon.proc.exitCode === null) await daemon.kill();
  daemon = undefined;
  await csms?.close();
  csms = undefined;
  await broker?.close();
  broker = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function configFile(edit: (text: string) => string, extra = ''): string {
  const dir = tempDir('evsed-secrets-');
  dirs.push(dir);
  const file = writeSimConfig(dir, { extra });
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return file;
}

const withToken = (token: string) => (t: string) => t.replace('api: { listen: 127.0.0.1:0 }', `api: { listen: 127.0.0.1:0, token: ${JSON.stringify(token)} }`);

describe('config errors never echo a secret', () => {
  const cases: [string, () => string, string][] = [
    ['api.token too short', () => configFile(withToken(SHORT_TOKEN)), 'api.token'],
    ['ocpp.password too long', () => configFile((t) => t, `ocpp: { version: "1.6", url: "ws://127.0.0.1:9/ocpp", password: "${OCPP_PASSWORD.repeat(5)}" }\n`), 'ocpp.password'],
    ['ocpp.password with security profile 0', () => configFile((t) => t, `ocpp: { version: "1.6", url: "ws://127.0.0.1:9/ocpp", securityProfile: 0, password: "${OCPP_PASSWORD}" }\n`), 'ocpp.password'],
    ['a bad AuthorizationKey', () => configFile((t) => t, `ocpp: { version: "1.6", url: "ws://127.0.0.1:9/ocpp", password: "x", keys: { AuthorizationKey: "${AUTH_KEY}" } }\n`), 'ocpp.keys.AuthorizationKey'],
    ['a bad AuthorizationKey (not hex)', () => configFile((t) => t, `ocpp: { version: "1.6", url: "ws://127.0.0.1:9/ocpp", password: "x", keys: { AuthorizationKey: "${AUTH_KEY_BAD}" } }\n`), 'ocpp.keys.AuthorizationKey'],
    ['mqtt.password not a text', () => configFile((t) => t, `mqtt: { url: "mqtt://127.0.0.1:1", username: u, password: { value: "${MQTT_PASSWORD}" } }\n`), 'mqtt.password'],
    ['mqtt.password without a username', () => configFile((t) => t, `mqtt: { url: "mqtt://127.0.0.1:1", password: "${MQTT_PASSWORD}" }\n`), 'mqtt'],
    ['a password in a broker URL that is not valid', () => configFile((t) => t, `mqtt: { url: "mqtx://evsed:${URL_PASSWORD}@broker:1883" }\n`), 'mqtt.url'],
    ['a password in a CSMS URL that is not valid', () => configFile((t) => t, `ocpp: { version: "1.6", url: "https://cp:${URL_PASSWORD}@csms.example/ocpp" }\n`), 'ocpp.url'],
  ];
  // What `config check` and `run` print is the ConfigError's message (checked through both
  // commands below); each case is checked in-process, which is quicker than two processes each.
  for (const [name, makeFile, key] of cases) {
    it(`${name}: the error names ${key}, the value is not shown`, () => {
      let message = '';
      try {
        loadConfig(makeFile());
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message).toMatch(new RegExp(`  - line \\d+, column \\d+: ${key.replaceAll(".", "\\.")}:`));
      expect(leaked(message), message).toEqual([]);
    });
  }

  it('config check and run print the same lines, with exit 78', async () => {
    for (const [, makeFile, key] of [cases[0]!, cases[3]!, cases[7]!]) {
      const file = makeFile();
      for (const args of [['config', 'check', file], ['run', '--config', file]]) {
        const r = await runCli(args);
        expect(r.code, r.stderr).toBe(78);
        expect(r.stderr).toMatch(new RegExp(`  - line \\d+, column \\d+: ${key.replaceAll(".", "\\.")}:`));
        expect(leaked(r.stdout + r.stderr), r.stderr).toEqual([]);
      }
    }
  });
});

describe('a daemon run never logs or shows a secret', () => {
  it('api.token, OCPP and MQTT passwords and every AuthorizationKey (set in the file, by the CSMS, refused) stay out of every log line at level trace and of the API', async () => {
    csms = new Csms();
    const ocppPort = await csms.listen();
    const seenMqtt: string[] = [];
    const aedes = await Aedes.createBroker();
    aedes.authenticate = (_client, _user, password, done) => {
      seenMqtt.push(password?.toString() ?? '');
      done(null, true);
    };
    const sockets = new Set<Socket>();
    const server: Server = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      aedes.handle(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    broker = {
      close: async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => aedes.close(() => r()));
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
    const mqttPort = (server.address() as AddressInfo).port;
    const file = configFile(
      (t) => withToken(API_TOKEN)(t).replace('level: info', 'level: trace'),
      `ocpp:
  version: "1.6"
  url: ws://127.0.0.1:${ocppPort}/ocpp
  password: ${JSON.stringify(OCPP_PASSWORD)}
  reconnectMinS: 0.05
  reconnectMaxS: 0.3
  keys: { HeartbeatInterval: 300, AuthorizationKey: ${JSON.stringify(AUTH_KEY_OK)} }
mqtt:
  url: mqtt://127.0.0.1:${mqttPort}
  username: evsed
  password: ${JSON.stringify(MQTT_PASSWORD)}
`,
    );
    daemon = await spawnDaemon(file);
    const d = daemon;
    await until(() => csms!.client(), 'station connected to the CSMS');
    await until(() => seenMqtt.length > 0, 'station connected to the broker');
    // The secrets were really in use.
    expect(csms.auths[0]!.password).toBe(decoded(AUTH_KEY_OK));
    expect(seenMqtt[0]).toBe(MQTT_PASSWORD);

    const auth = { authorization: `Bearer ${API_TOKEN}` };
    for (const [path, headers] of [[`/api/status`, auth], [`/api/status?token=${API_TOKEN}`, {}], ['/api/status', { authorization: `Bearer ${API_TOKEN}x` }], [`/api/nothing?token=${API_TOKEN}`, {}]] as const) {
      const res = await fetch(d.url + path, { headers });
      const body = await res.text();
      expect(leaked(body), `${path}: ${body}`).toEqual([]);
    }
    expect((await fetch(`${d.url}/api/status`, { headers: auth })).status).toBe(200);

    expect(await csms.call('ChangeConfiguration', { key: 'AuthorizationKey', value: AUTH_KEY_BAD })).toEqual({ status: 'Rejected' });
    expect(await csms.call('ChangeConfiguration', { key: 'authorizationkey', value: AUTH_KEY_BAD })).toEqual({ status: 'NotSupported' });
    expect(await csms.call('ChangeConfiguration', { key: 'AuthorizationKey', value: AUTH_KEY_NEW })).toEqual({ status: 'Accepted' });
    await until(() => csms!.auths.length >= 2, 'reconnected with the new key');
    expect(csms.auths[1]!.password).toBe(decoded(AUTH_KEY_NEW));
    await until(() => csms!.client(), 'connected again');
    expect(leaked(JSON.stringify(await csms.call('GetConfiguration', {})))).toEqual([]);

    expect(await d.stop()).toBe(0);
    const out = d.lines.join('\n');
    expect(leaked(out)).toEqual([]);
    expect(out).toContain('OCPP: ChangeConfiguration'); // the changes were logged, without their values
    expect(out).toContain('api request'); // level trace: every request logged
  });
});

describe('the logger scrubs every secret it was told about', () => {
  it('in the message, any field, an error text, JSON-escaped and URL-encoded; in JSON and in pretty output', async () => {
    const secret = 'Logged"Secret/with spaces-55';
    logSecrets.add(secret);
    logSecrets.add('abc'); // too short to scrub: "abc" stays readable elsewhere
    for (const format of ['json', 'pretty'] as const) {
      const out: string[] = [];
      const log = await createLogger({ level: 'trace', format, destination: { write: (l: string) => out.push(l) } });
      log.info({ nested: { url: `/api/x?token=${encodeURIComponent(secret)}`, value: secret }, err: new Error(`failed with ${secret}`) }, `message ${secret} abc`);
      const text = out.join('');
      expect(text).not.toContain(secret);
      expect(text).not.toContain(encodeURIComponent(secret));
      expect(text).not.toContain(JSON.stringify(secret).slice(1, -1));
      expect(text).toContain('***');
      expect(text).toContain('abc');
    }
  });
});

describe('a config file holding secrets that every user can read is warned about', () => {
  it('names the file and the secret keys, config check and run; 0640 is quiet', async () => {
    const file = configFile(withToken(API_TOKEN), `mqtt: { url: "mqtts://127.0.0.1:1", username: evsed, password: "${MQTT_PASSWORD}" }\n`);
    chmodSync(file, 0o644);
    const r = await runCli(['config', 'check', file]);
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toBe(`warning: ${file}: every user of this machine can read it, and it holds api.token, mqtt.password; make it chmod 640, owned by root with group evsed (docs/install-pi.md)`);
    daemon = await spawnDaemon(file);
    expect(daemon.lines.some((l) => l.includes('every user of this machine can read it'))).toBe(true);
    await daemon.stop();
    chmodSync(file, 0o640);
    expect((await runCli(['config', 'check', file])).stderr).toBe('');
  });
});

describe('risky MQTT settings are warned about', () => {
  it('a password over plain mqtt:// and tls.rejectUnauthorized false: config check warns (exit 0) and run logs the same warnings', async () => {
    const plain = configFile((t) => t, `mqtt: { url: "mqtt://127.0.0.1:1", username: evsed, password: "${MQTT_PASSWORD}" }\n`);
    const anyCert = configFile((t) => t, 'mqtt: { url: "mqtts://127.0.0.1:1", tls: { rejectUnauthorized: false } }\n');
    const safe = configFile((t) => t, `mqtt: { url: "mqtts://127.0.0.1:1", username: evsed, password: "${MQTT_PASSWORD}" }\n`);
    for (const f of [plain, anyCert, safe]) chmodSync(f, 0o640);
    const check = async (file: string) => {
      const r = await runCli(['config', 'check', file]);
      expect(r.code).toBe(0);
      expect(leaked(r.stdout + r.stderr)).toEqual([]);
      return r.stderr.split('\n').filter(Boolean);
    };
    expect(await check(plain)).toEqual([expect.stringMatching(/^warning: mqtt\.password: sent in clear text over mqtt:\/\/.*use mqtts:\/\//)]);
    expect(await check(anyCert)).toEqual([expect.stringMatching(/^warning: mqtt\.tls\.rejectUnauthorized: false accepts any broker certificate/)]);
    expect(await check(safe)).toEqual([]);

    for (const [file, warning] of [[plain, 'mqtt.password: sent in clear text'], [anyCert, 'mqtt.tls.rejectUnauthorized: false']] as const) {
      daemon = await spawnDaemon(file);
      const line = daemon.lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as { level: number; msg: string }];
        } catch {
          return [];
        }
      }).find((l) => String(l.msg).includes(warning));
      expect(line, daemon.lines.join('\n')).toMatchObject({ level: 40 });
      await daemon.stop();
      expect(leaked(daemon.lines.join('\n'))).toEqual([]);
    }
  });
});
