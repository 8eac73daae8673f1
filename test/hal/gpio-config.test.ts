import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';

function yaml(hardware: string): string {
  return `
station: { id: CP-1, vendor: evsed, model: pi }
storage: { dir: ./data }
auth: { mode: free }
connectors:
  - id: 1
    maxCurrentA: 16
    phases: 3
    meter: { model: sim }
    hardware:
${hardware.trim().split('\n').map((l) => `      ${l}`).join('\n')}
`;
}

function problems(text: string): string[] {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const GOOD = `
driver: gpio
gpio:
  contactor: 17
  contactorFeedback: 27
  rcdFault: 22
  rcdTest: 23
  lock: { motorA: 5, motorB: 6, feedback: 13 }
  cpRelay: 24
  heartbeat: 25
  activeLow: [rcdFault]
pwm: { chip: 0, channel: 0 }
pilotSense: { mode: adc }
`;

describe('hardware.driver gpio config', () => {
  it('accepts the issue example and fills the defaults', () => {
    const cfg = parseConfig(yaml(GOOD));
    const hw = cfg.connectors[0]!.hardware;
    if (hw.driver !== 'gpio') throw new Error('wrong driver');
    expect(hw.pwm).toEqual({ pin: 18, chip: 0, channel: 0 });
    expect(hw.pilotSense).toMatchObject({ mode: 'adc', samplePeriodMs: 10, fastDebounceMs: 20, thresholdsV: { ab: 10.5 } });
    expect(hw.gpio.lock?.motorMs).toBe(600);
    expect(hw.root).toBe('/');
  });

  it('names the key and the bad value for an out-of-range pin', () => {
    expect(problems(yaml(GOOD.replace('contactor: 17', 'contactor: 40')))).toContain(
      'connectors[0].hardware.gpio.contactor: must be between 0 and 27 (got 40)',
    );
  });

  it('a pin used twice names both keys', () => {
    expect(problems(yaml(GOOD.replace('cpRelay: 24', 'cpRelay: 17')))).toContain(
      'connectors[0].hardware.gpio.cpRelay: GPIO17 is used by both gpio.contactor and gpio.cpRelay: each pin can be used once (got 17)',
    );
    expect(problems(yaml(GOOD.replace('heartbeat: 25', 'heartbeat: 18')))[0]).toMatch(/gpio.heartbeat: GPIO18 is used by both pwm.pin and gpio.heartbeat/);
    expect(problems(yaml(GOOD.replace('heartbeat: 25', 'heartbeat: 2')))[0]).toMatch(/GPIO2 is used by both the I2C bus of the pilot ADC \(SDA\) and gpio.heartbeat/);
  });

  it('rejects unknown keys, activeLow names that are not wired, and a sampling too slow for 100 ms', () => {
    expect(problems(yaml(GOOD.replace('cpRelay: 24', 'cpRelais: 24')))[0]).toMatch(/gpio.cpRelais: unknown key \(did you mean cpRelay\?\)/);
    const noRcd = GOOD.replace('rcdFault: 22', '').replace('rcdTest: 23', '');
    expect(problems(yaml(noRcd))).toContain('connectors[0].hardware.gpio.activeLow[0]: names gpio.rcdFault, which is not configured (got "rcdFault")');
    expect(problems(yaml(GOOD.replace('pilotSense: { mode: adc }', 'pilotSense: { mode: adc, samplePeriodMs: 30, fastDebounceMs: 20 }')))[0]).toMatch(
      /pilotSense.fastDebounceMs: with samplePeriodMs 30 the contactor could open 110 ms after the EV leaves C/,
    );
    expect(problems(yaml(GOOD.replace('pwm: { chip: 0, channel: 0 }', 'pwm: { chip: 0 }')))[0]).toMatch(/pwm.channel: give both chip and channel/);
  });

  it('supervision.stallThresholdMs must be below the interlock tolerance (interlockMs - 2 x heartbeatMs) minus the detector period', () => {
    const withSupervision = (extra: string) => yaml(GOOD) + extra;
    // default: 120 ms with a heartbeat interlock (tolerance 160 ms), 250 ms without
    expect(parseConfig(yaml(GOOD)).supervision.stallThresholdMs).toBe(120);
    expect(parseConfig(yaml(GOOD.replace('  heartbeat: 25\n', ''))).supervision.stallThresholdMs).toBe(250);
    expect(problems(withSupervision('supervision: { stallThresholdMs: 250 }\n'))).toEqual([
      "supervision.stallThresholdMs: must be below 140 ms: connector 1's interlock drops the contactor after 160 ms without heartbeat (interlockMs - 2 x heartbeatMs), and the stall detector sees a stall up to 20 ms late (got 250)",
    ]);
    expect(problems(withSupervision('supervision: { stallThresholdMs: 140 }\n'))).toHaveLength(1);
    expect(problems(withSupervision('supervision: { stallThresholdMs: 139 }\n'))).toEqual([]);
    // a slower monostable allows a larger threshold
    expect(problems(yaml(GOOD + 'interlockMs: 400\n') + 'supervision: { stallThresholdMs: 250 }\n')).toEqual([]);
    expect(problems(yaml(GOOD + 'interlockMs: 90\n'))[0]).toMatch(/hardware.interlockMs: must be at least 5 x heartbeatMs \(100 ms\)/);
  });
});
