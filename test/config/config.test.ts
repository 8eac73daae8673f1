import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { EXIT_CONFIG } from '../../src/config/errors.js';
import { configWarnings } from '../../src/config/warnings.js';
import { runCli, tempDir, ROOT } from '../support/station.js';
import { problems } from '../support/config-problems.js';

const VALID = `station: { id: CP-001, vendor: Example, model: EVSE-1, serialNumber: SN-1 }
storage: { dir: ./data }
auth: { mode: free }
api: { listen: 127.0.0.1:8080 }
connectors:
  - id: 1
    maxCurrentA: 32
    phases: 3
    hardware: { driver: sim }
    meter: { model: sim }
`;

describe('config: valid files', () => {
  it('accepts the minimal file from the issue and fills defaults', () => {
    const c = parseConfig(VALID);
    expect(c.connectors[0]!.maxCurrentA).toBe(32);
    expect(c.storage.flushIntervalS).toBe(60);
    expect(c.connectors[0]!.stopTimeoutS).toBe(6);
    expect(c.log.level).toBe('info');
    expect(c.connectors[0]).toMatchObject({ phaseRotation: 'L1L2L3', priority: 0 });
    expect(c.sharing).toEqual({ mode: 'fair', increaseIntervalS: 5, resumeMarginA: 1, resumeHoldS: 30 });
  });

  it('accepts the shipped configs', async () => {
    for (const f of ['config/sim.yaml', 'config/sim-2.yaml', 'config/evsed.example.yaml']) {
      const r = await runCli(['config', 'check', f]);
      expect(r.stderr).toBe('');
      expect(r.code, f).toBe(0);
    }
  });
});

describe('config: bad files name the key, what is wrong and what is right', () => {
  const cases: [string, string, string[]][] = [
    ['current above the limit', VALID.replace('maxCurrentA: 32', 'maxCurrentA: 100'), ['connectors[0].maxCurrentA: must be between 6 and 80 (got 100)']],
    ['current below the IEC minimum', VALID.replace('maxCurrentA: 32', 'maxCurrentA: 5'), ['connectors[0].maxCurrentA: must be between 6 and 80 (got 5)']],
    ['current not a number', VALID.replace('maxCurrentA: 32', 'maxCurrentA: "32A"'), ['connectors[0].maxCurrentA: must be a number between 6 and 80 (got "32A")']],
    ['a typo in a key', VALID.replace('maxCurrentA', 'maxCurentA'), ['connectors[0].maxCurrentA: is required (must be a number between 6 and 80)', 'connectors[0].maxCurentA: unknown key (did you mean maxCurrentA?)']],
    ['an unknown top-level key', VALID + 'mqqt: { url: x }\n', ['mqqt: unknown key (did you mean mqtt?)']],
    ['phases 2', VALID.replace('phases: 3', 'phases: 2'), ['connectors[0].phases: must be 1 or 3 (got 2)']],
    ['unknown hardware driver', VALID.replace('driver: sim', 'driver: arduino'), ['connectors[0].hardware.driver: driver must be one of sim | gpio | pilot-board (got "arduino")']],
    ['bad auth mode', VALID.replace('mode: free', 'mode: open'), ['auth.mode: must be one of free | local | ocpp (got "open")']],
    ['bad listen address', VALID.replace('127.0.0.1:8080', 'localhost'), ['api.listen: must be host:port, e.g. 127.0.0.1:8080 (got "localhost")']],
    ['duplicate connector ids', VALID + `  - id: 1\n    maxCurrentA: 16\n    phases: 1\n    hardware: { driver: sim }\n    meter: { model: sim }\n`, ['connectors[1].id: duplicate connector id 1: ids must be unique (got 1)']],
    ['station id with a slash', VALID.replace('id: CP-001', 'id: CP/001'), ['station.id: must be 1-48 characters of letters, digits, . _ : - (it becomes the last path segment of the OCPP URL) (got "CP/001")']],
    ['missing section', VALID.replace('storage: { dir: ./data }\n', ''), ['storage: is required (a section: see config/evsed.example.yaml for its keys)']],
    ['a stop timeout beyond the 6 s of IEC 61851-1', VALID.replace('phases: 3', 'phases: 3\n    stopTimeoutS: 20'), ['connectors[0].stopTimeoutS: must be between 1 and 6 s: after withdrawing the offer the station opens under load at the latest after 6 s (IEC 61851-1 Table A.6 seq. 10.2); use 6 or less (got 20)']],
    ['the same tag twice (tags match case-insensitively)', VALID.replace('auth: { mode: free }', 'auth:\n  mode: local\n  tags: [ { idTag: 04A1B2C3, name: Anna }, { idTag: 04a1b2c3, name: Ben } ]'), ['auth.tags[1].idTag: duplicate tag 04a1b2c3 (already auth.tags[0]): list each tag once (got "04a1b2c3")']],
    ['a missing key', VALID.replace(' vendor: Example,', ''), ['station.vendor: is required (must be a non-empty text)']],
    ['ocpp auth without ocpp section', VALID.replace('mode: free', 'mode: ocpp'), ['auth.mode: auth.mode ocpp needs an ocpp section (or use mode local / free)']],
    ['a phase rotation that is not a rotation', VALID.replace('phases: 3', 'phases: 3\n    phaseRotation: L1L3L2'), ['connectors[0].phaseRotation: must be one of L1L2L3 | L2L3L1 | L3L1L2 (got "L1L3L2")']],
    ['a sharing mode that does not exist', VALID + 'sharing: { mode: equal }\n', ['sharing.mode: must be one of fair | priority (got "equal")']],
    ['an increase interval faster than IEC 61851-1 allows', VALID + 'sharing: { increaseIntervalS: 2 }\n', ['sharing.increaseIntervalS: must be at least 5 s: IEC 61851-1 lets the PWM offer rise at most every 5 s (the EV needs the time to follow); use 5 or more (got 2)']],
    ['YAML syntax error', 'station: { id: CP-001\nstorage: [', ['line 2, column 1: YAML syntax: Flow map in block collection must be sufficiently indented and end with a }']],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      expect(problems(text)).toEqual(expected);
    });
  }

  it('evsed config check exits 78 and prints every problem', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, VALID.replace('maxCurrentA: 32', 'maxCurrentA: 100').replace('phases: 3', 'phases: 2'));
    const r = await runCli(['config', 'check', file], ROOT);
    expect(r.code).toBe(EXIT_CONFIG);
    expect(r.stderr).toContain('connectors[0].maxCurrentA: must be between 6 and 80 (got 100)');
    expect(r.stderr).toContain('connectors[0].phases: must be 1 or 3 (got 2)');
  });

  it('evsed run with a bad config exits 78 before touching anything', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, VALID.replace('driver: sim', 'driver: arduino'));
    const r = await runCli(['run', '--config', file], ROOT);
    expect(r.code).toBe(EXIT_CONFIG);
    expect(r.stderr).toContain('connectors[0].hardware.driver');
  });

  it('a missing file is a config error with the fix', async () => {
    const r = await runCli(['config', 'check', '/nonexistent/evsed.yaml']);
    expect(r.code).toBe(EXIT_CONFIG);
    expect(r.stderr).toContain('file not found');
  });
});

describe('config: auth.mode local without config tags', () => {
  it('is valid (the owner\'s tag list authorises too) and warns how to add a card', () => {
    const cfg = parseConfig(VALID.replace('mode: free', 'mode: local'), 'test.yaml');
    expect(configWarnings(cfg).join('\n')).toMatch(/^auth\.tags: auth\.mode local with no enabled tag in the config: only cards of the owner's tag list can charge \(learn one with `evsed tags learn/m);
    expect(configWarnings(parseConfig(VALID, 'test.yaml')).join('\n')).not.toMatch(/auth\.tags/);
  });
});

