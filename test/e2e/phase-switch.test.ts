import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import type { ConnectorStatus } from '../../src/evse/port.js';
import { tempDir, until } from '../support/station.js';
import { AedesBroker, freePort, Subscriber } from '../telemetry/helpers.js';

/**
 * 1p/3p switching end to end: the in-process daemon, the simulated board with its phase relay
 * and the simulated EV (3-phase, 16 A), the sim meter. The configured pause (at least 5 s in a
 * config file) is shortened to 300 ms after validation so the test takes well under a second per
 * switch; everything else is as configured.
 */

const PAUSE_MS = 300;
const dirs: string[] = [];
const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function config(dir: string, extra = ''): string {
  const file = join(dir, 'evsed.yaml');
  writeFileSync(file, `station: { id: CP-PHASES, vendor: evsed, model: test }
storage: { dir: ${JSON.stringify(join(dir, 'data'))}, flushIntervalS: 1, sampleIntervalS: 1 }
auth: { mode: local, tags: [{ idTag: TAG-1 }] }
api: { listen: 127.0.0.1:0 }
log: { level: info, format: json }
clock: { trust: always }
connectors:
  - id: 1
    maxCurrentA: 16
    phases: 3
    hardware: { driver: sim, ev: { maxCurrentA: 16, phases: 3 }, world: fresh, phaseRelay: true }
    meter: { model: sim, initialEnergyWh: 1000 }
    phaseSwitch: { pauseS: 5, maxPerSession: 2 }
  - id: 2
    maxCurrentA: 16
    phases: 3
    hardware: { driver: sim, world: fresh }
    meter: { model: sim, initialEnergyWh: 1000 }
${extra}`);
  return file;
}

async function daemon(dir?: string, extra = '') {
  const d0 = dir ?? tempDir('evsed-phases-');
  if (!dir) dirs.push(d0);
  const loaded = loadConfig(config(d0, extra));
  loaded.config.connectors[0]!.phaseSwitch.pauseS = PAUSE_MS / 1000; // test only: the schema asks for >= 5 s
  const d = await startDaemon(loaded, silentLogger());
  daemons.push(d);
  const hw = d.hardware(1) as SimHardware;
  return { d, hw, dir: d0 };
}

async function charging(d: Daemon, hw: SimHardware) {
  hw.ev.plug();
  expect((await d.station.presentTag(1, 'TAG-1')).status).toBe('Accepted');
  hw.ev.ready();
  await until(() => d.station.connectorView(1)!.contactorClosed, 'charging');
}

/** Phase currents, whole A (16 A is offered as 26.6 % duty, which the EV reads as 15.96 A). */
const amps = (s: { currentA: number[] }) => s.currentA.map((a) => Math.round(a));

/** Statuses seen on connector 1 from now on. */
function statuses(d: Daemon): ConnectorStatus[] {
  const seen: ConnectorStatus[] = [];
  d.station.on('status', (v) => {
    if (v.id === 1 && seen.at(-1) !== v.status) seen.push(v.status);
  });
  return seen;
}

describe('1p/3p switching with the simulator', () => {
  it('charging on 3 phases -> 1 phase: the EV draws on L1 only, one session throughout, the relay never moved under load; bounded per session', async () => {
    const { d, hw } = await daemon();
    await charging(d, hw);
    expect(amps(await d.station.readMeter(1))).toEqual([16, 16, 16]);
    const session = d.station.sessionOn(1)!.id;
    expect(d.station.connectorView(1)!.phases).toEqual({ installed: 3, active: 3, switchable: true, switching: false, switchesThisSession: 0 });
    expect(await d.station.setPhases(1, 3, 'test')).toBe('Accepted'); // already on 3: at once, nothing moves

    const seen = statuses(d);
    const started = performance.now();
    const switching = d.station.setPhases(1, 1, 'test');
    expect(d.station.connectorView(1)!.phases.switching).toBe(true);
    expect(await switching).toBe('Accepted');
    expect(performance.now() - started).toBeGreaterThanOrEqual(PAUSE_MS);
    expect(seen).toContain('SuspendedEVSE');
    expect(seen).not.toContain('Finishing');
    await until(() => d.station.connectorView(1)!.contactorClosed, 'charging again');
    expect(amps(await d.station.readMeter(1))).toEqual([16, 0, 0]);
    expect(d.station.connectorView(1)!.phases).toEqual({ installed: 3, active: 1, switchable: true, switching: false, switchesThisSession: 1 });
    expect(d.station.sessionOn(1)!.id).toBe(session);
    expect(d.sessions.list({}).length).toBe(1);

    expect(await d.station.setPhases(1, 3, 'test')).toBe('Accepted');
    await until(() => d.station.connectorView(1)!.contactorClosed, 'charging again on 3');
    expect(amps(await d.station.readMeter(1))).toEqual([16, 16, 16]);
    // maxPerSession 2: the third switch is refused at once and the EV keeps charging.
    expect(await d.station.setPhases(1, 1, 'test')).toBe('Rejected');
    expect(d.station.connectorView(1)!).toMatchObject({ contactorClosed: true, status: 'Charging', phases: { active: 3, switchesThisSession: 2 } });

    expect(hw.phaseLog.map((e) => e.phases)).toEqual([1, 3]);
    for (const e of hw.phaseLog) expect(e).toMatchObject({ contactorCommanded: false, contactorFeedback: false, currentA: 0 });
    expect(d.station.sessionOn(1)!.id).toBe(session);
  });

  it('a fault during the pause: the contactor stays open, the switch is aborted (Rejected), the relay never moves', async () => {
    const { d, hw } = await daemon();
    await charging(d, hw);
    const switching = d.station.setPhases(1, 1, 'test');
    await until(() => !d.station.connectorView(1)!.contactorClosed && d.station.connectorView(1)!.phases.switching, 'in the pause');
    d.station.simulator(1)!.setFault('overtemperature', true);
    expect(await switching).toBe('Rejected');
    await new Promise((r) => setTimeout(r, PAUSE_MS + 100));
    expect(hw.phaseLog).toEqual([]);
    expect(d.station.connectorView(1)!).toMatchObject({ contactorClosed: false, status: 'Faulted', phases: { active: 3, switching: false, switchesThisSession: 0 } });
    // With the fault active a new request is refused at once.
    expect(await d.station.setPhases(1, 1, 'test')).toBe('Rejected');
  });

  it('POST /api/connectors/:id/phases: 400 for a bad body, 409 without a relay, 200 when done, 202 while a switch runs', async () => {
    const { d, hw } = await daemon();
    const post = async (id: number, body: unknown) => {
      const res = await fetch(`http://127.0.0.1:${d.address.port}/api/connectors/${id}/phases`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { result?: string; error?: string; phases?: { active: number; switching: boolean } } };
    };
    expect((await post(1, { phases: 2 })).status).toBe(400);
    expect(await post(2, { phases: 1 })).toMatchObject({ status: 409, body: { result: 'NotSupported' } });
    expect(await post(1, { phases: 1 })).toMatchObject({ status: 200, body: { result: 'Accepted', phases: { active: 1, switching: false } } });
    await charging(d, hw);
    expect(await post(1, { phases: 3 })).toMatchObject({ status: 202, body: { result: 'Pending', phases: { active: 1, switching: true } } });
    await until(() => d.station.connectorView(1)!.contactorClosed && d.station.connectorView(1)!.phases.active === 3, 'charging on 3 phases');
  });

  it('MQTT: phases/set switches, the phases topic follows, Home Assistant gets a select for the connector with a relay only', async () => {
    const broker = new AedesBroker(await freePort());
    await broker.start();
    const sub = await Subscriber.open(broker.url, ['evsed/#', 'homeassistant/#']);
    try {
      const { d } = await daemon(undefined, `mqtt: { url: "${broker.url}", publishIntervalS: 0.2, commands: true }`);
      const base = 'evsed/CP-PHASES/connector';
      const select = JSON.parse(await sub.waitFor('homeassistant/select/evsed_CP-PHASES/c1_phases/config')) as Record<string, unknown>;
      expect(select).toMatchObject({ options: ['1', '3'], state_topic: `${base}/1/phases`, command_topic: `${base}/1/phases/set` });
      await sub.waitFor(`${base}/1/phases`, (p) => p === '3');
      await sub.waitFor(`${base}/2/phases`, (p) => p === '3');
      expect(sub.value('homeassistant/select/evsed_CP-PHASES/c2_phases/config') ?? '').toBe('');
      await sub.publish(`${base}/1/phases/set`, '1');
      await sub.waitFor(`${base}/1/phases`, (p) => p === '1');
      expect(d.station.connectorView(1)!.phases.active).toBe(1);
    } finally {
      await sub.close();
      for (const d of daemons.splice(0)) await d.stop();
      await broker.stop();
    }
  });

  it('the relay position survives a restart; without a relay NotSupported; an unknown connector Rejected', async () => {
    const a = await daemon();
    expect(await a.d.station.setPhases(1, 1, 'test')).toBe('Accepted'); // no session: at once, not counted
    expect(a.d.station.connectorView(1)!.phases).toMatchObject({ active: 1, switchesThisSession: 0 });
    expect(await a.d.station.setPhases(2, 1, 'test')).toBe('NotSupported');
    expect(a.d.station.connectorView(2)!.phases).toEqual({ installed: 3, active: 3, switchable: false, switching: false, switchesThisSession: 0 });
    expect(await a.d.station.setPhases(9, 1, 'test')).toBe('Rejected');
    await a.d.stop();
    daemons.splice(daemons.indexOf(a.d), 1);
    const b = await daemon(a.dir);
    expect(b.hw.phaseRelay!.get()).toBe(1);
    expect(b.d.station.connectorView(1)!.phases.active).toBe(1);
    await charging(b.d, b.hw);
    expect(amps(await b.d.station.readMeter(1))).toEqual([16, 0, 0]);
  });
});
