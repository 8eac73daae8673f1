import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import type { SimMeter } from '../../src/sim/meter.js';
import { parseConfig } from '../../src/config/load.js';
import { FIRMWARE_VERSION } from '../../src/domain/version.js';
import { startMqtt, type MqttService } from '../../src/telemetry/mqtt.js';
import { silentLogger } from '../../src/log.js';
import { haProblems } from './ha-rules.js';
import {
  captureLogger, freePort, Relay, STATION_ID, stationYaml, startTestDaemon, Subscriber, tempDir, until, type TestBroker,
} from './helpers.js';

const BASE = `evsed/${STATION_ID}`;
const C1 = `${BASE}/connector/1`;
const NODE = `evsed_${STATION_ID}`;
const cfgTopic = (component: string, object: string) => `homeassistant/${component}/${NODE}/${object}/config`;
const FILTERS = ['evsed/#', 'homeassistant/#'];

function sim(daemon: Daemon): SimHardware {
  return daemon.hardware(1) as SimHardware;
}

/** The simulated meter behind connector 1 (tests make it fail). */
function simMeter(daemon: Daemon): SimMeter {
  return daemon.meter(1) as SimMeter;
}

async function startCharging(daemon: Daemon, sub: Subscriber): Promise<void> {
  sim(daemon).ev.plug();
  await sub.waitFor(`${C1}/plugged`, (p) => p === 'ON');
  const r = await daemon.station.presentTag(1, 'TAG1');
  expect(r.status).toBe('Accepted');
  sim(daemon).ev.ready();
  await sub.waitFor(`${C1}/state`, (p) => p === 'Charging');
}

/**
 * The MQTT suite against a real broker. `makeBroker(port, dir)` gives a stopped broker on that port.
 */
export function brokerSuite(makeBroker: (port: number, dir: string) => TestBroker): void {
  let tmp: ReturnType<typeof tempDir>;
  let broker: TestBroker;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeEach(async () => {
    tmp = tempDir();
    broker = makeBroker(await freePort(), tmp.dir);
  });

  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
    await broker.stop();
    tmp.cleanup();
  });

  async function daemonWith(mqttYaml: string, log = silentLogger(), extra = '', connectorYaml = ''): Promise<Daemon> {
    const d = await startTestDaemon(tmp.dir, mqttYaml, log, extra, connectorYaml);
    cleanups.push(() => d.stop());
    return d;
  }

  async function subscriber(url = broker.url): Promise<Subscriber> {
    const s = await Subscriber.open(url, FILTERS);
    cleanups.push(() => s.close());
    return s;
  }

  it('publishes availability, retained station and connector state and Home Assistant discovery', async () => {
    await broker.start();
    const first = await subscriber();
    await daemonWith(`mqtt: { url: "${broker.url}", publishIntervalS: 0.2 }`);
    await first.waitFor(`${BASE}/availability`, (p) => p === 'online');
    await first.waitFor(`${C1}/energy`);

    // A client that connects later gets everything from the broker's retained copies.
    const late = await subscriber();
    const expected = [
      ...['availability', 'info', 'clock'].map((l) => `${BASE}/${l}`),
      ...['state', 'pilot', 'plugged', 'charging', 'contactor', 'fault', 'faults', 'meter/availability', 'energy', 'power', 'voltage/l1', 'voltage/l3', 'current/l2', 'current_limit/setpoint', 'session/active', 'session/eta', 'session/target_energy'].map((l) => `${C1}/${l}`),
      ...['energy', 'session_energy', 'power', 'voltage_l1', 'voltage_l2', 'voltage_l3', 'current_l1', 'current_l2', 'current_l3'].map((o) => cfgTopic('sensor', `c1_${o}`)),
      ...['plugged', 'charging', 'fault'].map((o) => cfgTopic('binary_sensor', `c1_${o}`)),
    ];
    await until(() => `retained topics: missing ${expected.filter((t) => !late.latest.has(t)).join(', ')}`, () => expected.every((t) => late.latest.has(t)));
    const retained = (t: string) => {
      const m = late.latest.get(t);
      expect(m, t).toBeDefined();
      expect(m!.retain, `${t} retained`).toBe(true);
      return m!.payload;
    };
    expect(retained(`${BASE}/availability`)).toBe('online');
    expect(JSON.parse(retained(`${BASE}/info`))).toEqual({ id: STATION_ID, vendor: 'evsed', model: 'sim', serialNumber: 'SIM-0001', firmwareVersion: expect.any(String), connectors: [1] });
    expect(retained(`${BASE}/clock`)).toBe('synced');
    expect(retained(`${C1}/state`)).toBe('Available');
    expect(retained(`${C1}/pilot`)).toBe('A');
    expect(retained(`${C1}/plugged`)).toBe('OFF');
    expect(retained(`${C1}/charging`)).toBe('OFF');
    expect(retained(`${C1}/contactor`)).toBe('OFF');
    expect(retained(`${C1}/fault`)).toBe('OFF');
    expect(retained(`${C1}/faults`)).toBe('[]');
    expect(retained(`${C1}/meter/availability`)).toBe('online');
    expect(retained(`${C1}/energy`)).toBe('1000000');
    expect(retained(`${C1}/power`)).toBe('0');
    expect(retained(`${C1}/voltage/l1`)).toBe('230');
    expect(retained(`${C1}/voltage/l3`)).toBe('230');
    expect(retained(`${C1}/current/l2`)).toBe('0');
    expect(retained(`${C1}/current_limit/setpoint`)).toBe('32');
    expect(retained(`${C1}/session/active`)).toBe('OFF');
    expect(retained(`${C1}/session/eta`)).toBe('unknown');

    const cfg = (component: string, object: string) => JSON.parse(retained(cfgTopic(component, object))) as Record<string, any>;
    const energy = cfg('sensor', 'c1_energy');
    expect(energy).toMatchObject({ device_class: 'energy', state_class: 'total_increasing', unit_of_measurement: 'Wh', state_topic: `${C1}/energy`, unique_id: `${NODE}_c1_energy` });
    expect(energy.device).toMatchObject({ identifiers: [NODE], manufacturer: 'evsed', model: 'sim', serial_number: 'SIM-0001', sw_version: '2.5.0-site' });
    // The origin is evsed itself, whatever firmware version the station reports.
    expect(energy.origin).toEqual({ name: 'evsed', sw_version: FIRMWARE_VERSION });
    expect(energy.availability).toEqual([
      { topic: `${BASE}/availability`, payload_available: 'online', payload_not_available: 'offline' },
      { topic: `${C1}/meter/availability`, payload_available: 'online', payload_not_available: 'offline' },
    ]);
    expect(energy.availability_mode).toBe('all');
    const sessionEnergy = cfg('sensor', 'c1_session_energy');
    expect(sessionEnergy).toMatchObject({ device_class: 'energy', unit_of_measurement: 'Wh', state_topic: `${C1}/session/energy` });
    expect(sessionEnergy.state_class).toBeUndefined();
    expect(cfg('sensor', 'c1_power')).toMatchObject({ device_class: 'power', state_class: 'measurement', unit_of_measurement: 'W' });
    for (const l of ['l1', 'l2', 'l3']) {
      expect(cfg('sensor', `c1_voltage_${l}`)).toMatchObject({ device_class: 'voltage', unit_of_measurement: 'V', state_topic: `${C1}/voltage/${l}` });
      expect(cfg('sensor', `c1_current_${l}`)).toMatchObject({ device_class: 'current', unit_of_measurement: 'A', state_topic: `${C1}/current/${l}` });
    }
    expect(cfg('binary_sensor', 'c1_plugged')).toMatchObject({ device_class: 'plug', state_topic: `${C1}/plugged`, payload_on: 'ON', payload_off: 'OFF' });
    expect(cfg('binary_sensor', 'c1_charging')).toMatchObject({ device_class: 'battery_charging', state_topic: `${C1}/charging` });
    expect(cfg('binary_sensor', 'c1_fault')).toMatchObject({ device_class: 'problem', state_topic: `${C1}/fault` });
    // One device for the station: every entity names the same device.
    const configs = [...late.latest.values()].filter((m) => m.topic.startsWith('homeassistant/') && m.payload !== '');
    expect(new Set(configs.map((m) => JSON.stringify(JSON.parse(m.payload).device))).size).toBe(1);
    // commands: false → no numbers or buttons announced (the energy target is published, not settable).
    expect(late.value(cfgTopic('number', 'c1_current_limit'))).toBeUndefined();
    expect(late.value(cfgTopic('number', 'c1_target_energy'))).toBeUndefined();
    expect(retained(`${C1}/session/target_energy`)).toBe('0');
    expect(late.value(cfgTopic('button', 'c1_stop'))).toBeUndefined();
  }, 30_000);

  it('follows a session live, keeps its final numbers, and does not publish a stale meter as fresh', async () => {
    await broker.start();
    const sub = await subscriber();
    const daemon = await daemonWith(`mqtt: { url: "${broker.url}", publishIntervalS: 0.2 }`);
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'online');
    await startCharging(daemon, sub);
    await sub.waitFor(`${C1}/charging`, (p) => p === 'ON');
    await sub.waitFor(`${C1}/contactor`, (p) => p === 'ON');
    await sub.waitFor(`${C1}/session/active`, (p) => p === 'ON');
    await sub.waitFor(`${C1}/current/l1`, (p) => p === '16');
    await sub.waitFor(`${C1}/power`, (p) => p === String(16 * 3 * 230));
    expect(sub.value(`${C1}/current_limit`)).toBe('32');
    expect(sub.value(`${C1}/pilot`)).toBe('C');
    await sub.waitFor(`${C1}/session/energy`, (p) => Number(p) >= 2);
    await sub.waitFor(`${C1}/session/duration`, (p) => Number(p) >= 1);
    const register = Number(await sub.waitFor(`${C1}/energy`, (p) => Number(p) > 1_000_000));
    expect(register).toBeGreaterThan(1_000_000);

    // The same tag ends the session; its final numbers stay.
    await daemon.station.presentTag(1, 'TAG1');
    await sub.waitFor(`${C1}/session/active`, (p) => p === 'OFF');
    await sub.waitFor(`${C1}/charging`, (p) => p === 'OFF');
    const rec = daemon.sessions.get(1)!;
    expect(rec.status).toBe('completed');
    await sub.waitFor(`${C1}/session/energy`, (p) => p === String(rec.energyWh));
    expect(sub.value(`${C1}/session/eta`)).toBe('unknown');

    // The meter stops answering: once its last reading is stale, meter topics are marked offline
    // and no meter value is published after that.
    simMeter(daemon).failing = true;
    await sub.waitFor(`${C1}/meter/availability`, (p) => p === 'offline', 20_000);
    const mark = sub.mark;
    await new Promise((r) => setTimeout(r, 1000));
    const meterTopics = ['energy', 'power', 'voltage/l1', 'current/l1', 'power/l1', 'frequency', 'session/energy'].map((l) => `${C1}/${l}`);
    expect(sub.since(mark).filter((m) => meterTopics.includes(m.topic))).toEqual([]);
    simMeter(daemon).failing = false;
    await sub.waitFor(`${C1}/meter/availability`, (p) => p === 'online', 10_000);

    // A fault shows up.
    sim(daemon).faults.set('rcd', true);
    await sub.waitFor(`${C1}/fault`, (p) => p === 'ON');
    await sub.waitFor(`${C1}/faults`, (p) => JSON.parse(p).includes('rcd'));
  }, 60_000);

  it('takes commands: current limit, pause, resume, stop; ignores invalid ones', async () => {
    await broker.start();
    const sub = await subscriber();
    const { log, lines } = captureLogger();
    // A retained command (left by a careless client) is delivered at every (re)connect: never acted on.
    await sub.publish(`${C1}/command`, 'pause', true);
    await sub.publish(`${C1}/current_limit/set`, '8', true);
    const daemon = await daemonWith(`mqtt: { url: "${broker.url}", publishIntervalS: 0.2, commands: true }`, log);
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'online');
    const refusedRetained = () => lines.filter((l) => String(l.reason).startsWith('retained command ignored')).map((l) => l.topic).sort();
    await until(() => `the retained commands to be refused (refused: ${refusedRetained().join(', ')})`, () => refusedRetained().length === 2);
    expect(refusedRetained()).toEqual([`${C1}/command`, `${C1}/current_limit/set`]);
    expect(daemon.station.claims(1).some((c) => c.source === 'mqtt')).toBe(false);
    const number = JSON.parse(await sub.waitFor(cfgTopic('number', 'c1_current_limit'))) as Record<string, unknown>;
    expect(number).toMatchObject({ min: 6, max: 32, step: 1, unit_of_measurement: 'A', command_topic: `${C1}/current_limit/set`, state_topic: `${C1}/current_limit/setpoint` });
    expect(JSON.parse(await sub.waitFor(cfgTopic('button', 'c1_stop')))).toMatchObject({ command_topic: `${C1}/command`, payload_press: 'stop' });
    expect(JSON.parse(await sub.waitFor(cfgTopic('switch', 'c1_pause')))).toMatchObject({ command_topic: `${C1}/command`, payload_on: 'pause', payload_off: 'resume', state_topic: `${C1}/paused` });
    await startCharging(daemon, sub);
    await sub.waitFor(`${C1}/current/l1`, (p) => p === '16');
    expect(daemon.station.connectorView(1)!.paused).toBe(false);

    await sub.publish(`${C1}/current_limit/set`, '10');
    await sub.waitFor(`${C1}/current_limit`, (p) => p === '10');
    await sub.waitFor(`${C1}/current_limit/setpoint`, (p) => p === '10');
    await sub.waitFor(`${C1}/current_limit/source`, (p) => p === 'mqtt');
    // The EV follows within the PWM change interval (IEC 61851: at most one change per 5 s); duty steps make it 9.96 A.
    await sub.waitFor(`${C1}/current/l1`, (p) => Math.abs(Number(p) - 10) < 0.1, 15_000);
    expect(daemon.station.connectorView(1)!.currentLimitA).toBe(10);

    const warningsBefore = lines.filter((l) => l.msg === 'MQTT: invalid command ignored').length;
    const bad: [string, string, boolean][] = [
      ['current_limit/set', 'abc', false],
      ['current_limit/set', '3', false],
      ['current_limit/set', '33', false],
      ['current_limit/set', '-6', false],
      // JSON carries a lease ({"amps": 12, "leaseS": 60}); nothing else.
      ['current_limit/set', '{"amps":12,"watts":1}', false],
      ['current_limit/set', 'x'.repeat(5000), false],
      ['command', 'explode', false],
    ];
    for (const [leaf, payload, retain] of bad) await sub.publish(`${C1}/${leaf}`, payload, retain);
    await sub.publish(`${BASE}/connector/7/command`, 'stop');
    await until(() => `the invalid commands to be logged; logged: ${JSON.stringify(lines.filter((l) => String(l.msg).startsWith('MQTT')).map((l) => [l.msg, l.reason]))}`, () => lines.filter((l) => l.msg === 'MQTT: invalid command ignored').length >= warningsBefore + bad.length + 1);
    expect(daemon.station.connectorView(1)!.currentLimitA).toBe(10);
    expect(daemon.station.connectorView(1)!.session).not.toBeNull();
    expect(sub.value(`${C1}/session/active`)).toBe('ON');

    await sub.publish(`${C1}/command`, 'pause');
    await sub.waitFor(`${C1}/paused`, (p) => p === 'ON');
    await sub.waitFor(`${C1}/charging`, (p) => p === 'OFF');
    await sub.publish(`${C1}/command`, 'RESUME');
    await sub.waitFor(`${C1}/paused`, (p) => p === 'OFF');
    await sub.waitFor(`${C1}/state`, (p) => p === 'Charging');

    // The connector's maximum removes the MQTT limit.
    await sub.publish(`${C1}/current_limit/set`, '32');
    await sub.waitFor(`${C1}/current_limit/source`, (p) => p === 'config');
    await sub.waitFor(`${C1}/current_limit/setpoint`, (p) => p === '32');
    expect(daemon.station.claims(1).some((c) => c.source === 'mqtt')).toBe(false);

    await sub.publish(`${C1}/command`, 'stop');
    await sub.waitFor(`${C1}/session/active`, (p) => p === 'OFF');
    expect(daemon.sessions.get(1)!.stopReason).toBe('Remote');
  }, 40_000);

  it('takes the energy target over MQTT (Wh, 0 removes it), with the connector\'s configured default and a Home Assistant number', async () => {
    await broker.start();
    const sub = await subscriber();
    const { log, lines } = captureLogger();
    await sub.publish(`${C1}/session/target_energy/set`, '5000', true); // retained: never acted on
    const daemon = await daemonWith(`mqtt: { url: "${broker.url}", publishIntervalS: 0.2, commands: true }`, log, '', '    energyTargetWh: 40000');
    await until('the retained target to be refused', () => lines.some((l) => l.topic === `${C1}/session/target_energy/set` && String(l.reason).startsWith('retained command ignored')));
    const number = JSON.parse(await sub.waitFor(cfgTopic('number', 'c1_target_energy'))) as Record<string, unknown>;
    expect(number).toMatchObject({
      min: 0, max: 1_000_000, unit_of_measurement: 'Wh', device_class: 'energy',
      command_topic: `${C1}/session/target_energy/set`, state_topic: `${C1}/session/target_energy`,
    });
    // The default from the config, before and during the session; the estimate uses it.
    await sub.waitFor(`${C1}/session/target_energy`, (p) => p === '40000');
    await startCharging(daemon, sub);
    const target = () => daemon.station.connectorView(1)!.session?.target;
    expect(target()).toMatchObject({ energyWh: 40_000 });
    await sub.waitFor(`${C1}/session/eta`, (p) => /^\d+$/.test(p) && Number(p) > 0);

    // Set over MQTT: the API and the estimate follow.
    await sub.publish(`${C1}/session/target_energy/set`, '25000');
    await sub.waitFor(`${C1}/session/target_energy`, (p) => p === '25000');
    expect(target()).toMatchObject({ energyWh: 25_000 });
    const api = await fetch(`http://127.0.0.1:${daemon.address.port}/api/status`).then((r) => r.json() as Promise<any>);
    expect(api.connectors[0].session.target.energyWh).toBe(25_000);

    // Invalid targets are refused and logged; the target stays.
    const before = lines.filter((l) => l.msg === 'MQTT: invalid command ignored').length;
    const bad = ['abc', '1500.5', '2000000', '-5', '30 kWh'];
    for (const p of bad) await sub.publish(`${C1}/session/target_energy/set`, p);
    await until('the invalid targets to be logged', () => lines.filter((l) => l.msg === 'MQTT: invalid command ignored').length >= before + bad.length);
    expect(target()).toMatchObject({ energyWh: 25_000 });
    expect(sub.value(`${C1}/session/target_energy`)).toBe('25000');

    // 0 removes it (the default too, for this session): no target, no estimate.
    await sub.publish(`${C1}/session/target_energy/set`, '0');
    await sub.waitFor(`${C1}/session/target_energy`, (p) => p === '0');
    expect(target()).toMatchObject({ energyWh: null });
    await sub.waitFor(`${C1}/session/eta`, (p) => p === 'unknown');

    // After the session the configured default applies again.
    await daemon.station.stopSession(1, 'Local');
    await sub.waitFor(`${C1}/session/active`, (p) => p === 'OFF');
    await sub.waitFor(`${C1}/session/target_energy`, (p) => p === '40000');
  }, 40_000);

  it('every discovery config keeps Home Assistant\'s rules, and a fresh subscriber after a daemon and broker restart sees a consistent retained state', async () => {
    await broker.start();
    const mqttYaml = `mqtt: { url: "${broker.url}", publishIntervalS: 0.2, commands: true }`;
    const tariff = 'tariff: { currency: EUR, energyPerKWh: 0.30, sessionFee: 0.50, taxPercent: 19, timeZone: Europe/Berlin }';
    const first = await daemonWith(mqttYaml, silentLogger(), tariff);
    const sub = await subscriber();
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'online');
    await sub.waitFor(cfgTopic('sensor', 'cost_total'));
    await startCharging(first, sub);
    await sub.waitFor(`${C1}/session/user`, (p) => p === 'Test');
    await sub.waitFor(`${C1}/session/cost`, (p) => Number(p) > 0);
    await first.station.presentTag(1, 'TAG1');
    await sub.waitFor(`${C1}/session/active`, (p) => p === 'OFF');
    await sub.waitFor(`${C1}/session/user`, (p) => p === 'none');
    sim(first).ev.unplug();
    await sub.waitFor(`${C1}/state`, (p) => p === 'Available');
    const uniqueIds = (s: Subscriber) =>
      new Map([...s.latest.values()].filter((m) => m.topic.startsWith('homeassistant/') && m.payload !== '').map((m) => [m.topic, JSON.parse(m.payload).unique_id as string]));
    const before = uniqueIds(sub);
    await first.stop();
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'offline');
    // The broker restarts too and forgets every retained value: all a fresh subscriber sees below
    // is what the restarted daemon published.
    await broker.stop();
    await broker.start();

    const second = await daemonWith(mqttYaml, silentLogger(), tariff);
    const port = second.address.port;
    const watcher = await subscriber();
    await watcher.waitFor(`${BASE}/availability`, (p) => p === 'online');
    // The page's URL is announced once the API listens.
    await watcher.waitFor(cfgTopic('sensor', 'c1_energy'), (p) => JSON.parse(p).device.configuration_url === `http://127.0.0.1:${port}/`);
    // Let the announcement and the state settle (the configs at QoS 1 may trail the state).
    for (let n = -1; n !== watcher.all.length; ) {
      n = watcher.all.length;
      await new Promise((r) => setTimeout(r, 400));
    }
    // Then a subscriber that comes now sees only what the broker retained.
    const fresh = await subscriber();
    await fresh.waitFor(`${BASE}/availability`);
    for (let n = -1; n !== fresh.all.length; ) {
      n = fresh.all.length;
      await new Promise((r) => setTimeout(r, 300));
    }
    const configs = [...fresh.latest.values()].filter((m) => m.topic.startsWith('homeassistant/') && m.payload !== '').map((m) => ({ topic: m.topic, config: JSON.parse(m.payload) }));
    expect(configs.length).toBeGreaterThan(40);
    expect(haProblems(configs, BASE)).toEqual([]);
    // Stable: the same entities with the same unique ids as before the restart.
    expect(uniqueIds(fresh)).toEqual(before);
    for (const { topic, config } of configs) {
      for (const a of config.availability) expect(fresh.latest.get(a.topic)?.retain, `${topic}: availability ${a.topic} retained`).toBe(true);
      if (config.state_topic) expect(fresh.latest.get(config.state_topic)?.retain, `${topic}: state ${config.state_topic} retained`).toBe(true);
    }
    expect(fresh.value(`${BASE}/availability`)).toBe('online');
    // Consistent: no session that has ended shows as running; the final numbers are the stored ones.
    const rec = second.sessions.get(1)!;
    expect(rec.status).toBe('completed');
    expect(fresh.value(`${C1}/state`)).toBe('Available');
    expect(second.station.connectorView(1)!.status).toBe('Available');
    expect(fresh.value(`${C1}/plugged`)).toBe('OFF');
    expect(fresh.value(`${C1}/session/active`)).toBe('OFF');
    expect(fresh.value(`${C1}/charging`)).toBe('OFF');
    expect(fresh.value(`${C1}/session/user`)).toBe('none');
    expect(fresh.value(`${C1}/session/eta`)).toBe('unknown');
    expect(fresh.value(`${C1}/session/energy`)).toBe(String(rec.energyWh));
    const cost = second.ledger.costOf(rec.id)!;
    expect(fresh.value(`${C1}/session/cost`)).toBe(`${Math.floor(cost.gross / 100)}.${String(cost.gross % 100).padStart(2, '0')}`);
    expect(fresh.value(`${BASE}/cost/total`)).toBe(fresh.value(`${C1}/session/cost`));
    expect(fresh.value(`${BASE}/tariff/price`)).toBe('0.357');
  }, 60_000);

  it('announces again when Home Assistant comes online, and removes entities it no longer has', async () => {
    await broker.start();
    const sub = await subscriber();
    // A station that had commands on before: its old number entity is retained on the broker.
    await sub.publish(cfgTopic('number', 'c1_current_limit'), '{"name":"old"}', true);
    await daemonWith(`mqtt: { url: "${broker.url}", publishIntervalS: 0.2 }`);
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'online');
    await sub.waitFor(cfgTopic('number', 'c1_current_limit'), (p) => p === '');
    await sub.waitFor(cfgTopic('sensor', 'c1_energy'));

    const mark = sub.mark;
    await sub.publish('homeassistant/status', 'online');
    await sub.waitFor(cfgTopic('sensor', 'c1_energy'), () => true, 10_000, mark);
    await sub.waitFor(`${C1}/state`, () => true, 10_000, mark);
    const again = sub.since(mark).filter((m) => m.topic.startsWith('homeassistant/sensor/'));
    expect(again.length).toBeGreaterThan(10);
    // The configs go out at QoS 1, the state at QoS 0: the broker may deliver the state before the
    // last configs (mosquitto keeps at most 20 QoS 1 messages in flight per client by default).
    // Let the republish end.
    const configs = () => sub.since(mark).filter((m) => m.topic.startsWith('homeassistant/')).length;
    for (let n = -1; n !== configs(); ) {
      n = configs();
      await new Promise((r) => setTimeout(r, 300));
    }
    // "offline" from HA changes nothing.
    const mark2 = sub.mark;
    await sub.publish('homeassistant/status', 'offline');
    await new Promise((r) => setTimeout(r, 500));
    expect(sub.since(mark2).filter((m) => m.topic.startsWith('homeassistant/sensor/'))).toEqual([]);
  }, 30_000);

  it('has the broker publish the last will "offline" when the connection drops, and comes back online', async () => {
    await broker.start();
    const relay = new Relay(broker.port);
    await relay.start();
    cleanups.push(() => relay.stop());
    const sub = await subscriber();
    await daemonWith(`mqtt: { url: "${relay.url}", publishIntervalS: 0.2 }`);
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'online');
    const mark = sub.mark;
    relay.cut();
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'offline', 15_000, mark);
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'online', 15_000, mark);
  }, 40_000);

  it('reconnects after a broker restart and republishes retained state and discovery', async () => {
    await broker.start();
    const daemon = await daemonWith(`mqtt: { url: "${broker.url}", publishIntervalS: 0.2, commands: true }`);
    const before = await subscriber();
    await before.waitFor(`${C1}/energy`);
    await before.close();

    await broker.stop();
    sim(daemon).ev.plug(); // changes while the broker is away
    await new Promise((r) => setTimeout(r, 300));
    await broker.start();

    const after = await subscriber();
    await after.waitFor(`${BASE}/availability`, (p) => p === 'online', 20_000);
    await after.waitFor(`${C1}/plugged`, (p) => p === 'ON', 10_000);
    await after.waitFor(`${C1}/energy`, (p) => p === '1000000');
    expect(JSON.parse(await after.waitFor(cfgTopic('sensor', 'c1_energy')))).toMatchObject({ state_class: 'total_increasing' });
    // Commands work on the new connection (subscriptions were made again).
    await after.publish(`${C1}/current_limit/set`, '8');
    await after.waitFor(`${C1}/current_limit/setpoint`, (p) => p === '8');
  }, 40_000);

  it('does not hold up the daemon when the broker is down; connects when it appears', async () => {
    const { log, lines } = captureLogger();
    const daemon = await daemonWith(`mqtt: { url: "${broker.url}", publishIntervalS: 0.2 }`, log);
    expect(daemon.station.connectorView(1)!.status).toBe('Available');
    await until('a connect failure to be logged', () => lines.some((l) => String(l.msg).startsWith('MQTT: cannot reach the broker')));
    await broker.start();
    const sub = await subscriber();
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'online', 20_000);
    await sub.waitFor(`${C1}/state`, (p) => p === 'Available');
  }, 40_000);

  it('publishes offline on a clean stop', async () => {
    await broker.start();
    const sub = await subscriber();
    const daemon = await daemonWith(`mqtt: { url: "${broker.url}" }`);
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'online');
    await daemon.stop();
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'offline');
    expect(sub.latest.get(`${BASE}/availability`)!.payload).toBe('offline');
  }, 30_000);

  it('publishes the live and final cost and the time to finish of the daemon\'s own billing (real ledger, tariff, target), equal to the API\'s', async () => {
    await broker.start();
    const sub = await subscriber();
    const tariff = 'tariff: { currency: EUR, energyPerKWh: 0.30, sessionFee: 0.50, taxPercent: 19, timeZone: Europe/Berlin }';
    const daemon = await daemonWith(`mqtt: { url: "${broker.url}", publishIntervalS: 0.2 }`, silentLogger(), tariff);
    const base = `http://127.0.0.1:${daemon.address.port}`;
    const apiJson = async (path: string, body?: unknown): Promise<any> => {
      const res = await fetch(base + path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.ok, path).toBe(true);
      return res.json();
    };
    expect(JSON.parse(await sub.waitFor(cfgTopic('sensor', 'c1_session_cost')))).toMatchObject({ unit_of_measurement: 'EUR' });
    await startCharging(daemon, sub);
    await apiJson('/api/connectors/1/target', { energyWh: 50_000 });

    // Live: the broker's latest cost and time to finish equal /api/status read right after (retried across a change).
    const minorText = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
    let last = '';
    const live = await until(() => `MQTT cost/eta equal to /api/status (last: ${last})`, async () => {
      const s = (await apiJson('/api/status')).connectors[0].session;
      const mqtt = { cost: sub.value(`${C1}/session/cost`), currency: sub.value(`${C1}/session/currency`), eta: sub.value(`${C1}/session/eta`) };
      const api = s?.cost ? { cost: minorText(s.cost.grossMinor), currency: s.cost.currency, eta: typeof s.etaS === 'number' ? String(s.etaS) : 'unknown' } : null;
      last = JSON.stringify({ mqtt, api });
      return api && s.energyWh > 0 && s.etaS > 0 && JSON.stringify(mqtt) === JSON.stringify(api) ? { ...api, grossMinor: s.cost.grossMinor as number } : undefined;
    }, 20_000);
    expect(live.currency).toBe('EUR');
    expect(live.grossMinor).toBeGreaterThanOrEqual(60); // the session fee with tax, plus energy
    expect(Number(live.eta)).toBeGreaterThan(0);

    // Final: what the ledger stored, as the API's session row has it.
    const id = daemon.station.connectorView(1)!.session!.id;
    await apiJson('/api/connectors/1/stop', {});
    await sub.waitFor(`${C1}/session/active`, (p) => p === 'OFF');
    const row = await until('the stored final cost', async () => {
      const r = await apiJson(`/api/sessions/${id}`);
      return r.status === 'completed' && r.costTotal ? r : undefined;
    });
    expect(row.currency).toBe('EUR');
    await sub.waitFor(`${C1}/session/cost`, (p) => p === row.costTotal);
    expect(sub.value(`${C1}/session/currency`)).toBe('EUR');
    expect(sub.value(`${C1}/session/energy`)).toBe(String(row.energyWh));
    expect(sub.value(`${C1}/session/eta`)).toBe('unknown');
    expect(daemon.ledger.costOf(id)!.gross).toBe(Math.round(Number(row.costTotal) * 100));
  }, 40_000);

  it('publishes live cost and time to finish from the extras provider, and a cost sensor with the tariff currency', async () => {
    await broker.start();
    const sub = await subscriber();
    const daemon = await daemonWith('');
    const tariff = 'tariff: { currency: EUR, energyPerKWh: 0.30, timeZone: Europe/Berlin }';
    const config = parseConfig(stationYaml(tmp.dir, `mqtt: { url: "${broker.url}", publishIntervalS: 0.2 }`, tariff));
    const calls: [number, number][] = [];
    const svc: MqttService = await startMqtt({
      config,
      station: daemon.station,
      log: silentLogger(),
      liveExtras: (connectorId, sessionId) => {
        calls.push([connectorId, sessionId]);
        return { costMinor: 1234, currency: 'EUR', etaS: 3600.4 };
      },
    });
    cleanups.push(() => svc.stop());
    await until('connected', () => svc.connected());
    expect(JSON.parse(await sub.waitFor(cfgTopic('sensor', 'c1_session_cost')))).toMatchObject({ device_class: 'monetary', unit_of_measurement: 'EUR', state_topic: `${C1}/session/cost` });
    await startCharging(daemon, sub);
    await sub.waitFor(`${C1}/session/cost`, (p) => p === '12.34');
    await sub.waitFor(`${C1}/session/currency`, (p) => p === 'EUR');
    await sub.waitFor(`${C1}/session/eta`, (p) => p === '3600');
    const sessionId = daemon.station.connectorView(1)!.session!.id;
    expect(calls.some(([c, s]) => c === 1 && s === sessionId)).toBe(true);
    await svc.stop();
    expect(svc.connected()).toBe(false);
  }, 30_000);
}
