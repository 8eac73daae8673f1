import { describe, expect, it } from 'vitest';
import { discoveryMessages, haDevice, pageUrl, type DiscoveryInput } from '../../src/telemetry/discovery.js';
import { pvDiscovery } from '../../src/telemetry/pv.js';
import { CONNECTOR_TOPICS, Topics } from '../../src/telemetry/topics.js';
import { haProblems, type Announced } from './ha-rules.js';

/**
 * Every entity evsed announces, in its richest configuration, against Home Assistant's rules
 * (ha-rules.ts), and every topic it publishes has an entity (or is said to need none).
 */
const topics = new Topics('evsed', 'CP.1');
const full: DiscoveryInput = {
  topics,
  discoveryPrefix: 'homeassistant',
  station: { id: 'CP.1', vendor: 'ACME', model: 'Box', firmwareVersion: '0.1.0' },
  configurationUrl: 'http://evse.local:8080/',
  connectors: [
    { id: 1, phases: 3, maxCurrentA: 32, phaseRelay: true },
    { id: 2, phases: 1, maxCurrentA: 16 },
  ],
  commands: true,
  energyTarget: true,
  owner: { targetStops: new Map([[1, false], [2, true]]) },
  currency: 'EUR',
  version: '0.1.0',
  readers: [{ id: 'front' }],
  site: true,
};

function announced(input: DiscoveryInput): Announced[] {
  return discoveryMessages(input).filter((m) => m.payload !== '').map((m) => ({ topic: m.topic, config: JSON.parse(m.payload) }));
}

function entity(list: Announced[], component: string, objectId: string): Record<string, any> {
  const e = list.find((a) => a.topic === `homeassistant/${component}/evsed_CP_1/${objectId}/config`);
  expect(e, `${component} ${objectId}`).toBeDefined();
  return e!.config;
}

/** Topics that are no entity of their own, and why. */
const NOT_ENTITIES: Record<string, string> = {
  'meter/availability': 'the availability of the meter entities',
  'session/currency': 'the unit of the cost sensors',
};

describe('Home Assistant discovery against Home Assistant\'s rules', () => {
  it('every config passes, with commands and without', () => {
    expect(haProblems(announced(full), 'evsed/CP.1')).toEqual([]);
    expect(haProblems(announced({ ...full, commands: false, owner: undefined }), 'evsed/CP.1')).toEqual([]);
    expect(haProblems(announced({ ...full, currency: undefined, site: false, readers: [] }), 'evsed/CP.1')).toEqual([]);
  });

  it('the PV entities pass too, on the same device', () => {
    for (const commands of [true, false]) {
      const pv = pvDiscovery({ enabled: true, topics, discoveryPrefix: 'homeassistant', stationId: 'CP.1', commands, device: haDevice(full.station, full.configurationUrl), origin: { name: 'evsed', sw_version: '0.1.0' } });
      const list = [...announced(full), ...pv.filter((m) => m.payload !== '').map((m) => ({ topic: m.topic, config: JSON.parse(m.payload) }))];
      expect(haProblems(list, 'evsed/CP.1')).toEqual([]);
    }
  });

  it('every connector topic a connector publishes is the state of an entity', () => {
    const list = announced(full);
    const stateTopics = new Set(list.map((a) => a.config.state_topic));
    const missing = CONNECTOR_TOPICS.filter((leaf) => !(leaf in NOT_ENTITIES) && !stateTopics.has(topics.connector(1, leaf)));
    expect(missing).toEqual([]);
    for (const t of [topics.clock]) expect(stateTopics.has(t), t).toBe(true);
  });

  it('the device links to the station page', () => {
    const list = announced(full);
    for (const a of list) expect(a.config.device.configuration_url, a.topic).toBe('http://evse.local:8080/');
  });

  it('the current limit starts at 6 A (HA cannot pick 1-5 A), pausing is a switch', () => {
    const list = announced(full);
    expect(entity(list, 'number', 'c1_current_limit')).toMatchObject({ min: 6, max: 32, unit_of_measurement: 'A', device_class: 'current' });
    expect(entity(list, 'number', 'c2_current_limit')).toMatchObject({ min: 6, max: 16 });
    expect(entity(list, 'switch', 'c1_pause')).toMatchObject({
      state_topic: topics.connector(1, 'paused'), command_topic: topics.command(1), payload_on: 'pause', payload_off: 'resume', state_on: 'ON', state_off: 'OFF',
    });
    // Without commands the pause is a binary sensor; the switch is removed.
    const ro = discoveryMessages({ ...full, commands: false, owner: undefined });
    expect(ro.find((m) => m.topic === 'homeassistant/switch/evsed_CP_1/c1_pause/config')?.payload).toBe('');
    expect(JSON.parse(ro.find((m) => m.topic === 'homeassistant/binary_sensor/evsed_CP_1/c1_paused/config')!.payload)).toMatchObject({ state_topic: topics.connector(1, 'paused') });
  });

  it('the user, which fault, available, frequency and per-phase power are discovered', () => {
    const list = announced(full);
    expect(entity(list, 'sensor', 'c1_user')).toMatchObject({ state_topic: topics.connector(1, 'session/user') });
    const faults = entity(list, 'sensor', 'c1_faults');
    expect(faults.state_topic).toBe(topics.connector(1, 'faults'));
    expect(faults.value_template).toContain('value_json');
    expect(entity(list, 'binary_sensor', 'c1_fault')).toMatchObject({ device_class: 'problem' });
    expect(entity(list, 'binary_sensor', 'c1_available')).toMatchObject({ state_topic: topics.connector(1, 'available') });
    expect(entity(list, 'sensor', 'c1_frequency')).toMatchObject({ device_class: 'frequency', unit_of_measurement: 'Hz', state_class: 'measurement' });
    for (const l of ['l1', 'l2', 'l3']) expect(entity(list, 'sensor', `c1_power_${l}`)).toMatchObject({ device_class: 'power', unit_of_measurement: 'W', state_class: 'measurement' });
    expect(entity(list, 'sensor', 'c2_power_l1').name).toBe('Connector 2 power');
  });

  it('price and costs for the Energy dashboard: monetary, session and lifetime cost with state class total', () => {
    const list = announced(full);
    expect(entity(list, 'sensor', 'c1_session_cost')).toMatchObject({ device_class: 'monetary', state_class: 'total', unit_of_measurement: 'EUR' });
    expect(entity(list, 'sensor', 'cost_total')).toMatchObject({ device_class: 'monetary', state_class: 'total', unit_of_measurement: 'EUR', state_topic: 'evsed/CP.1/cost/total' });
    const price = entity(list, 'sensor', 'price');
    expect(price).toMatchObject({ device_class: 'monetary', unit_of_measurement: 'EUR/kWh', state_topic: 'evsed/CP.1/tariff/price' });
    expect(price.state_class).toBeUndefined();
    // Without a tariff they are removed.
    const none = discoveryMessages({ ...full, currency: undefined });
    for (const id of ['price', 'cost_total', 'c1_session_cost']) expect(none.find((m) => m.topic === `homeassistant/sensor/evsed_CP_1/${id}/config`)?.payload, id).toBe('');
  });

  it('names say what an entity does: a target that does not stop charging is not a limit', () => {
    const list = announced(full);
    expect(entity(list, 'number', 'c1_target_energy').name).toBe('Connector 1 energy target');
    expect(entity(list, 'number', 'c2_target_energy').name).toBe('Connector 2 energy limit');
    const limits = list.filter((a) => /limit/i.test(a.config.name)).map((a) => a.topic.split('/')[3]);
    // Every "limit" limits: the current limit (and where it comes from), a target that stops.
    expect(limits.sort()).toEqual(['c1_current_limit', 'c1_limit_source', 'c2_current_limit', 'c2_limit_source', 'c2_target_energy']);
    expect(entity(list, 'sensor', 'c1_limit_source').name).toBe('Connector 1 current limit source');
  });

  it('the page URL: an allowed host name first, the listen address, the host name for a wildcard', () => {
    expect(pageUrl({ listen: '0.0.0.0:8080', allowedHosts: ['evse.local'] }, 8080, 'box')).toBe('http://evse.local:8080/');
    expect(pageUrl({ listen: '192.168.1.5:80', allowedHosts: [] }, 80, 'box')).toBe('http://192.168.1.5:80/');
    expect(pageUrl({ listen: '0.0.0.0:8080', allowedHosts: [] }, 8080, 'box')).toBe('http://box:8080/');
    expect(pageUrl({ listen: '[::]:8080', allowedHosts: [] }, 8080, 'box')).toBe('http://box:8080/');
    expect(pageUrl({ listen: '[fd00::5]:8080', allowedHosts: [] }, 8080, 'box')).toBe('http://[fd00::5]:8080/');
    // The port the API really listens on (listen :0 in tests).
    expect(pageUrl({ listen: '127.0.0.1:0', allowedHosts: [] }, 41234, 'box')).toBe('http://127.0.0.1:41234/');
  });
});

describe('the state behind the new entities', () => {
  it('session/user: the tag\'s name, else its id; none without a session', async () => {
    const { connectorState } = await import('../../src/telemetry/state.js');
    const session = { id: 7, uid: 'u', idTag: '04A1', authSource: 'local', startedAt: '2026-01-01T00:00:00Z', startedAtQuality: 'synced', meterStartWh: 0, energyWh: 0, durationS: 1, chargingS: 1, idleS: 0, meterGapS: 0, cost: null, etaS: null, etaBasis: 'unknown', socPercent: null } as const;
    const view = (s: unknown) => ({
      id: 1, status: 'Charging', pilot: 'C', diodeOk: true, pilotOutput: { mode: 'pwm', dutyPermille: 266 }, contactorClosed: true, currentLimitA: 16, limitSource: 'config',
      phases: { installed: 3, active: 3, switchable: false, switching: false, switchesThisSession: 0 }, faults: [], available: true, paused: false,
      meter: { energyWh: 1, powerW: 1, voltageV: [], currentA: [], powerPhaseW: [], frequencyHz: 50, health: 'ok', stale: false, ageS: 0 }, session: s,
    }) as any;
    const names = (t: string) => (t === '04A1' ? 'Anna' : null);
    expect(connectorState({ view: view(session), phases: 3, setpointA: 32, tagName: names }).get('session/user')).toBe('Anna');
    expect(connectorState({ view: view({ ...session, idTag: 'FF00' }), phases: 3, setpointA: 32, tagName: names }).get('session/user')).toBe('FF00');
    expect(connectorState({ view: view(null), phases: 3, setpointA: 32, tagName: names }).get('session/user')).toBe('none');
  });

  it('the gross price now follows the time-of-use window in the tariff\'s zone, and is published in major units', async () => {
    const { grossPricePerKWh } = await import('../../src/billing/price-now.js');
    const { billingState } = await import('../../src/telemetry/billing.js');
    const tariff = {
      currency: 'EUR', exponent: 2, timeZone: 'Europe/Berlin', energyPerKWh: 300_000, sessionFee: 0, parkingPerHour: 0, idleFeePerMinute: 0, idleGraceMinutes: 0, taxBasisPoints: 1900,
      timeOfUse: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '22:00', to: '24:00', fromMin: 1320, toMin: 1440, energyPerKWh: 200_000 }],
    } as any;
    // Wednesday 2026-01-07 12:00 UTC = 13:00 in Berlin: base price 0.30 net, 0.357 gross.
    expect(grossPricePerKWh(tariff, Date.UTC(2026, 0, 7, 12))).toBe(357_000);
    // 21:30 UTC = 22:30 in Berlin: the window's 0.20 net, 0.238 gross.
    expect(grossPricePerKWh(tariff, Date.UTC(2026, 0, 7, 21, 30))).toBe(238_000);
    expect(new Map(billingState(topics, { currency: 'EUR', pricePerKWh: 357_000, totalMinor: 12345 }))).toEqual(new Map([
      ['evsed/CP.1/tariff/price', '0.357'], ['evsed/CP.1/tariff/currency', 'EUR'], ['evsed/CP.1/cost/total', '123.45'],
    ]));
  });
});
