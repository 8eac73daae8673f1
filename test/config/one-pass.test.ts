import { describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { runCli, spawnDaemon, tempDir, writeSimConfig } from '../support/station.js';

function error(text: string): ConfigError {
  try {
    parseConfig(text, 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

/** Line: text, as the technician reads them (line numbers are those of the file, from 1). */
const located = (text: string) => error(text).located.map((p) => `${p.line ?? '?'}:${p.column ?? '?'} ${p.text}`);

// Fourteen mistakes of ten kinds; several of them used to appear only once another was fixed.
const TEN_MISTAKES = `station: { id: CP-001, model: EVSE-1 }
storage:
  dir: ./data
  flushIntervall: 60
auth:
  mode: local
  tags:
    - { idTag: "04A1B2C3" }
    - { idTag: "04a1b2c3", enabled: maybe }
api:
  listen: 0.0.0.0:8080
  allowedHosts: ["http://evse.local/"]
log: { level: warning }
connectors:
  - id: 1
    maxCurrentA: 100
    phases: 3
    hardware: { driver: sim }
    meter: { model: sdm631, transport: serial }
  - id: 1
    maxCurrentA: "16A"
    phases: 1
    hardware: { driver: sim }
    meter:
      model: sdm630
      transport: serial
      baudRate: 9601
`;

describe('every problem of a config in one pass, each with its line and column', () => {
  it('reports fourteen mistakes of ten kinds at once, in file order', () => {
    expect(located(TEN_MISTAKES)).toEqual([
      // A missing key points to its parent.
      '1:1 station.vendor: is required (must be a non-empty text)',
      '4:3 storage.flushIntervall: unknown key (did you mean flushIntervalS?)',
      '9:16 auth.tags[1].idTag: duplicate tag 04a1b2c3 (already auth.tags[0]): list each tag once (got "04a1b2c3")',
      '9:37 auth.tags[1].enabled: must be true or false (got "maybe")',
      '11:11 api.listen: listens beyond localhost without a sign-in password or api.token, so anyone on the network could control the station: set a password for the page (`evsed passwd`) and/or api.token (16 characters or more) for scripts, listen on 127.0.0.1, or set api.trustedNetwork: true if everyone on this network may (got "0.0.0.0:8080")',
      '12:18 api.allowedHosts[0]: must be a host name without scheme, port or path, e.g. evse.local (got "http://evse.local/")',
      '13:15 log.level: must be one of fatal | error | warn | info | debug | trace (got "warning", did you mean warn?)',
      '16:18 connectors[0].maxCurrentA: must be between 6 and 80 (got 100)',
      // The rest of that meter is checked as the model it is most likely meant to be.
      '19:5 connectors[0].meter.path: is required for transport serial (e.g. /dev/ttyUSB0) (got nothing)',
      '19:21 connectors[0].meter.model: must be one of sim | abb-b23 | em24 | em340 | or-we-517 | pro380 | sdm120 | sdm630 | sdm72 | wm3m4c (got "sdm631", did you mean sdm630?)',
      '20:9 connectors[1].id: duplicate connector id 1: ids must be unique (got 1)',
      '21:18 connectors[1].maxCurrentA: must be a number between 6 and 80 (got "16A")',
      // A missing key in a block mapping points to the mapping's key.
      '24:5 connectors[1].meter.path: is required for transport serial (e.g. /dev/ttyUSB0) (got nothing)',
      '27:17 connectors[1].meter.baudRate: must be one of 1200 | 2400 | 4800 | 9600 | 19200 | 38400 | 57600 | 115200 (got 9601)',
    ]);
  });

  it('evsed config check prints them with their lines and exits 78', async () => {
    const file = join(tempDir(), 'bad.yaml');
    writeFileSync(file, TEN_MISTAKES);
    const r = await runCli(['config', 'check', file]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${file}: invalid configuration (14 problems)`);
    expect(r.stderr).toContain('  - line 4, column 3: storage.flushIntervall: unknown key (did you mean flushIntervalS?)');
    expect(r.stderr).toContain('  - line 27, column 17: connectors[1].meter.baudRate: must be one of');
    expect(r.stderr.split('\n').filter((l) => l.startsWith('  - line ')).length).toBe(14);
  });
});

describe('a rule that spans keys runs while other keys are wrong', () => {
  const BASE = `station: { id: CP-001, vendor: Example, model: EVSE-1 }
storage: { dir: ./data }
auth: { mode: free }
connectors:
  - id: 1
    maxCurrentA: 32
    phases: 3
    hardware: { driver: sim }
    meter: { model: sim }
`;
  const cases: [string, string, string[]][] = [
    ['ocpp auth without an ocpp section, and a bad log level', BASE.replace('mode: free', 'mode: ocpp') + 'log: { level: 3 }\n', ['auth.mode: auth.mode ocpp needs an ocpp section', 'log.level: must be one of']],
    ['the same tag twice, and a bad connector', BASE.replace('auth: { mode: free }', 'auth: { mode: local, tags: [ { idTag: AB12 }, { idTag: ab12 } ] }').replace('phases: 3', 'phases: three'), ['auth.tags[1].idTag: duplicate tag ab12', 'connectors[0].phases: must be 1 or 3']],
    ['a charging timer on a connector that does not exist, and a bad connector', BASE.replace('phases: 3', 'phases: three') + 'timers: [ { start: "22:00", end: "06:00", connectors: [4] } ]\n', ['timers[0].connectors[0]: no connector 4', 'connectors[0].phases: must be 1 or 3']],
    ['a phase relay on a 1-phase connector, and a bad second connector', BASE.replace('phases: 3', 'phases: 1').replace('driver: sim }', 'driver: sim, phaseRelay: true }') + '  - { id: 2, maxCurrentA: 16, phases: 3, hardware: { driver: simm }, meter: { model: sim } }\n', ['connectors[0].hardware.phaseRelay: needs connectors[].phases: 3', 'connectors[1].hardware.driver: driver must be one of']],
    ['mqtt password without user, and a bad interval', BASE + 'mqtt: { url: "mqtts://broker:8883", password: hunter2hunter2, publishIntervalS: fast }\n', ['mqtt: password is set but username is not', 'mqtt.publishIntervalS: must be a number']],
    ['ocpp reconnect bounds crossed, and a bad heartbeat', BASE + 'ocpp: { version: "1.6", url: "ws://csms.example/ocpp", reconnectMinS: 60, reconnectMaxS: 10, maxQueuedMessages: lots }\n', ['ocpp.reconnectMaxS: must be at least reconnectMinS (60)', 'ocpp.maxQueuedMessages: must be a']],
    ['tariff windows that overlap, and a bad tax', BASE + 'tariff:\n  currency: EUR\n  energyPerKWh: 0.30\n  taxPercent: nineteen\n  timeOfUse:\n    - { days: [mon-fri], from: "07:00", to: "22:00", energyPerKWh: 0.35 }\n    - { days: [fri], from: "21:00", to: "23:00", energyPerKWh: 0.25 }\n', ['tariff.timeOfUse[1]: overlaps timeOfUse[0]', 'tariff.taxPercent: must be a percentage']],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      const problems = error(text).problems;
      for (const e of expected) expect(problems.some((p) => p.startsWith(e)), `${e}\n in ${problems.join('\n')}`).toBe(true);
    });
  }

  it('does not judge a rule on a value that is wrong itself', () => {
    // The duplicate check would compare "x" with 1; the wrong id is reported once, on its own.
    expect(error(BASE + '  - { id: x, maxCurrentA: 16, phases: 3, hardware: { driver: sim }, meter: { model: sim } }\n').problems).toEqual([
      'connectors[1].id: must be a number between 1 and 8 (got "x")',
    ]);
  });
});

describe('did you mean', () => {
  const withMeter = (meter: string) => `station: { id: CP-001, vendor: Example, model: EVSE-1 }
storage: { dir: ./data }
auth: { mode: free }
connectors:
  - { id: 1, maxCurrentA: 32, phases: 3, hardware: { driver: sim }, meter: ${meter} }
`;
  it('names the closest meter model or enum value when it is close, and nothing when it is not', () => {
    expect(error(withMeter('{ model: sdm631, transport: tcp, host: 10.0.0.2 }')).problems).toEqual([expect.stringMatching(/connectors\[0\]\.meter\.model: must be one of .* \(got "sdm631", did you mean sdm630\?\)$/)]);
    expect(error(withMeter('{ model: SDM72, transport: tcp, host: 10.0.0.2 }')).problems).toEqual([expect.stringMatching(/\(got "SDM72", did you mean sdm72\?\)$/)]);
    expect(error(withMeter('{ model: sdm630, transport: tpc, host: 10.0.0.2 }')).problems).toEqual(['connectors[0].meter.transport: must be one of serial | tcp-rtu | tcp (got "tpc", did you mean tcp?)']);
    expect(error(withMeter('{ model: kamstrup, transport: tcp, host: 10.0.0.2 }')).problems).toEqual([expect.stringMatching(/\(got "kamstrup"\)$/)]);
    expect(error(withMeter('{ model: sim }').replace('mode: free', 'mode: lokal')).problems).toEqual(['auth.mode: must be one of free | local | ocpp (got "lokal", did you mean local?)']);
  });
});

describe('config check warns as run does (one function)', () => {
  it('prints the same warnings that run logs at start', async () => {
    const dir = tempDir();
    // World-readable with a secret, and an API open to the network by declaration.
    const file = writeSimConfig(dir, { extra: 'mqtt: { url: "mqtt://127.0.0.1:1", username: u, password: secret-password-1 }\n' });
    writeFileSync(file, (await import('node:fs')).readFileSync(file, 'utf8').replace('api: { listen: 127.0.0.1:0 }', 'api: { listen: 0.0.0.0:0, trustedNetwork: true }'));
    chmodSync(file, 0o644);
    const check = await runCli(['config', 'check', file]);
    expect(check.code, check.stderr).toBe(0);
    const checked = check.stderr.split('\n').filter((l) => l.startsWith('warning: ')).map((l) => l.slice('warning: '.length));
    expect(checked.length).toBe(3);
    expect(checked.join('\n')).toContain('api.trustedNetwork');

    const daemon = await spawnDaemon(file);
    await daemon.stop();
    const logged = daemon.lines.flatMap((l) => {
      try {
        const j = JSON.parse(l) as { level: number; msg: string };
        return j.level === 40 && j.msg.startsWith('config: ') ? [j.msg.slice('config: '.length)] : [];
      } catch {
        return [];
      }
    });
    expect(logged).toEqual(checked);
    // Nothing else at start warns about the configuration on its own.
    expect(daemon.lines.filter((l) => l.includes('beyond localhost')).length).toBe(1);
  });
});

describe('a rule never reads a section that is missing or wrong', () => {
  it('reports the missing sections alone', () => {
    expect(error('station: { id: CP-1 }\n').problems).toEqual([
      'station.vendor: is required (must be a non-empty text)',
      'station.model: is required (must be a non-empty text)',
      'storage: is required (a section: see config/evsed.example.yaml for its keys)',
      'auth: is required (a section: see config/evsed.example.yaml for its keys)',
      'connectors: is required (a list)',
    ]);
    expect(error('station: { id: CP-1, vendor: V, model: M }\nstorage: { dir: . }\nauth: 5\nconnectors: {}\n').problems).toEqual([
      'auth: must be a section: see config/evsed.example.yaml for its keys (got 5)',
      'connectors: must be a list (got {})',
    ]);
  });
});
