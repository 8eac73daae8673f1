import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, connectAsync, type MqttClient } from 'mqtt';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import type { PvStatus } from '../../src/energy/pv-service.js';
import { api, tempDir, until, writeSimConfig } from '../support/station.js';
import { AedesBroker, freePort } from '../telemetry/helpers.js';

const GRID_TOPIC = 'home/grid/SENSOR';

/**
 * The PV service in the daemon: grid power from a real MQTT broker (aedes), the station budget
 * "pv", the status section, the mode from the API and MQTT, kept across a restart. Until the core
 * shares budgets out (issue 13, allocator) this observes station.budgets(), not the offer.
 */
describe('PV surplus service in the daemon (MQTT grid power)', () => {
  let broker: AedesBroker;
  let pub: MqttClient;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    broker = new AedesBroker(await freePort());
    await broker.start();
    pub = connect(broker.url, { clientId: 'grid-meter' });
    await new Promise<void>((r) => pub.once('connect', () => r()));
    dir = tempDir('evsed-pv-');
    file = writeSimConfig(dir, {
      authMode: 'free',
      extra: `mqtt: { url: ${broker.url}, commands: true, publishIntervalS: 0.2 }
pv:
  mode: pv
  startDelayS: 0
  stopDelayS: 1
  source: { mqtt: { topic: ${GRID_TOPIC}, jsonPath: ENERGY.Power, invert: true, staleAfterS: 2 } }
`,
    });
  });
  afterAll(async () => {
    await pub?.endAsync();
    await broker?.stop();
  });

  /** Feed-in (positive with invert: true, as a Tasmota reader that counts export positive) every 200 ms until stopped. */
  function feed(feedInW: () => number, opts: { retain?: boolean } = {}): () => void {
    const send = () => pub.publish(GRID_TOPIC, JSON.stringify({ Time: 'x', ENERGY: { Power: feedInW() } }), { retain: opts.retain ?? false });
    send();
    const t = setInterval(send, 200);
    return () => clearInterval(t);
  }
  const pvBudget = (d: Daemon) => d.station.budgets().find((b) => b.source === 'pv');
  const pvStatus = (d: Daemon) => d.station.extraStatus().pv as PvStatus;

  it('sets the pv budget from the surplus, suspends when the reading goes stale, and takes the mode from the API and MQTT across a restart', async () => {
    let d = await startDaemon(loadConfig(file), silentLogger());
    let stopFeed = () => {};
    try {
      const base = `http://127.0.0.1:${d.address.port}`;
      // No EV: nothing to start.
      await until(() => pvStatus(d)?.state === 'no-ev', 'the PV state no-ev');
      expect(pvBudget(d)?.phaseA).toEqual([0, 0, 0]);

      const sim = d.station.simulator(1)!;
      sim.plug();
      sim.ready();
      await until(() => d.station.connectorView(1)!.session, 'a session');
      stopFeed = feed(() => 8000);
      // Surplus = 8 kW feed-in + what the EV draws; 3 phases at 230 V.
      const b = await until(() => (pvStatus(d).state === 'charging' ? pvBudget(d) : undefined), 'PV charging with a budget');
      expect(b.phaseA[0]).toBeGreaterThanOrEqual(11.5);
      expect(b.phaseA[0]).toBe(b.phaseA[1]);
      const st = pvStatus(d);
      expect(st.surplusW).toBeGreaterThanOrEqual(8000);
      expect(st.source).toMatchObject({ kind: 'mqtt', topic: GRID_TOPIC, stale: false });

      // The meter behind the topic falls silent: after staleAfterS no surplus is assumed, at once.
      stopFeed();
      await until(() => pvStatus(d).state === 'no-reading', 'the stale reading to suspend', 6000);
      expect(pvBudget(d)?.phaseA).toEqual([0, 0, 0]);

      // Bad requests change nothing.
      expect((await api(base, '/api/pv', { mode: 'sunny' }, 'PUT')).status).toBe(400);
      // Mode off from the API: no PV budget at all.
      const off = await api<PvStatus>(base, '/api/pv', { mode: 'off' }, 'PUT');
      expect(off).toMatchObject({ status: 200, body: { mode: 'off', state: 'off' } });
      expect(pvBudget(d)).toBeUndefined();
      expect(existsSync(join(dir, 'data', 'pv-mode.json'))).toBe(true);
    } finally {
      stopFeed();
      await d.stop();
    }

    // A retained value left on the broker is not a live one (it may be hours old): the new daemon's subscription gets it flagged retained.
    await pub.publishAsync(GRID_TOPIC, JSON.stringify({ ENERGY: { Power: 9000 } }), { retain: true });
    // The mode chosen survives the restart (the config still says pv).
    d = await startDaemon(loadConfig(file), silentLogger());
    const watcher = await connectAsync(broker.url, { clientId: 'ha' });
    try {
      const base = `http://127.0.0.1:${d.address.port}`;
      expect((await api<PvStatus>(base, '/api/pv')).body.mode).toBe('off');
      await until(() => (pvStatus(d).source.messages as { retainedIgnored: number }).retainedIgnored > 0, 'the retained grid value to arrive');
      expect(pvStatus(d).source).toMatchObject({ stale: true, gridW: null });
      await pub.publishAsync(GRID_TOPIC, '', { retain: true });
      const seen = new Map<string, string>();
      watcher.on('message', (t, p) => seen.set(t, p.toString()));
      await watcher.subscribeAsync(['evsed/CP-TEST/pv/#', 'homeassistant/select/+/pv_mode/config']);
      await until(() => seen.get('evsed/CP-TEST/pv/mode') === 'off', 'the mode on MQTT');
      const select = JSON.parse(await until(() => seen.get('homeassistant/select/evsed_CP-TEST/pv_mode/config'), 'the HA select')) as { command_topic: string; options: string[] };
      expect(select.options).toEqual(['off', 'pv', 'minpv']);
      // Home Assistant's select sends the option to the command topic.
      watcher.publish(select.command_topic, 'minpv');
      await until(() => d.station.extraStatus().pv && pvStatus(d).mode === 'minpv', 'the MQTT mode command');
      await until(() => seen.get('evsed/CP-TEST/pv/mode') === 'minpv', 'the new mode on MQTT');
    } finally {
      await watcher.endAsync();
      await d.stop();
    }
  });
});
