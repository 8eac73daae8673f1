import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import { AedesBroker, captureLogger, freePort, STATION_ID, startTestDaemon, Subscriber, tempDir, until } from './helpers.js';

const BASE = `evsed/${STATION_ID}`;
const C1 = `${BASE}/connector/1`;
const NODE = `evsed_${STATION_ID}`;
const cfgTopic = (component: string, object: string) => `homeassistant/${component}/${NODE}/${object}/config`;

/** Owner limits, charge now and a leased limit over MQTT (aedes in-process), with Home Assistant's entities. */
describe('MQTT: owner limits, charge now, leases', () => {
  let tmp: ReturnType<typeof tempDir>;
  let broker: AedesBroker;
  let daemon: Daemon;
  let sub: Subscriber;
  let lines: Record<string, unknown>[];

  beforeEach(async () => {
    tmp = tempDir();
    broker = new AedesBroker(await freePort());
    await broker.start();
    sub = await Subscriber.open(broker.url, ['evsed/#', 'homeassistant/#']);
    const captured = captureLogger();
    lines = captured.lines;
    daemon = await startTestDaemon(tmp.dir, `mqtt: { url: "${broker.url}", publishIntervalS: 0.2, commands: true }`, captured.log);
    await sub.waitFor(`${BASE}/availability`, (p) => p === 'online');
  });
  afterEach(async () => {
    await daemon.stop();
    await sub.close();
    await broker.stop();
    tmp.cleanup();
  });

  const startCharging = async () => {
    const hw = daemon.hardware(1) as SimHardware;
    hw.ev.plug();
    expect((await daemon.station.presentTag(1, 'TAG1')).status).toBe('Accepted');
    hw.ev.ready();
    await sub.waitFor(`${C1}/state`, (p) => p === 'Charging');
  };

  it('announces numbers, a select, a switch and the timer; the energy target is called a limit only in mode stop', async () => {
    const cfg = async (component: string, object: string) => JSON.parse(await sub.waitFor(cfgTopic(component, object))) as Record<string, any>;
    expect(await cfg('number', 'c1_limit_energy')).toMatchObject({ name: 'Stop after energy', min: 0, max: 1_000_000, unit_of_measurement: 'Wh', state_topic: `${C1}/session/limit_energy`, command_topic: `${C1}/session/limit_energy/set` });
    expect(await cfg('number', 'c1_limit_time')).toMatchObject({ name: 'Stop after time', min: 0, max: 10_080, unit_of_measurement: 'min', device_class: 'duration' });
    expect(await cfg('number', 'c1_limit_soc')).toMatchObject({ name: 'Stop at state of charge', min: 0, max: 100, unit_of_measurement: '%' });
    expect(await cfg('select', 'c1_target_mode')).toMatchObject({ options: ['estimate', 'stop'], command_topic: `${C1}/session/target_mode/set`, state_topic: `${C1}/session/target_mode` });
    expect(await cfg('switch', 'c1_charge_now')).toMatchObject({ name: 'Charge now', command_topic: `${C1}/charge_now/set`, payload_on: 'ON', payload_off: 'OFF' });
    expect(await cfg('sensor', 'c1_timer')).toMatchObject({ options: ['none', 'open', 'closed'], state_topic: `${C1}/timer` });
    expect((await cfg('number', 'c1_target_energy')).name).toBe('Energy target');
    expect(await sub.waitFor(`${C1}/session/target_mode`)).toBe('estimate');
    expect(await sub.waitFor(`${C1}/timer`)).toBe('none');

    const mark = sub.mark;
    await sub.publish(`${C1}/session/target_mode/set`, 'stop');
    await sub.waitFor(`${C1}/session/target_mode`, (p) => p === 'stop', 10_000, mark);
    const renamed = await sub.waitFor(cfgTopic('number', 'c1_target_energy'), (p) => JSON.parse(p).name === 'Energy limit', 10_000, mark);
    expect(JSON.parse(renamed).unique_id).toBe(`${NODE}_c1_target_energy`);
  }, 30_000);

  it('a current limit with a lease falls back when the manager stops sending it; a plain number keeps working', async () => {
    await sub.publish(`${C1}/current_limit/set`, '{"amps": 10, "leaseS": 1}');
    await sub.waitFor(`${C1}/current_limit/setpoint`, (p) => p === '10');
    expect(daemon.station.claims(1).find((c) => c.source === 'mqtt')).toEqual({ source: 'mqtt', connectorId: 1, maxA: 10, leaseMs: 1000 });
    await until('the lease to run out', () => !daemon.station.claims(1).some((c) => c.source === 'mqtt'), 5000);
    await sub.waitFor(`${C1}/current_limit/setpoint`, (p) => p === '32');

    await sub.publish(`${C1}/current_limit/set`, '{"amps": 10, "leaseS": 0}');
    await until('the bad lease to be refused', () => lines.some((l) => String(l.reason).startsWith('leaseS must be a whole number')));
    await sub.publish(`${C1}/current_limit/set`, '8');
    await sub.waitFor(`${C1}/current_limit/setpoint`, (p) => p === '8');
    expect(daemon.station.claims(1).find((c) => c.source === 'mqtt')).toEqual({ source: 'mqtt', connectorId: 1, maxA: 8 });
  }, 30_000);

  it('an energy limit set over MQTT ends the session with EnergyLimitReached; charge now needs a session', async () => {
    await sub.publish(`${C1}/charge_now/set`, 'ON');
    await until('charge now without a session to be refused', () => lines.some((l) => String(l.reason).startsWith('charge now needs a running session')));
    await startCharging();
    await sub.publish(`${C1}/charge_now/set`, 'ON');
    await sub.waitFor(`${C1}/charge_now`, (p) => p === 'ON');
    expect(daemon.station.claims(1).find((c) => c.source === 'charge-now')).toMatchObject({ maxA: 32, priority: 20 });
    await sub.publish(`${C1}/session/limit_energy/set`, '5');
    await sub.waitFor(`${C1}/session/limit_energy`, (p) => p === '5');
    await sub.waitFor(`${C1}/session/active`, (p) => p === 'OFF');
    expect(daemon.sessions.get(1)).toMatchObject({ status: 'completed', stopReason: 'EnergyLimitReached' });
    // The limit and charge now belonged to that session.
    await sub.waitFor(`${C1}/session/limit_energy`, (p) => p === '0');
    await sub.waitFor(`${C1}/charge_now`, (p) => p === 'OFF');
  }, 30_000);

  it('charging timers over MQTT: a JSON list sets them (kept, shown on <base>/timers), a bad one is refused with the key, null goes back to the config', async () => {
    expect(JSON.parse(await sub.waitFor(`${BASE}/timers`))).toEqual({ source: 'config', timeZone: expect.any(String), timers: [] });
    let mark = sub.mark;
    await sub.publish(`${BASE}/timers/set`, '[{"days": ["weekdays"], "start": "22:00", "end": "06:00"}]');
    const set = JSON.parse(await sub.waitFor(`${BASE}/timers`, (p) => JSON.parse(p).source === 'api', 10_000, mark));
    expect(set.timers).toEqual([{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '22:00', end: '06:00' }]);
    expect(await sub.waitFor(`${C1}/timer`, (p) => p !== 'none', 10_000, mark)).toMatch(/^(open|closed)$/);

    await sub.publish(`${BASE}/timers/set`, '[{"days": ["weekdays"], "start": "25:00", "end": "06:00"}]');
    await until('the bad window refused, naming it', () => lines.some((l) => String(l.reason).startsWith('timers[0].start: must be a local time HH:MM')));
    await sub.publish(`${BASE}/timers/set`, '[{"start": "22:00", "end": "06:00", "connectors": [7]}]');
    await until('an unknown connector refused', () => lines.some((l) => String(l.reason).startsWith('timers[0].connectors: no connector 7')));
    expect((daemon.station.extraStatus().timers as { source: string }).source).toBe('api');

    mark = sub.mark;
    await sub.publish(`${BASE}/timers/set`, 'null');
    await sub.waitFor(`${BASE}/timers`, (p) => JSON.parse(p).source === 'config', 10_000, mark);
    await sub.waitFor(`${C1}/timer`, (p) => p === 'none', 10_000, mark);
  }, 30_000);
});

