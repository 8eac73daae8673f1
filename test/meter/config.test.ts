import { describe, expect, it } from 'vitest';
import { DEFAULT_REQUIRED_GRACE_S, meterConfigSchema } from '../../src/config/meter.js';
import { readFileSync } from 'node:fs';
import { formatIssues } from '../../src/config/errors.js';

function problems(d: unknown): string[] {
  const r = meterConfigSchema.safeParse(d, { reportInput: true });
  return r.success ? [] : formatIssues(meterConfigSchema, r.error.issues, d);
}

describe('meter config schema', () => {
  it('accepts the short form a technician writes and fills poll defaults', () => {
    const r = meterConfigSchema.parse({ model: 'sdm630', transport: 'serial', path: '/dev/ttyUSB0' });
    expect(r).toMatchObject({ model: 'sdm630', pollIntervalMs: 1000, requiredForCharging: false, tries: 3 });
    expect(meterConfigSchema.parse({ model: 'sim' })).toEqual({ model: 'sim', initialEnergyWh: 0 });
  });

  it('requiredGraceS has one default: the schema, the station fallback and docs/meters.md agree', () => {
    expect(meterConfigSchema.parse({ model: 'sdm630', transport: 'serial', path: '/dev/ttyUSB0' })).toMatchObject({ requiredGraceS: DEFAULT_REQUIRED_GRACE_S });
    const station = readFileSync(new URL('../../src/evse/station.ts', import.meta.url), 'utf8');
    expect(station).toMatch(/requiredGraceS as number \| undefined\) \?\? DEFAULT_REQUIRED_GRACE_S\)/);
    expect(readFileSync(new URL('../../docs/meters.md', import.meta.url), 'utf8')).toContain(`# requiredGraceS: ${DEFAULT_REQUIRED_GRACE_S}`);
  });

  it('explains mistakes with the key and the allowed values', () => {
    expect(problems({ model: 'sdm63', transport: 'serial', path: '/dev/x' })).toEqual([
      expect.stringMatching(/^model: must be one of sim \| abb-b23 .*sdm630.* \(got "sdm63", did you mean sdm630\?\)$/),
    ]);
    expect(problems({ model: 'sdm630', transport: 'serial', path: '/dev/x', baudRate: 9601 })).toEqual([
      'baudRate: must be one of 1200 | 2400 | 4800 | 9600 | 19200 | 38400 | 57600 | 115200 (got 9601)',
    ]);
    expect(problems({ model: 'sdm630', transport: 'serial', path: '/dev/x', baudrate: 9600 })).toEqual(['baudrate: unknown key (did you mean baudRate?)']);
    expect(problems({ model: 'sdm630', transport: 'serial' })[0]).toMatch(/^path: is required for transport serial/);
    expect(problems({ model: 'em24', transport: 'tcp-rtu', host: '10.0.0.5', parity: 'even' })).toEqual([
      expect.stringMatching(/^port: is required for transport tcp-rtu/),
      'parity: is a serial setting; for transport tcp-rtu set it on the gateway (got "even")',
    ]);
  });
});
