import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import { Csms } from '../ocpp/csms.js';
import { api, tempDir, until, writeSimConfig, type SimConfigOptions } from '../support/station.js';

/**
 * Cards at a simulated reader (driver sim) through the whole daemon: the API holds the card to the
 * reader, the reader service hands it to the station, the station decides. Under each auth mode a
 * card starts a session, the same card stops it, another card cannot, and (OCPP) a card of the
 * same parentIdTag can.
 */

/** The station starts the session at once or once the connector has done its part (lock, meter): both are a start. */
const STARTING = /^(started|pending)$/;

const READER = 'readers:\n  - { id: door, driver: sim }\n';

let daemon: Daemon | undefined;
let csms: Csms | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await csms?.close();
  csms = undefined;
});

async function start(o: SimConfigOptions): Promise<{ d: Daemon; base: string; ev: SimHardware['ev'] }> {
  const d = await startDaemon(loadConfig(writeSimConfig(tempDir(), { ...o, extra: `${READER}${o.extra ?? ''}` })), silentLogger());
  daemon = d;
  return { d, base: `http://127.0.0.1:${d.address.port}`, ev: (d.hardware(1) as SimHardware).ev };
}

const card = (base: string, idTag: string) => api(base, '/api/sim/readers/door/card', { idTag });
const connector = async (base: string) => (await api(base, '/api/status')).body.connectors[0];

/** A running session (charging) that `idTag` started. */
async function charging(base: string, idTag: string): Promise<void> {
  await until(async () => {
    const c = await connector(base);
    return c.status === 'Charging' && c.session?.idTag === idTag;
  }, `charging under ${idTag}`);
}

async function ended(base: string): Promise<void> {
  await until(async () => (await connector(base)).session === null, 'the session ended');
}

/** The same-card guard (2 s) runs on the station's monotonic clock: step it past the guard instead of waiting. */
const offsets = new WeakMap<object, { ms: number }>();
function later(d: Daemon): void {
  const clock = d.station.clock as { monoMs(): number };
  let o = offsets.get(clock);
  if (!o) {
    const own = { ms: 0 };
    const real = clock.monoMs.bind(clock);
    clock.monoMs = () => real() + own.ms;
    offsets.set(clock, own);
    o = own;
  }
  o.ms += 5000;
}

/** The EV plugged in, as the station sees it (simulated inputs arrive on a later turn). */
async function plug(base: string, ev: SimHardware['ev']): Promise<void> {
  ev.plug();
  await until(async () => (await connector(base)).pilot === 'B', 'the EV plugged in');
}

describe('cards at a simulated reader, end to end', () => {
  it('auth mode free: a card starts a session under its idTag, the same card stops it, another card cannot', async () => {
    const { d, base, ev } = await start({ authMode: 'free' });
    // held to the reader before plugging in: the card is the authorisation
    const first = await card(base, 'CARD-A');
    expect(first.status).toBe(200);
    expect(first.body.outcome).toMatchObject({ status: 'Accepted', action: 'pending' });
    await plug(base, ev);
    ev.ready();
    await charging(base, 'CARD-A');

    later(d);
    const other = await card(base, 'CARD-B');
    expect(other.body.outcome).toMatchObject({ action: 'rejected', status: 'ConcurrentTx' });
    expect((await connector(base)).session.idTag).toBe('CARD-A');

    later(d);
    expect((await card(base, 'card-a')).body.outcome).toMatchObject({ action: 'stopped' });
    await ended(base);
    const status = (await api(base, '/api/status')).body;
    expect(status.readers).toEqual([expect.objectContaining({ id: 'door', driver: 'sim', connectorId: 1, state: 'ok', fault: null, cards: 3 })]);
    expect(status.readers[0].lastCard).toMatchObject({ idTag: 'card-a', action: 'stopped' });
  });

  it('auth mode local: a listed card starts, an unlisted one is refused, another listed card cannot stop it, the same card stops it', async () => {
    const { d, base, ev } = await start({ authMode: 'local', tags: ['04A2B3C4', '0012345678'] });
    await plug(base, ev);
    expect((await card(base, 'DEADBEEF')).body.outcome).toMatchObject({ action: 'rejected', status: 'Invalid' });
    expect((await card(base, '04:a2:b3:c4')).body.outcome).toMatchObject({ action: expect.stringMatching(STARTING), status: 'Accepted', source: 'local' });
    ev.ready();
    await charging(base, '04A2B3C4');
    later(d);
    expect((await card(base, '0012345678')).body.outcome).toMatchObject({ action: 'rejected', status: 'ConcurrentTx' });
    later(d);
    expect((await card(base, '04A2B3C4')).body.outcome).toMatchObject({ action: 'stopped' });
    await ended(base);
    const [rec] = d.sessions.list({});
    expect(rec).toMatchObject({ idTag: '04A2B3C4', stopReason: 'Local' });
  });

  it('the same card twice at once (a reader that repeats while the card is held) is one presentation', async () => {
    const { base, ev } = await start({ authMode: 'local', tags: ['04A2B3C4'] });
    await plug(base, ev);
    expect((await card(base, '04A2B3C4')).body.outcome).toMatchObject({ action: expect.stringMatching(STARTING) });
    expect((await card(base, '04A2B3C4')).body.outcome).toBeNull();
    ev.ready();
    await charging(base, '04A2B3C4');
  });

  it('auth mode ocpp: the CSMS decides; a card of another parent cannot stop the session, one of the same parentIdTag can, the same card can', async () => {
    csms = new Csms();
    const parents: Record<string, string> = { 'CARD-A': 'FLEET', 'CARD-B': 'FLEET', 'CARD-C': 'OTHER' };
    csms.responders.set('Authorize', (p: { idTag: string }) => (parents[p.idTag] ? { idTagInfo: { status: 'Accepted', parentIdTag: parents[p.idTag] } } : { idTagInfo: { status: 'Invalid' } }));
    csms.responders.set('StartTransaction', (p: { idTag: string }) => ({ transactionId: 42, idTagInfo: { status: 'Accepted', parentIdTag: parents[p.idTag] } }));
    const port = await csms.listen();
    const { d, base, ev } = await start({ authMode: 'ocpp', tags: [], extra: `ocpp: { version: "1.6", url: "ws://127.0.0.1:${port}/ocpp" }\n` });
    await until(() => csms!.of('BootNotification').length > 0, 'BootNotification');
    await plug(base, ev);
    expect((await card(base, 'STRANGER')).body.outcome).toMatchObject({ action: 'rejected', status: 'Invalid' });
    expect((await card(base, 'CARD-A')).body.outcome).toMatchObject({ action: expect.stringMatching(STARTING), status: 'Accepted' });
    ev.ready();
    await charging(base, 'CARD-A');
    await until(() => csms!.of('StartTransaction').length === 1, 'StartTransaction');

    later(d);
    expect((await card(base, 'CARD-C')).body.outcome).toMatchObject({ action: 'rejected', status: 'ConcurrentTx' });
    later(d);
    expect((await card(base, 'CARD-B')).body.outcome).toMatchObject({ action: 'stopped' });
    await ended(base);
    await until(() => csms!.of('StopTransaction').length === 1, 'StopTransaction');
    expect(csms.of('StopTransaction')[0]).toMatchObject({ idTag: 'CARD-B', reason: 'Local', transactionId: 42 });

    // and the card that started a session stops it itself
    ev.unplug();
    await until(async () => (await connector(base)).status === 'Available', 'available again');
    await plug(base, ev);
    later(d);
    expect((await card(base, 'CARD-A')).body.outcome).toMatchObject({ action: expect.stringMatching(STARTING) });
    ev.ready();
    await charging(base, 'CARD-A');
    later(d);
    expect((await card(base, 'CARD-A')).body.outcome).toMatchObject({ action: 'stopped' });
    await ended(base);
  });

  it('the API says plainly what it cannot do', async () => {
    const { base } = await start({ authMode: 'free' });
    expect((await api(base, '/api/sim/readers/nope/card', { idTag: 'X' })).body.error).toBe('no reader nope (readers: door)');
    expect((await api(base, '/api/sim/readers/door/card', { idTag: '' })).status).toBe(400);
    expect((await api(base, '/api/readers')).body).toEqual([expect.objectContaining({ id: 'door', state: 'ok' })]);
  });
});
