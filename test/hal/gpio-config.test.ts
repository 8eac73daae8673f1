import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { pilotOpenBudget } from '../../src/config/gpio.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, ROOT } from '../support/station.js';

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
      /pilotSense.readTimeoutMs: the contactor could be released 120 ms after the EV leaves C \(failing reads: samplePeriodMs \+ 3 x max\(samplePeriodMs, readTimeoutMs\) = 30 \+ 3 x 30\); it must be at most 100 ms/,
    );
    expect(problems(yaml(GOOD.replace('pwm: { chip: 0, channel: 0 }', 'pwm: { chip: 0 }')))[0]).toMatch(/pwm.channel: give both chip and channel/);
  });

  it('computes the pilot-to-coil budget from the configured values, including a hung read, and refuses more than 100 ms', () => {
    const hw = parseConfig(yaml(GOOD)).connectors[0]!.hardware;
    if (hw.driver !== 'gpio') throw new Error('wrong driver');
    const b = pilotOpenBudget(hw);
    // defaults: period 10, read timeout 15, fast debounce 20, heartbeat 10, interlock 70
    expect(b.paths.map((p) => [p.name, p.ms])).toEqual([['normal', 70], ['failing reads', 55], ['slow or hung reads', 95]]);
    expect(b.worstMs).toBe(95);
    // a slow ADC: reads allowed up to 40 ms make three failed reads take too long (and the normal path 120 ms)
    expect(problems(yaml(GOOD.replace('pilotSense: { mode: adc }', 'pilotSense: { mode: adc, readTimeoutMs: 40 }')))[0]).toMatch(
      /hardware.interlockMs: the contactor could be released 130 ms after the EV leaves C \(failing reads:|the contactor could be released 130 ms after the EV leaves C/,
    );
    // a long fast debounce makes the normal path too long
    expect(problems(yaml(GOOD.replace('pilotSense: { mode: adc }', 'pilotSense: { mode: adc, fastDebounceMs: 60 }')))[0]).toMatch(
      /pilotSense.fastDebounceMs: the contactor could be released 110 ms after the EV leaves C \(normal: 2 x samplePeriodMs/,
    );
    // a slow monostable: a hung read is only caught by the interlock, 10 + 15 + 100 ms after the change
    expect(problems(yaml(GOOD + 'interlockMs: 100\n'))[0]).toMatch(/hardware.interlockMs: the contactor could be released 125 ms after the EV leaves C \(slow or hung reads: samplePeriodMs \+ readTimeoutMs \+ interlockMs = 10 \+ 15 \+ 100\)/);
    expect(problems(yaml(GOOD + 'interlockMs: 40\n'))[0]).toMatch(/hardware.interlockMs: must be at least 5 x heartbeatMs \(50 ms\)/);
    // a bench without mains may be slower: the budget is then printed by config check, not enforced
    expect(problems(yaml(GOOD + 'interlockMs: 100\nbenchWithoutMains: true\n'))).toEqual([]);
  });

  it('evsed config check prints the budget of every gpio connector, and warns about a bench without mains', async () => {
    const file = join(tempDir(), 'gpio.yaml');
    writeFileSync(file, yaml(GOOD.replace('  heartbeat: 25\n', '') + 'benchWithoutMains: true\n'));
    const r = await runCli(['config', 'check', file], ROOT);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('connector 1: pilot leaving C to contactor coil released, worst case 95 ms of 100 (normal 70, failing reads 55, slow or hung reads 95)');
    expect(r.stdout).toContain('connector 1: WARNING hardware.benchWithoutMains');
  });

  it('refuses to run without the heartbeat interlock or the contactor feedback unless the config says it is a bench without mains', () => {
    const noInterlock = GOOD.replace('  heartbeat: 25\n', '');
    const noFeedback = GOOD.replace('  contactorFeedback: 27\n', '');
    expect(problems(yaml(noInterlock))).toEqual([
      'connectors[0].hardware.gpio.heartbeat: is required: the interlock that drops the contactor when the safety core stalls or dies (hardware/interlock.md). On a bench without mains only, set hardware.benchWithoutMains: true',
    ]);
    expect(problems(yaml(noFeedback))[0]).toMatch(/gpio.contactorFeedback: is required: the auxiliary contact that shows a welded contactor/);
    expect(problems(yaml(noInterlock + 'benchWithoutMains: true\n'))).toEqual([]);
    expect(problems(yaml(noFeedback + 'benchWithoutMains: true\n'))).toEqual([]);
    // a main-loop stall no longer depends on the interlock: the default threshold is the same for every board
    expect(parseConfig(yaml(GOOD)).supervision.stallThresholdMs).toBe(250);
  });
});
