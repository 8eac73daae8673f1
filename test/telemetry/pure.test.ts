import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../src/telemetry/coalescer.js';
import { InboundThrottle } from '../../src/telemetry/inbound.js';
import { parseCommand } from '../../src/telemetry/commands.js';
import { Topics } from '../../src/telemetry/topics.js';
import { connectorState } from '../../src/telemetry/state.js';
import { discoveryMessages } from '../../src/telemetry/discovery.js';
import { backoffDelayMs } from '../../src/util/backoff.js';
import { MQTT_RECONNECT_BACKOFF } from '../../src/telemetry/mqtt.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import type { ConnectorView } from '../../src/evse/port.js';
import { stationYaml } from './helpers.js';

describe('Coalescer', () => {
  it('publishes a change at once, then at most once per interval, and the last value always gets out', () => {
    const c = new Coalescer(1000);
    c.set('p', '1');
    expect(c.take(0)).toEqual([['p', '1']]);
    c.set('p', '2');
    c.set('p', '3');
    expect(c.take(400)).toEqual([]);
    expect(c.nextDueMs()).toBe(1000);
    c.set('p', '4');
    expect(c.take(999)).toEqual([]);
    expect(c.take(1000)).toEqual([['p', '4']]);
    expect(c.nextDueMs()).toBeNull();
    expect(c.take(5000)).toEqual([]);
  });

  it('sends nothing for a value that changed back before it went out, and limits per topic', () => {
    const c = new Coalescer(1000);
    c.set('a', 'x');
    c.set('b', 'y');
    expect(c.take(0)).toEqual([['a', 'x'], ['b', 'y']]);
    c.set('a', 'z');
    c.set('a', 'x');
    expect(c.nextDueMs()).toBeNull();
    expect(c.take(2000)).toEqual([]);
    c.set('b', 'w');
    expect(c.take(2000)).toEqual([['b', 'w']]);
  });

  it('resends every value at once after resendAll (reconnect)', () => {
    const c = new Coalescer(1000);
    c.set('a', '1');
    c.set('b', '2');
    c.take(0);
    c.resendAll();
    expect(c.nextDueMs()).toBe(0);
    expect(c.take(10)).toEqual([['a', '1'], ['b', '2']]);
  });
});

describe('InboundThrottle', () => {
  it('trailing (Home Assistant online): a burst acts once, after the delay; then at most once per interval', () => {
    const t = new InboundThrottle<true>({ intervalMs: 10_000, leading: false, delayMs: 1000 });
    for (let ms = 0; ms < 500; ms++) expect(t.offer('online', true, ms).act).toBe('later');
    expect(t.nextDueMs()).toBe(1000);
    expect(t.take(999)).toEqual([]);
    expect(t.take(1000)).toEqual([{ key: 'online', value: true, count: 500 }]);
    expect(t.nextDueMs()).toBeNull();
    // Another one soon after: held until the interval has passed.
    t.offer('online', true, 2000);
    expect(t.nextDueMs()).toBe(11_000);
    expect(t.take(10_999)).toEqual([]);
    expect(t.take(11_000)).toHaveLength(1);
    // Much later: the delay again.
    t.offer('online', true, 60_000);
    expect(t.nextDueMs()).toBe(61_000);
  });

  it('leading (commands): the first acts at once, a burst once more per interval with its last value, per key', () => {
    const t = new InboundThrottle<number>({ intervalMs: 500, leading: true });
    expect(t.offer('c1/limit', 16, 0)).toEqual({ act: 'now', value: 16 });
    expect(t.offer('c2/limit', 8, 1)).toEqual({ act: 'now', value: 8 });
    for (let v = 6; v <= 12; v++) expect(t.offer('c1/limit', v, 10 + v).act).toBe('later');
    expect(t.nextDueMs()).toBe(500);
    expect(t.take(500)).toEqual([{ key: 'c1/limit', value: 12, count: 7 }]);
    expect(t.offer('c1/limit', 7, 700).act).toBe('later'); // ran at 500: next at 1000
    expect(t.take(1000)).toEqual([{ key: 'c1/limit', value: 7, count: 1 }]);
    expect(t.offer('c1/limit', 9, 5000)).toEqual({ act: 'now', value: 9 });
  });

  it('holds a bounded number of keys', () => {
    const t = new InboundThrottle<number>({ intervalMs: 500, leading: true, maxKeys: 2 });
    t.offer('a', 1, 0);
    t.offer('b', 1, 0);
    expect(t.offer('c', 1, 0).act).toBe('dropped');
    expect(t.offer('a', 2, 1).act).toBe('later');
  });
});

describe('parseCommand', () => {
  const topics = new Topics('evsed', 'CP1');
  const ctx = { topics, maxCurrentA: new Map([[1, 32], [2, 16]]) };
  const limit = (id: number, p: string) => parseCommand(ctx, `evsed/CP1/connector/${id}/current_limit/set`, Buffer.from(p), false);

  it('accepts 0 and 6..max A, with or without decimals and whitespace', () => {
    expect(limit(1, '16')).toEqual({ ok: true, command: { kind: 'current_limit', connectorId: 1, amps: 16 } });
    expect(limit(1, ' 0 ')).toEqual({ ok: true, command: { kind: 'current_limit', connectorId: 1, amps: 0 } });
    expect(limit(1, '6.0')).toEqual({ ok: true, command: { kind: 'current_limit', connectorId: 1, amps: 6 } });
    expect(limit(2, '16')).toMatchObject({ ok: true });
  });

  it('refuses what is not a valid current, with the reason', () => {
    expect(limit(1, '5.9')).toEqual({ ok: false, reason: 'current limit must be 0 (suspend) or between 6 and 32 A (got 5.9)' });
    expect(limit(2, '17')).toEqual({ ok: false, reason: 'current limit must be 0 (suspend) or between 6 and 16 A (got 17)' });
    for (const p of ['', 'abc', '-6', '1e1', 'NaN', 'Infinity', '16A', '0x10', '{"a":1}']) expect(limit(1, p), p).toMatchObject({ ok: false });
    expect(limit(3, '16')).toEqual({ ok: false, reason: 'no connector 3' });
    expect(limit(1, '1'.repeat(65))).toEqual({ ok: false, reason: 'payload longer than 64 bytes' });
  });

  it('accepts pause/resume/stop in any case, refuses other words and retained presses', () => {
    const cmd = (p: string, retained = false) => parseCommand(ctx, 'evsed/CP1/connector/1/command', p, retained);
    expect(cmd('STOP')).toEqual({ ok: true, command: { kind: 'button', connectorId: 1, action: 'stop' } });
    expect(cmd('pause')).toMatchObject({ ok: true, command: { action: 'pause' } });
    expect(cmd('resume\n')).toMatchObject({ ok: true, command: { action: 'resume' } });
    expect(cmd('reboot')).toMatchObject({ ok: false });
    expect(cmd('stop', true)).toEqual({ ok: false, reason: 'retained command ignored (publish commands without the retain flag)' });
  });

  it('refuses retained messages on every command topic (a stale limit or target must not return at a reconnect)', () => {
    for (const leaf of ['current_limit/set', 'session/target_energy/set']) {
      expect(parseCommand(ctx, `evsed/CP1/connector/1/${leaf}`, '16', true), leaf).toEqual({ ok: false, reason: 'retained command ignored (publish commands without the retain flag)' });
    }
  });

  it('energy target: whole Wh up to 1 000 000, 0 removes it', () => {
    const target = (p: string, id = 1) => parseCommand(ctx, `evsed/CP1/connector/${id}/session/target_energy/set`, Buffer.from(p), false);
    expect(target('30000')).toEqual({ ok: true, command: { kind: 'target_energy', connectorId: 1, energyWh: 30_000 } });
    expect(target(' 7500.0 ')).toEqual({ ok: true, command: { kind: 'target_energy', connectorId: 1, energyWh: 7500 } });
    expect(target('1000000', 2)).toEqual({ ok: true, command: { kind: 'target_energy', connectorId: 2, energyWh: 1_000_000 } });
    expect(target('0')).toEqual({ ok: true, command: { kind: 'target_energy', connectorId: 1, energyWh: null } });
    expect(target('1500.5')).toEqual({ ok: false, reason: 'energy target must be whole Wh, e.g. 30000 for 30 kWh, or 0 to remove it (got "1500.5")' });
    expect(target('1000001')).toEqual({ ok: false, reason: 'energy target must be at most 1000000 Wh (got 1000001)' });
    for (const p of ['', 'abc', '-5', '30kWh', '3e4', 'NaN', '{"energyWh":1}', '12345678']) expect(target(p), p).toMatchObject({ ok: false });
    expect(target('30000', 3)).toEqual({ ok: false, reason: 'no connector 3' });
    expect(parseCommand(ctx, 'evsed/CP1/connector/1/session/target_energy', '30000', false)).toMatchObject({ ok: false, reason: 'not a command topic' });
  });

  it('recognises only its own command topics', () => {
    expect(parseCommand(ctx, 'evsed/CP2/connector/1/command', 'stop', false)).toMatchObject({ ok: false, reason: 'not a command topic' });
    expect(parseCommand(ctx, 'evsed/CP1/connector/x/command', 'stop', false)).toMatchObject({ ok: false, reason: 'not a command topic' });
    expect(parseCommand(ctx, 'evsed/CP1/connector/1/state', 'stop', false)).toMatchObject({ ok: false, reason: 'not a command topic' });
  });
});

function view(over: Partial<ConnectorView> = {}, meter: Partial<ConnectorView['meter']> = {}): ConnectorView {
  return {
    id: 1,
    status: 'Charging',
    pilot: 'C',
    diodeOk: true,
    pilotOutput: { mode: 'pwm', dutyPermille: 266 },
    contactorClosed: true,
    currentLimitA: 16,
    limitSource: 'config',
    phases: { installed: 3, active: 3, switchable: false, switching: false, switchesThisSession: 0 },
    faults: [],
    available: true,
    paused: false,
    meter: { energyWh: 1234567, powerW: 11040.4, voltageV: [230.04, 231, 229], currentA: [16, 16, 16.005], powerPhaseW: [3680, 3680, 3680], frequencyHz: 50, health: 'ok', stale: false, ageS: 0.4, ...meter },
    session: { id: 7, uid: 'u', idTag: 'T', authSource: 'local', startedAt: '2026-01-01T00:00:00Z', startedAtQuality: 'synced', meterStartWh: 1230000, energyWh: 4567, durationS: 1500, chargingS: 1400, idleS: 100, meterGapS: 0, cost: null, etaS: null, etaBasis: 'unknown', socPercent: null },
    ...over,
  };
}

describe('connectorState', () => {
  it('maps a charging connector to topic payloads', () => {
    const s = connectorState({ view: view(), phases: 3, setpointA: 32, extras: { costMinor: 137, currency: 'EUR', etaS: 1799.6 } });
    expect(Object.fromEntries(s)).toMatchObject({
      state: 'Charging', pilot: 'C', plugged: 'ON', charging: 'ON', contactor: 'ON', fault: 'OFF', faults: '[]',
      current_limit: '16', 'current_limit/setpoint': '32', 'meter/availability': 'online', energy: '1234567', power: '11040',
      'voltage/l1': '230', 'voltage/l2': '231', 'current/l3': '16.01', 'power/l1': '3680', frequency: '50',
      'session/active': 'ON', 'session/energy': '4567', 'session/duration': '1500', 'session/charging_time': '1400', 'session/idle_time': '100',
      'session/cost': '1.37', 'session/currency': 'EUR', 'session/eta': '1800',
    });
  });

  it('leaves meter values alone while the meter is stale or offline, and says so', () => {
    for (const meter of [{ stale: true, powerW: null, voltageV: [], currentA: [], powerPhaseW: [] }, { health: 'offline' as const }]) {
      const s = connectorState({ view: view({}, meter), phases: 3, setpointA: 32 });
      expect(s.get('meter/availability')).toBe('offline');
      for (const k of ['energy', 'power', 'voltage/l1', 'current/l1', 'power/l1', 'frequency', 'session/energy'] as const) expect(s.get(k), k).toBeNull();
      expect(s.get('session/duration')).toBe('1500');
    }
  });

  it('publishes only the phases a single-phase connector has', () => {
    const s = connectorState({ view: view(), phases: 1, setpointA: 32 });
    expect(s.get('voltage/l1')).toBe('230');
    expect(s.get('voltage/l2')).toBeNull();
    expect(s.get('current/l3')).toBeNull();
  });

  it('without a session: the last session\'s final numbers, eta unknown; no cost without a provider', () => {
    const idle = view({ status: 'Available', pilot: 'A', session: null, contactorClosed: false, currentLimitA: 0 });
    expect(connectorState({ view: idle, phases: 3, setpointA: 32 }).get('session/energy')).toBeNull();
    const s = connectorState({ view: idle, phases: 3, setpointA: 32, lastSession: { energyWh: 9000, durationS: 60, chargingS: 50, idleS: 10 } });
    expect(s.get('session/active')).toBe('OFF');
    expect(s.get('session/energy')).toBe('9000');
    expect(s.get('session/eta')).toBe('unknown');
    expect(s.get('session/cost')).toBeNull();
    expect(s.get('plugged')).toBe('OFF');
    expect(connectorState({ view: view(), phases: 3, setpointA: 32 }).get('session/eta')).toBe('unknown');
  });

  it('publishes the energy target in force (0 = none) only when targets are connected', () => {
    expect(connectorState({ view: view(), phases: 3, setpointA: 32 }).get('session/target_energy')).toBeNull();
    expect(connectorState({ view: view(), phases: 3, setpointA: 32, targetEnergyWh: 30_000 }).get('session/target_energy')).toBe('30000');
    expect(connectorState({ view: view({ session: null }), phases: 3, setpointA: 32, targetEnergyWh: null }).get('session/target_energy')).toBe('0');
  });

  it('formats cost with the currency\'s minor unit (JPY has none)', () => {
    expect(connectorState({ view: view(), phases: 3, setpointA: 32, extras: { costMinor: 5, currency: 'EUR' } }).get('session/cost')).toBe('0.05');
    expect(connectorState({ view: view(), phases: 3, setpointA: 32, extras: { costMinor: 512, currency: 'JPY' } }).get('session/cost')).toBe('512');
  });

  it('reports a reservation: ON and until when (never the tag); OFF and unknown without one', () => {
    const reserved = view({ status: 'Reserved', pilot: 'A', session: null, reservation: { reservationId: 7, idTag: 'SECRET-TAG', parentIdTag: null, expiresAt: '2030-01-01T00:00:00Z', station: false } });
    const s = connectorState({ view: reserved, phases: 3, setpointA: 32 });
    expect(s.get('state')).toBe('Reserved');
    expect(s.get('reserved')).toBe('ON');
    expect(s.get('reserved/until')).toBe('2030-01-01T00:00:00Z');
    expect([...s.values()].join()).not.toContain('SECRET-TAG');
    const none = connectorState({ view: view(), phases: 3, setpointA: 32 });
    expect([none.get('reserved'), none.get('reserved/until')]).toEqual(['OFF', 'unknown']);
  });

  it('reports faults', () => {
    const s = connectorState({ view: view({ status: 'Faulted', faults: ['rcd', 'overcurrent'] }), phases: 3, setpointA: 32 });
    expect(s.get('fault')).toBe('ON');
    expect(JSON.parse(s.get('faults')!)).toEqual(['rcd', 'overcurrent']);
  });
});

describe('discoveryMessages', () => {
  const base = {
    topics: new Topics('evsed', 'CP.1'),
    discoveryPrefix: 'homeassistant',
    station: { id: 'CP.1', vendor: 'ACME', model: 'Box', firmwareVersion: '0.1.0' },
    version: '0.1.0',
  };

  it('names entities per connector when there are several, and announces single-phase connectors with one voltage', () => {
    const msgs = discoveryMessages({ ...base, connectors: [{ id: 1, phases: 3, maxCurrentA: 32 }, { id: 2, phases: 1, maxCurrentA: 16 }], commands: false });
    const byTopic = new Map(msgs.map((m) => [m.topic, m.payload]));
    const power2 = JSON.parse(byTopic.get('homeassistant/sensor/evsed_CP_1/c2_power/config')!);
    expect(power2.name).toBe('Connector 2 power');
    expect(power2.state_topic).toBe('evsed/CP.1/connector/2/power');
    expect(JSON.parse(byTopic.get('homeassistant/sensor/evsed_CP_1/c2_voltage_l1/config')!).name).toBe('Connector 2 voltage');
    // Entities this configuration does not have are removed (empty retained config).
    expect(byTopic.get('homeassistant/sensor/evsed_CP_1/c2_voltage_l2/config')).toBe('');
    expect(byTopic.get('homeassistant/number/evsed_CP_1/c1_current_limit/config')).toBe('');
    expect(byTopic.get('homeassistant/sensor/evsed_CP_1/c1_session_cost/config')).toBe('');
    const ids = msgs.filter((m) => m.payload).map((m) => JSON.parse(m.payload).unique_id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('announces number and buttons with commands, and a cost sensor in the tariff currency', () => {
    const msgs = discoveryMessages({ ...base, connectors: [{ id: 1, phases: 3, maxCurrentA: 20, phaseRelay: true }], commands: true, energyTarget: true, currency: 'CHF', site: true });
    const byTopic = new Map(msgs.map((m) => [m.topic, m.payload]));
    expect(JSON.parse(byTopic.get('homeassistant/number/evsed_CP_1/c1_current_limit/config')!)).toMatchObject({ name: 'Current limit', min: 6, max: 20 });
    expect(JSON.parse(byTopic.get('homeassistant/number/evsed_CP_1/c1_target_energy/config')!)).toMatchObject({
      name: 'Energy target', min: 0, max: 1_000_000, unit_of_measurement: 'Wh', device_class: 'energy',
      state_topic: 'evsed/CP.1/connector/1/session/target_energy', command_topic: 'evsed/CP.1/connector/1/session/target_energy/set',
    });
    expect(JSON.parse(byTopic.get('homeassistant/button/evsed_CP_1/c1_stop/config')!)).toMatchObject({ payload_press: 'stop', command_topic: 'evsed/CP.1/connector/1/command' });
    expect(JSON.parse(byTopic.get('homeassistant/sensor/evsed_CP_1/c1_session_cost/config')!)).toMatchObject({ device_class: 'monetary', unit_of_measurement: 'CHF' });
    // Removed: what only the configuration without commands has, and the buttons the pause switch replaced.
    expect(msgs.filter((m) => m.payload === '').map((m) => m.topic).sort()).toEqual([
      'homeassistant/binary_sensor/evsed_CP_1/c1_paused/config', 'homeassistant/button/evsed_CP_1/c1_pause/config', 'homeassistant/button/evsed_CP_1/c1_resume/config',
    ]);
    // Without targets (no estimate connected) the number is removed.
    const without = new Map(discoveryMessages({ ...base, connectors: [{ id: 1, phases: 3, maxCurrentA: 20 }], commands: true }).map((m) => [m.topic, m.payload]));
    expect(without.get('homeassistant/number/evsed_CP_1/c1_target_energy/config')).toBe('');
    // A phase relay is a select (1 / 3 phases); without one it is removed.
    expect(JSON.parse(byTopic.get('homeassistant/select/evsed_CP_1/c1_phases/config')!)).toMatchObject({
      name: 'Phases in use', options: ['1', '3'], state_topic: 'evsed/CP.1/connector/1/phases', command_topic: 'evsed/CP.1/connector/1/phases/set',
    });
    expect(without.get('homeassistant/select/evsed_CP_1/c1_phases/config')).toBe('');
  });

  it('parses the phases command: 1 or 3, nothing else', () => {
    const ctx = { topics: new Topics('evsed', 'CP1'), maxCurrentA: new Map([[1, 32]]) };
    const phases = (p: string) => parseCommand(ctx, 'evsed/CP1/connector/1/phases/set', Buffer.from(p), false);
    expect(phases('1')).toEqual({ ok: true, command: { kind: 'phases', connectorId: 1, phases: 1 } });
    expect(phases(' 3 ')).toEqual({ ok: true, command: { kind: 'phases', connectorId: 1, phases: 3 } });
    for (const p of ['2', '', '1.0', 'one', '13']) expect(phases(p), p).toEqual({ ok: false, reason: `phases must be 1 or 3 (got ${JSON.stringify(p.trim())})` });
    expect(parseCommand(ctx, 'evsed/CP1/connector/1/phases/set', '1', true)).toMatchObject({ ok: false });
  });
});

describe('MQTT reconnect back-off', () => {
  it('doubles from 1 s up to 30 s, spread ±20 %', () => {
    const delay = (attempt: number, random: () => number) => backoffDelayMs(attempt, { ...MQTT_RECONNECT_BACKOFF, random });
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((a) => delay(a, mid))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(delay(0, () => 0)).toBe(800);
    expect(delay(10, () => 1)).toBe(36000);
  });
});

describe('mqtt config', () => {
  const problems = (mqttYaml: string): string[] => {
    try {
      parseConfig(stationYaml('/tmp/x', mqttYaml));
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('fills the defaults', () => {
    const cfg = parseConfig(stationYaml('/tmp/x', 'mqtt: { url: "mqtt://192.168.1.10:1883" }'));
    expect(cfg.mqtt).toEqual({ url: 'mqtt://192.168.1.10:1883', topicPrefix: 'evsed', homeAssistant: true, discoveryPrefix: 'homeassistant', commands: false, publishIntervalS: 1 });
  });

  it('explains what is wrong', () => {
    expect(problems('mqtt: { url: "192.168.1.10" }')).toEqual([
      'mqtt.url: must be a broker URL such as mqtt://192.168.1.10:1883, mqtts://broker.example:8883 or ws://host:9001/mqtt (got "192.168.1.10")',
    ]);
    expect(problems('mqtt: { url: "mqtt://h", topicPrefix: "evsed/#" }')[0]).toMatch(/^mqtt.topicPrefix: must be topic levels/);
    expect(problems('mqtt: { url: "mqtt://h", topicPrefix: "/evsed" }')[0]).toMatch(/^mqtt.topicPrefix: must be topic levels/);
    expect(problems('mqtt: { url: "mqtt://h", publishIntervalS: 0.1 }')).toEqual(['mqtt.publishIntervalS: must be between 0.2 and 3600 (got 0.1)']);
    expect(problems('mqtt: { url: "mqtt://h", password: "x" }')).toEqual(['mqtt: password is set but username is not: give both']);
    expect(problems('mqtt: { url: "mqtt://h", tls: { caFile: /etc/ca.pem } }')).toEqual(['mqtt.tls: tls settings need a TLS URL (mqtts://host:8883 or wss://...)']);
    expect(problems('mqtt: { url: "mqtts://h", tls: { certFile: /c.pem } }')).toEqual(['mqtt.tls.keyFile: certFile and keyFile go together: give both or neither']);
    expect(problems('mqtt: { url: "mqtt://h", homeassistant: true }')).toEqual(['mqtt.homeassistant: unknown key (did you mean homeAssistant?)']);
    expect(problems('mqtt: { url: "mqtt://h", clientId: "a b" }')[0]).toMatch(/^mqtt.clientId: must be 1-64 characters/);
  });
});
