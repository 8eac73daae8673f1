import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { Daemon } from '../../src/daemon.js';
import { AedesBroker, freePort, STATION_ID, startTestDaemon, Subscriber, tempDir, until } from './helpers.js';

/** Learn mode from MQTT (aedes in-process): a command topic starts it, tags/learn/result answers. */
describe('learn mode over MQTT', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function rig(commands: boolean) {
    const tmp = tempDir();
    cleanups.push(() => tmp.cleanup());
    const broker = new AedesBroker(await freePort());
    await broker.start();
    cleanups.push(() => broker.stop());
    const d: Daemon = await startTestDaemon(tmp.dir, `mqtt: { url: "${broker.url}", commands: ${commands} }`, silentLogger(), 'readers:\n  - { id: door, driver: sim }\n');
    cleanups.push(() => d.stop());
    const sub = await Subscriber.open(broker.url, ['evsed/#']);
    cleanups.push(() => sub.close());
    const base = `evsed/${STATION_ID}`;
    await sub.waitFor(`${base}/connector/1/state`);
    return { d, sub, base };
  }

  it('the name on tags/learn waits for the next card, which is learned (not presented); busy while one waits; a bad payload answered invalid', async () => {
    const { d, sub, base } = await rig(true);
    const result = `${base}/tags/learn/result`;
    await sub.publish(`${base}/tags/learn`, 'Carport, "left"');
    await sub.waitFor(result, (p) => JSON.parse(p).result === 'waiting');
    expect(d.learner.pending()).toBe('Carport, "left"');
    let mark = sub.mark;
    await sub.publish(`${base}/tags/learn`, JSON.stringify({ name: 'Second' }));
    expect(JSON.parse(await sub.waitFor(result, (p) => JSON.parse(p).result === 'busy', 10_000, mark))).toEqual({ result: 'busy', name: 'Carport, "left"' });

    mark = sub.mark;
    d.readers.simulated('door')!.present('C0FFEE');
    const learned = JSON.parse(await sub.waitFor(result, (p) => JSON.parse(p).result === 'learned', 10_000, mark));
    expect(learned).toEqual({ result: 'learned', idTag: 'C0FFEE', name: 'Carport, "left"', readerId: 'door', addedTo: 'list' });
    expect(sub.since(mark, result).every((r) => !r.retain)).toBe(true);
    expect(d.station.connectorView(1)!.session).toBeNull();
    expect(d.station.connectorView(1)!.status).toBe('Available');

    // A name too long: answered invalid.
    mark = sub.mark;
    await sub.publish(`${base}/tags/learn`, 'x'.repeat(81));
    expect(JSON.parse(await sub.waitFor(result, (p) => JSON.parse(p).result === 'invalid', 10_000, mark)).error).toMatch(/1 to 80 characters/);
    expect(d.learner.pending()).toBeNull();
  });

  it('a retained learn left on the broker is not run when the daemon connects', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.cleanup());
    const broker = new AedesBroker(await freePort());
    await broker.start();
    cleanups.push(() => broker.stop());
    const pub = await Subscriber.open(broker.url, ['unrelated/#']);
    cleanups.push(() => pub.close());
    const base = `evsed/${STATION_ID}`;
    await pub.publish(`${base}/tags/learn`, 'Stale', true);
    const d: Daemon = await startTestDaemon(tmp.dir, `mqtt: { url: "${broker.url}", commands: true }`, silentLogger(), 'readers:\n  - { id: door, driver: sim }\n');
    cleanups.push(() => d.stop());
    const sub = await Subscriber.open(broker.url, ['evsed/#']);
    cleanups.push(() => sub.close());
    await sub.waitFor(`${base}/connector/1/state`);
    // The daemon is subscribed once a live learn is answered; the stale one never was.
    await sub.publish(`${base}/tags/learn`, 'Live');
    await sub.waitFor(`${base}/tags/learn/result`, (p) => JSON.parse(p).result === 'waiting');
    expect(sub.since(0, `${base}/tags/learn/result`).map((r) => JSON.parse(r.payload).name)).toEqual(['Live']);
    expect(d.learner.pending()).toBe('Live');
  });

  it('without mqtt.commands the topic does nothing', async () => {
    const { d, sub, base } = await rig(false);
    await sub.publish(`${base}/tags/learn`, 'Nobody');
    await new Promise((r) => setTimeout(r, 300));
    expect(d.learner.pending()).toBeNull();
    await until('no answer', () => sub.value(`${base}/tags/learn/result`) === undefined);
  });
});
