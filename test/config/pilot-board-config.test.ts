import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { EXIT_CONFIG } from '../../src/config/errors.js';
import { runCli, tempDir, ROOT } from '../support/station.js';
import { problems } from '../support/config-problems.js';

/** `hardware.driver: pilot-board` in the config file: what `evsed config check` accepts and refuses. */

const BOARD = `      driver: pilot-board
      model: evse-din
      path: /dev/ttyUSB0`;

function config(hardware = BOARD, more = ''): string {
  return `station: { id: CP-001, vendor: Example, model: EVSE-1 }
storage: { dir: ./data }
auth: { mode: free }
connectors:
  - id: 1
    maxCurrentA: 16
    phases: 3
    hardware:
${hardware}
    meter: { model: sim }
${more}`;
}

describe('config: hardware.driver pilot-board', () => {
  it('accepts the shipped example and fills the defaults; serial settings stay for the model file', async () => {
    const r = await runCli(['config', 'check', 'config/pilot-board.yaml'], ROOT);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const hw = parseConfig(config()).connectors[0]!.hardware;
    expect(hw).toEqual({ driver: 'pilot-board', model: 'evse-din', path: '/dev/ttyUSB0', pollMs: 250, timeoutMs: 300, offlineAfterPolls: 3 });
  });

  const cases: [string, string, string[]][] = [
    ['no path', config(BOARD.replace(/\n.*path.*/, '')), ['connectors[0].hardware.path: is required (must be a serial device path, e.g. /dev/ttyUSB0)']],
    ['an unknown model', config(BOARD.replace('evse-din', 'openevse')), ['connectors[0].hardware.model: must be one of evse-din (got "openevse")']],
    ['a baud rate the line cannot do', config(`${BOARD}\n      baudRate: 9601`), ['connectors[0].hardware.baudRate: must be one of 1200 | 2400 | 4800 | 9600 | 19200 | 38400 | 57600 | 115200 (got 9601)']],
    ['unit id 0 (broadcast)', config(`${BOARD}\n      unitId: 0`), ['connectors[0].hardware.unitId: must be between 1 and 247 (got 0)']],
    ['a poll slower than 5 s', config(`${BOARD}\n      pollMs: 6000`), ['connectors[0].hardware.pollMs: must be between 50 and 5000 (got 6000)']],
    [
      'a silent board noticed too late',
      config(`${BOARD}\n      pollMs: 2000\n      timeoutMs: 1500\n      offlineAfterPolls: 5`),
      ['connectors[0].hardware.offlineAfterPolls: a silent board would be noticed only after 17500 ms (offlineAfterPolls x (pollMs + timeoutMs)): lower offlineAfterPolls, pollMs or timeoutMs to stay within 10000 ms (got 5)'],
    ],
    ['a gpio key on a pilot board', config(`${BOARD}\n      heartbeatMs: 20`), ['connectors[0].hardware.heartbeatMs: unknown key (allowed: driver, model, path, baudRate, parity, stopBits, unitId, pollMs, timeoutMs, requestGapMs, offlineAfterPolls)']],
    [
      'two boards with one unit id on one line',
      config(`${BOARD}\n      unitId: 1`, `  - id: 2\n    maxCurrentA: 16\n    phases: 3\n    hardware: { driver: pilot-board, model: evse-din, path: /dev/ttyUSB0, unitId: 1 }\n    meter: { model: sim }\n`),
      ["connectors[1].hardware.unitId: unit 1 on /dev/ttyUSB0 is already connectors[0]'s pilot board: give each board on one line its own unit id (got 1)"],
    ],
  ];
  for (const [name, text, expected] of cases) {
    it(`refuses ${name}`, () => {
      expect(problems(text)).toEqual(expected);
    });
  }

  it('evsed config check exits 78 naming the key', async () => {
    const file = join(tempDir(), 'bad.yaml');
    writeFileSync(file, config(BOARD.replace('evse-din', 'openevse')));
    const r = await runCli(['config', 'check', file], ROOT);
    expect(r.code).toBe(EXIT_CONFIG);
    expect(r.stderr).toContain('connectors[0].hardware.model: must be one of evse-din (got "openevse")');
  });
});
