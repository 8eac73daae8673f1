import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon.js';
import type { SimGridMeter } from '../../src/sim/grid-meter.js';
import { silentLogger } from '../../src/log.js';
import { AedesBroker, freePort, STATION_ID, startTestDaemon, Subscriber, tempDir } from '../telemetry/helpers.js';

const SITE = `evsed/${STATION_ID}/site`;
const NODE = `evsed_${STATION_ID}`;
const cfgTopic = (component: string, object: string) => `homeassistant/${component}/${NODE}/${object}/config`;

/** Load management on MQTT (aedes in-process): the site's topics and Home Assistant entities. */
describe('load management over MQTT', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function setup(site: boolean): Promise<{ d: Daemon; sub: Subscriber }> {
    const tmp = tempDir();
    const broker = new AedesBroker(await freePort());
    await broker.start();
    cleanups.push(async () => (await broker.stop(), tmp.cleanup()));
    const siteYaml = site ? 'site: { fuseA: 25, fallbackA: [6, 6, 6], gridMeter: { model: sim, houseLoadA: [3, 2, 2], pollIntervalMs: 100, staleAfterS: 1 } }' : '';
    // Subscribed before the daemon connects: an entity's removal (an empty retained config) is not kept by the broker.
    const sub = await Subscriber.open(broker.url, ['evsed/#', 'homeassistant/#']);
    cleanups.push(() => sub.close());
    const d = await startTestDaemon(tmp.dir, `mqtt: { url: "${broker.url}", publishIntervalS: 0.2, homeAssistant: true }`, silentLogger(), siteYaml);
    cleanups.push(() => d.stop());
    return { d, sub };
  }

  it('publishes grid current, house load and budget per phase, the fallback state, and announces them to Home Assistant', async () => {
    const { d, sub } = await setup(true);
    await sub.waitFor(`${SITE}/budget/l1`, (p) => p === '21');
    await sub.waitFor(`${SITE}/grid/l1`, (p) => p === '3');
    await sub.waitFor(`${SITE}/house/l2`, (p) => p === '2');
    await sub.waitFor(`${SITE}/budget/l3`, (p) => p === '22');
    await sub.waitFor(`${SITE}/fallback`, (p) => p === 'OFF');
    await sub.waitFor(`${SITE}/grid_meter/availability`, (p) => p === 'online');
    const grid = JSON.parse(await sub.waitFor(cfgTopic('sensor', 'site_grid_current_l1')));
    expect(grid).toMatchObject({ state_topic: `${SITE}/grid/l1`, unit_of_measurement: 'A', device_class: 'current', unique_id: `${NODE}_site_grid_current_l1` });
    expect(grid.availability.map((a: { topic: string }) => a.topic)).toContain(`${SITE}/grid_meter/availability`);
    expect(JSON.parse(await sub.waitFor(cfgTopic('binary_sensor', 'site_fallback')))).toMatchObject({ state_topic: `${SITE}/fallback`, payload_on: 'ON' });
    await sub.waitFor(cfgTopic('sensor', 'site_budget_l2'));

    (d.gridMeter as SimGridMeter).failing = true;
    await sub.waitFor(`${SITE}/fallback`, (p) => p === 'ON', 10_000);
    await sub.waitFor(`${SITE}/budget/l1`, (p) => p === '6');
    await sub.waitFor(`${SITE}/grid_meter/availability`, (p) => p === 'offline');
    expect(sub.value(`${SITE}/fallback/reason`)).toMatch(/stale|offline/);
    (d.gridMeter as SimGridMeter).failing = false;
    await sub.waitFor(`${SITE}/fallback`, (p) => p === 'OFF', 10_000);
  }, 30_000);

  it('without a site section: no site topics, and the site entities are removed (empty retained configs)', async () => {
    const { sub } = await setup(false);
    expect(await sub.waitFor(cfgTopic('sensor', 'site_grid_current_l1'), (p) => p === '')).toBe('');
    await sub.waitFor(`evsed/${STATION_ID}/connector/1/state`);
    expect([...sub.latest.keys()].filter((t) => t.startsWith(SITE))).toEqual([]);
  }, 30_000);
});
