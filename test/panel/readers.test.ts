import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { FakeClock } from '../../src/hal/clock.js';
import type { StationPort, TagOutcome } from '../../src/evse/port.js';
import type { ResolvedReader } from '../../src/config/readers.js';
import type { CardReaderEvents } from '../../src/hal/readers/types.js';
import { silentLogger } from '../../src/log.js';
import { SimCardReader } from '../../src/hal/readers/sim.js';
import { ReaderService, type ReaderStatus, type TagRead } from '../../src/panel/readers.js';

const SAME_CARD_GUARD_MS = 2000;

/** A reader driver under the test's control: whether its device is there, a card, an unplug. */
class ScriptedReader extends EventEmitter<CardReaderEvents> {
  present = false;
  opens = 0;
  async open(): Promise<void> {
    this.opens++;
    if (!this.present) throw new Error('cannot open /dev/input/by-id/usb-reader-event-kbd: no such device (is the reader plugged in?)');
  }
  async close(): Promise<void> {}
  card(text: string): void {
    this.emit('card', { text });
  }
  unplug(): void {
    this.present = false;
    this.emit('gone', new Error('the device went away (reader unplugged?)'));
  }
}

function rig(readers: ResolvedReader[]) {
  const clock = new FakeClock();
  const presented: { connectorId: number; idTag: string }[] = [];
  const sections = new Map<string, () => unknown>();
  const station = {
    clock,
    registerStatus: (name: string, p: () => unknown) => sections.set(name, p),
    presentTag: async (connectorId: number, idTag: string): Promise<TagOutcome> => {
      presented.push({ connectorId, idTag });
      return { status: 'Accepted', source: 'local', action: 'started' };
    },
  } as unknown as StationPort;
  const drivers = new Map<string, ScriptedReader>();
  const service = new ReaderService({
    station,
    readers,
    log: silentLogger(),
    backoff: { baseMs: 1000, maxMs: 8000, jitter: 0 },
    create: (cfg) => {
      if (cfg.driver === 'sim') return new SimCardReader();
      const r = new ScriptedReader();
      drivers.set(cfg.id, r);
      return r;
    },
  });
  const statuses: ReaderStatus[] = [];
  service.on('status', (s) => statuses.push(s));
  return { clock, presented, sections, service, drivers, statuses };
}

const flush = () => new Promise((r) => setImmediate(r));
const KBD: ResolvedReader = { id: 'door', driver: 'keyboard', connector: 1, device: '/dev/input/by-id/usb-reader-event-kbd', layout: 'us', grab: true, format: 'hex', reverse: false, sameCardGuardMs: SAME_CARD_GUARD_MS };

describe('reader service', () => {
  it('a reader missing at start is a reader fault, retried with back-off until it is plugged in; then its cards go to the station', async () => {
    const r = rig([KBD]);
    await r.service.start();
    const drv = r.drivers.get('door')!;
    const status = () => (r.sections.get('readers')!() as ReaderStatus[])[0]!;
    expect(status()).toMatchObject({ state: 'fault', fault: expect.stringMatching(/no such device/), connectorId: 1 });
    r.clock.advance(999);
    await flush();
    expect(drv.opens).toBe(1);
    r.clock.advance(1);
    await flush();
    expect(drv.opens).toBe(2); // after 1 s
    r.clock.advance(2000);
    await flush();
    expect(drv.opens).toBe(3); // after 2 s more
    drv.present = true;
    r.clock.advance(4000);
    await flush();
    expect(drv.opens).toBe(4);
    expect(status()).toMatchObject({ state: 'ok', fault: null });
    drv.card('04a2b3c4');
    await flush();
    expect(r.presented).toEqual([{ connectorId: 1, idTag: '04A2B3C4' }]);

    // unplugged: fault again, back after the first back-off step (reset by the good open)
    drv.unplug();
    expect(status()).toMatchObject({ state: 'fault', fault: expect.stringMatching(/went away/) });
    drv.present = true;
    r.clock.advance(1000);
    await flush();
    expect(status().state).toBe('ok');
    expect(r.statuses.map((s) => s.state)).toEqual(['fault', 'ok', 'fault', 'ok']);
    await r.service.stop();
    expect(status().state).toBe('closed');
  });

  it('the same card again within the guard time is one presentation; after it, a second one (which stops the session)', async () => {
    const r = rig([KBD]);
    await r.service.start();
    const drv = r.drivers.get('door')!;
    drv.present = true;
    r.clock.advance(1000);
    await flush();
    drv.card('0012345678');
    r.clock.advance(SAME_CARD_GUARD_MS - 1);
    drv.card('0012345678');
    await flush();
    expect(r.presented).toHaveLength(1);
    r.clock.advance(1);
    drv.card('0012345678');
    await flush();
    expect(r.presented).toHaveLength(2);
  });

  it('emits every card as "tag read"; interceptNext takes the next card instead of the station, once', async () => {
    const r = rig([{ ...KBD }, { id: 'gate', driver: 'sim', connector: 2, format: 'hex', reverse: false, sameCardGuardMs: SAME_CARD_GUARD_MS }]);
    await r.service.start();
    const reads: TagRead[] = [];
    r.service.on('tag read', (x) => reads.push(x));
    const taken: TagRead[] = [];
    const cancel = r.service.interceptNext((x) => taken.push(x), { readerId: 'gate' });
    r.service.simulated('gate')!.present('NEW-CARD');
    r.service.simulated('gate')!.present('OTHER');
    await flush();
    expect(taken).toEqual([{ readerId: 'gate', connectorId: 2, idTag: 'NEW-CARD' }]);
    expect(r.presented).toEqual([{ connectorId: 2, idTag: 'OTHER' }]);
    expect(reads.map((x) => x.idTag)).toEqual(['NEW-CARD', 'OTHER']);
    // cancelled (learn mode timed out): the card goes to the station
    const cancelled: TagRead[] = [];
    const c2 = r.service.interceptNext((x) => cancelled.push(x));
    c2();
    cancel();
    r.clock.advance(SAME_CARD_GUARD_MS);
    r.service.simulated('gate')!.present('NEW-CARD');
    await flush();
    expect(cancelled).toEqual([]);
    expect(r.presented.at(-1)).toEqual({ connectorId: 2, idTag: 'NEW-CARD' });
    expect(r.service.simulated('door')).toBeUndefined();
  });

  it('a card whose id cannot be an OCPP idTag is not presented and is shown as the reader\'s last error', async () => {
    const r = rig([{ id: 'gate', driver: 'sim', connector: 1, format: 'hex', reverse: false, sameCardGuardMs: SAME_CARD_GUARD_MS }]);
    await r.service.start();
    r.service.simulated('gate')!.present('X'.repeat(21));
    await flush();
    expect(r.presented).toEqual([]);
    expect(r.service.status()[0]!.lastError).toMatch(/more than OCPP's 20/);
  });
});
