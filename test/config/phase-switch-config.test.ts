import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { problems } from '../support/config-problems.js';

const sim = (connector: string, hardware = '{ driver: sim, phaseRelay: true }') => `station: { id: CP-001, vendor: Example, model: EVSE-1 }
storage: { dir: ./data }
auth: { mode: free }
connectors:
  - id: 1
    maxCurrentA: 32
    phases: 3
    hardware: ${hardware}
    meter: { model: sim }
${connector}`;

const gpio = (phaseRelay: string) => sim('', `
      driver: gpio
      gpio: { contactor: 17, contactorFeedback: 27, rcdFault: 22, cpRelay: 24, heartbeat: 25, activeLow: [rcdFault] }
      pilotSense: { mode: adc }
      phaseRelay: ${phaseRelay}`);

describe('config: 1p/3p switching', () => {
  it('defaults: a 10 s pause, 4 switches per session; a sim board has no relay unless asked', () => {
    const c = parseConfig(sim('', '{ driver: sim }'), 'test.yaml');
    expect(c.connectors[0]!.phaseSwitch).toEqual({ pauseS: 10, maxPerSession: 4 });
    expect(c.connectors[0]!.hardware).toMatchObject({ driver: 'sim', phaseRelay: false });
    const g = parseConfig(gpio('{ pin: 16, energisedMeans: 3 }'), 'test.yaml');
    expect(g.connectors[0]!.hardware).toMatchObject({ phaseRelay: { pin: 16, activeLow: false, energisedMeans: 3, settleMs: 200 } });
  });

  it('names the key and the fix', () => {
    expect(problems(sim('    phaseSwitch: { pauseS: 3 }'))).toEqual(['connectors[0].phaseSwitch.pauseS: must be at least 5 s: with CP off for less, an EV may not notice the new supply (EVerest waits 10 s) (got 3)']);
    expect(problems(sim('    phaseSwitch: { maxPerSession: 0 }'))).toEqual(['connectors[0].phaseSwitch.maxPerSession: must be between 1 and 100 (got 0)']);
    expect(problems(sim('').replace('phases: 3', 'phases: 1'))).toEqual(['connectors[0].hardware.phaseRelay: needs connectors[].phases: 3 (a phase relay switches a 3-phase supply down to one phase): set phases to 3 or remove phaseRelay (got true)']);
    expect(problems(gpio('{ pin: 17, energisedMeans: 3 }'))).toEqual(['connectors[0].hardware.phaseRelay.pin: GPIO17 is used by both gpio.contactor and phaseRelay.pin: each pin can be used once (got 17)']);
    expect(problems(gpio('{ pin: 16 }'))).toEqual(['connectors[0].hardware.phaseRelay.energisedMeans: must be 1 or 3: the phases connected while the relay coil is energised (see the wiring) (got nothing)']);
  });
});
