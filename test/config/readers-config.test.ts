import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { EXIT_CONFIG } from '../../src/config/errors.js';
import { stationReaders } from '../../src/config/readers.js';
import { runCli, tempDir } from '../support/station.js';
import { problems } from '../support/config-problems.js';

const connector = (id: number, extra = '') => `
  - id: ${id}
    maxCurrentA: 32
    phases: 3
    hardware: { driver: sim }
    meter: { model: sim }${extra}`;

const base = (connectors: string, readers = '') => `station: { id: CP-001, vendor: Example, model: EVSE-1 }
storage: { dir: ./data }
auth: { mode: free }
connectors:${connectors}
${readers}`;

describe('config: card readers', () => {
  it('a station-wide reader defaults to the only connector; a connector\'s own reader serves it; defaults filled', () => {
    const c = parseConfig(base(connector(1, '\n    reader: { driver: pn532, device: /dev/serial0 }'), 'readers:\n  - { driver: keyboard, device: /dev/input/by-id/usb-x-event-kbd }\n'));
    expect(stationReaders(c)).toEqual([
      { id: 'reader-1', driver: 'keyboard', connector: 1, device: '/dev/input/by-id/usb-x-event-kbd', layout: 'us', grab: true, format: 'hex', reverse: false, sameCardGuardMs: 2000 },
      { id: 'connector-1', driver: 'pn532', connector: 1, device: '/dev/serial0', baudRate: 115200, pollMs: 200, removeAfterPolls: 3, format: 'hex', reverse: false, sameCardGuardMs: 2000 },
    ]);
  });

  it('no readers is fine (the API can still present tags)', () => {
    expect(stationReaders(parseConfig(base(connector(1))))).toEqual([]);
  });

  const cases: [string, string, string[]][] = [
    ['a station-wide reader without a connector on a two-connector station', base(connector(1) + connector(2), 'readers:\n  - { id: door, driver: sim }\n'), ['readers[0].connector: name the connector this reader serves (the station has connectors 1, 2)']],
    ['a reader for a connector that does not exist', base(connector(1), 'readers:\n  - { id: door, driver: sim, connector: 3 }\n'), ['readers[0].connector: there is no connector 3 (connectors: 1) (got 3)']],
    ['two readers with one id', base(connector(1, '\n    reader: { id: door, driver: sim }'), 'readers:\n  - { id: door, driver: sim }\n'), ['connectors[0].reader.id: duplicate reader id door (already readers[0]): give each reader its own id (got "door")']],
    ['two readers on one device', base(connector(1), 'readers:\n  - { driver: pn532, device: /dev/serial0 }\n  - { driver: pn532, device: /dev/serial0 }\n'), ['readers[1].device: /dev/serial0 is already readers[0]\'s device: one device, one reader (got "/dev/serial0")']],
    ['an unknown driver', base(connector(1), 'readers:\n  - { driver: wiegand, device: /dev/x }\n'), ['readers[0].driver: driver must be one of keyboard | pn532 | sim (got "wiegand")']],
    ['an unknown layout', base(connector(1), 'readers:\n  - { driver: keyboard, device: /dev/x, layout: fr }\n'), ['readers[0].layout: must be one of us | de (got "fr")']],
    ['a wrong record size', base(connector(1), 'readers:\n  - { driver: keyboard, device: /dev/x, inputEventBytes: 32 }\n'), ["readers[0].inputEventBytes: must be 16 (32-bit system) or 24 (64-bit system); leave it out to use this system's (got 32)"]],
    ['an unknown format', base(connector(1), 'readers:\n  - { driver: sim, format: base64 }\n'), ['readers[0].format: must be one of hex | decimal | decimal10 (got "base64")']],
    ['a keyboard reader without its device', base(connector(1), 'readers:\n  - { driver: keyboard }\n'), [expect.stringMatching(/^readers\[0\]\.device: is required/) as unknown as string]],
    ['a typo in a reader key', base(connector(1), 'readers:\n  - { driver: sim, revers: true }\n'), ['readers[0].revers: unknown key (did you mean reverse?)']],
    ['a connector\'s own reader naming another connector', base(connector(1) + connector(2, '\n    reader: { driver: sim, connector: 1 }')), ['connectors[1].reader.connector: a connector\'s own reader serves that connector (2): leave connector out, or list the reader under readers: (got 1)']],
  ];
  for (const [name, text, expected] of cases) {
    it(`refuses ${name}, naming the key and the fix`, () => {
      expect(problems(text)).toEqual(expected);
    });
  }

  it('a reader device that is not there is no config error (it may be plugged in later); a bad reader key exits 78', async () => {
    const dir = tempDir();
    const good = join(dir, 'good.yaml');
    writeFileSync(good, base(connector(1), 'readers:\n  - { driver: keyboard, device: /dev/input/by-id/usb-not-plugged-in-event-kbd }\n').replace('./data', join(dir, 'data')));
    expect((await runCli(['config', 'check', good])).code).toBe(0);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, base(connector(1), 'readers:\n  - { driver: keyboard, device: /dev/x, layout: fr }\n'));
    const r = await runCli(['config', 'check', bad]);
    expect(r.code).toBe(EXIT_CONFIG);
    expect(r.stderr).toContain('readers[0].layout: must be one of us | de (got "fr")');
  });
});
