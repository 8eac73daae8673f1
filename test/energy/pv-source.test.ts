import { describe, expect, it } from 'vitest';
import { parsePowerPayload } from '../../src/energy/power-payload.js';
import { FreshValue } from '../../src/energy/grid-source.js';
import { parsePvMode, pvDiscovery } from '../../src/telemetry/pv.js';
import { Topics } from '../../src/telemetry/topics.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';

describe('grid power from an MQTT payload', () => {
  it('reads a plain number or one at a JSON path, and inverts a feed-in-positive topic', () => {
    expect(parsePowerPayload('-1234.5', undefined, false)).toEqual({ ok: true, powerW: -1234.5 });
    expect(parsePowerPayload(Buffer.from(' 800 '), undefined, false)).toEqual({ ok: true, powerW: 800 });
    expect(parsePowerPayload('{"ENERGY":{"Power":-420}}', 'ENERGY.Power', false)).toEqual({ ok: true, powerW: -420 });
    expect(parsePowerPayload('{"meters":[{"w":"150"}]}', '$.meters[0].w', false)).toEqual({ ok: true, powerW: 150 });
    expect(parsePowerPayload('3000', undefined, true)).toEqual({ ok: true, powerW: -3000 });
    expect(Object.is((parsePowerPayload('0', undefined, true) as { powerW: number }).powerW, -0)).toBe(false);
  });

  it('refuses what is not a plausible power, saying why', () => {
    for (const [payload, path, why] of [
      ['', undefined, 'not a number'],
      ['abc', undefined, 'not a number'],
      ['NaN', undefined, 'not a number'],
      ['12 W', undefined, 'not a number'],
      ['{"a":1}', 'ENERGY.Power', 'nothing at'],
      ['{"ENERGY":{"Power":null}}', 'ENERGY.Power', 'not a number'],
      ['not json', 'ENERGY.Power', 'not JSON'],
      ['5e9', undefined, 'beyond any house connection'],
      ['x'.repeat(5000), undefined, 'longer than'],
    ] as const) {
      const r = parsePowerPayload(payload, path, false);
      expect(r.ok, payload.slice(0, 20)).toBe(false);
      expect((r as { reason: string }).reason).toContain(why);
    }
  });

  it('a reading is fresh for staleAfter, then none', () => {
    const f = new FreshValue(30_000);
    expect(f.latest(0)).toBeNull();
    f.set({ powerW: -500, atMs: 1000 });
    expect(f.latest(31_000)?.powerW).toBe(-500);
    expect(f.latest(31_001)).toBeNull();
    expect(f.ageS(31_001)).toBe(30);
  });
});

describe('the PV mode command (MQTT)', () => {
  it('takes off | pv | minpv in any case and refuses the rest and retained messages', () => {
    expect(parsePvMode('minpv', false)).toEqual({ ok: true, mode: 'minpv' });
    expect(parsePvMode(Buffer.from(' PV\n'), false)).toEqual({ ok: true, mode: 'pv' });
    expect(parsePvMode('now', false).ok).toBe(false);
    expect(parsePvMode('off', true)).toMatchObject({ ok: false, reason: expect.stringContaining('retained') });
    expect(parsePvMode('p'.repeat(100), false).ok).toBe(false);
  });
});

describe('pv config', () => {
  const base = `station: { id: CP-1, vendor: v, model: m }
storage: { dir: ./data }
auth: { mode: free }
connectors:
  - { id: 1, maxCurrentA: 16, phases: 3, hardware: { driver: sim }, meter: { model: sim } }
`;
  const errors = (text: string) => {
    try {
      parseConfig(text);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };

  it('defaults: mode pv, 60 s to start, 180 s to stop, automatic phase switching, 4 switches per session', () => {
    const c = parseConfig(base + 'pv: { source: { mqtt: { url: "mqtt://10.0.0.2", topic: grid/power } } }\n');
    expect(c.pv).toMatchObject({ mode: 'pv', startDelayS: 60, stopDelayS: 180, phaseSwitching: 'auto', maxSwitchesPerSession: 4, voltageV: 230, source: { mqtt: { staleAfterS: 30, invert: false } } });
  });

  it('bad keys name the key and the fix', () => {
    expect(errors(base + 'pv: { mode: sunny, source: { mqtt: { url: "mqtt://h", topic: t } } }\n').join()).toMatch(/pv\.mode: must be one of off \| pv \| minpv/);
    expect(errors(base + 'pv: { mode: pv }\n').join()).toMatch(/pv\.source/);
    expect(errors(base + 'pv: { source: { mqtt: { topic: grid/# } } }\n').join()).toMatch(/pv\.source\.mqtt\.topic: must be one topic without wildcards/);
    // No url and no mqtt section: no broker.
    expect(errors(base + 'pv: { source: { mqtt: { topic: grid } } }\n').join()).toMatch(/pv\.source\.mqtt\.url: no broker .*add an mqtt section/);
    expect(errors(base + 'mqtt: { url: "mqtt://h" }\npv: { source: { mqtt: { topic: grid } } }\n')).toEqual([]);
    expect(errors(base + 'pv: { startThresholdW: 2000, stopThresholdW: 3000, source: { mqtt: { url: "mqtt://h", topic: t } } }\n').join()).toMatch(/pv\.stopThresholdW: must not be above startThresholdW/);
    expect(errors(base + 'pv: { source: { mqtt: { url: "mqtt://h", topic: t, jsonPath: "a..b" } } }\n').join()).toMatch(/pv\.source\.mqtt\.jsonPath/);
  });

  it('the password of the PV broker is a secret: never echoed', () => {
    const text = base + 'pv: { source: { mqtt: { url: "ftp://u:hunter22@h", username: u, password: 98765432, topic: t } } }\n';
    const all = errors(text).join('\n');
    expect(all).toMatch(/pv\.source\.mqtt\.url/);
    expect(all).toMatch(/pv\.source\.mqtt\.password: must be a text/);
    expect(all).not.toContain('hunter22');
    expect(all).not.toContain('98765432');
  });
});

describe('PV entities in Home Assistant', () => {
  const topics = new Topics('evsed', 'CP-1');
  const base = { topics, discoveryPrefix: 'homeassistant', stationId: 'CP-1', device: { identifiers: ['evsed_CP-1'] }, origin: { name: 'evsed' } };
  it('a select for the mode with commands, a sensor without; the other form is removed', () => {
    const withCommands = new Map(pvDiscovery({ ...base, enabled: true, commands: true }).map((m) => [m.topic, m.payload]));
    const select = JSON.parse(withCommands.get('homeassistant/select/evsed_CP-1/pv_mode/config')!) as Record<string, unknown>;
    expect(select).toMatchObject({ command_topic: 'evsed/CP-1/pv/mode/set', state_topic: 'evsed/CP-1/pv/mode', options: ['off', 'pv', 'minpv'] });
    expect(withCommands.get('homeassistant/sensor/evsed_CP-1/pv_mode/config')).toBe('');
    const without = new Map(pvDiscovery({ ...base, enabled: true, commands: false }).map((m) => [m.topic, m.payload]));
    expect(JSON.parse(without.get('homeassistant/sensor/evsed_CP-1/pv_mode/config')!)).not.toHaveProperty('command_topic');
    expect(without.get('homeassistant/select/evsed_CP-1/pv_mode/config')).toBe('');
  });
  it('without a pv section every PV entity is removed', () => {
    const msgs = pvDiscovery({ ...base, enabled: false, commands: true });
    expect(msgs.length).toBe(6);
    expect(msgs.every((m) => m.payload === '')).toBe(true);
  });
});
