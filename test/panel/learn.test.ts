import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { FakeClock } from '../../src/hal/clock.js';
import { silentLogger } from '../../src/log.js';
import { openDb } from '../../src/store/db.js';
import { migrationSets } from '../../src/daemon.js';
import { TagNameRepository } from '../../src/store/billing/tag-names.js';
import { LEARN_TIMEOUT_MS, TagLearner, type CardInterceptor } from '../../src/panel/learn.js';
import type { TagRead } from '../../src/panel/readers.js';
import type { StationPort } from '../../src/evse/port.js';
import { tempDir } from '../support/station.js';

/** Readers under the test's control: a card goes to the waiting learn, if any. */
class Readers implements CardInterceptor {
  waiting: { handler: (r: TagRead) => void; filter: { connectorId?: number } }[] = [];
  list() {
    return [{ id: 'door', connectorId: 1 }, { id: 'gate', connectorId: 2 }];
  }
  interceptNext(handler: (r: TagRead) => void, filter: { connectorId?: number } = {}) {
    const e = { handler, filter };
    this.waiting.push(e);
    return () => (this.waiting = this.waiting.filter((x) => x !== e));
  }
  card(readerId: string, connectorId: number, idTag: string): boolean {
    const w = this.waiting.find((x) => x.filter.connectorId === undefined || x.filter.connectorId === connectorId);
    if (!w) return false;
    this.waiting = this.waiting.filter((x) => x !== w);
    w.handler({ readerId, connectorId, idTag });
    return true;
  }
}

async function rig(mode: 'local' | 'ocpp' | 'free') {
  const clock = new FakeClock();
  const readers = new Readers();
  const tags = new TagNameRepository(openDb(join(tempDir(), 'evsed.db'), await migrationSets()));
  const learner = new TagLearner({ station: { clock } as unknown as StationPort, readers, tags, auth: { mode, tags: [{ idTag: 'CFG', enabled: false }] }, log: silentLogger() });
  return { clock, readers, tags, learner };
}

describe('learn mode (fake clock)', () => {
  it('auth mode local: the next card joins the owner list, enabled, under the name', async () => {
    const { readers, tags, learner } = await rig('local');
    const p = learner.learn('  Anna  ');
    expect(learner.pending()).toBe('Anna');
    expect(readers.card('door', 1, 'A1')).toBe(true);
    expect(await p).toEqual({ result: 'learned', idTag: 'A1', name: 'Anna', readerId: 'door', addedTo: 'list' });
    expect(tags.get('a1')).toMatchObject({ name: 'Anna', inList: true, enabled: true, expiryWallMs: null });
    expect(learner.pending()).toBeNull();
  });

  it('auth mode ocpp: the card is only named (the CSMS owns the local list); a config tag is only named too', async () => {
    const { readers, tags, learner } = await rig('ocpp');
    const p = learner.learn('Fleet car');
    readers.card('door', 1, 'F1');
    expect(await p).toMatchObject({ result: 'learned', idTag: 'F1', addedTo: 'name', note: expect.stringMatching(/auth mode ocpp: the local list belongs to the CSMS/) });
    expect(tags.get('F1')).toMatchObject({ name: 'Fleet car', inList: false });
    const local = await rig('local');
    const q = local.learner.learn('Config card');
    local.readers.card('door', 1, 'cfg');
    expect(await q).toMatchObject({ addedTo: 'name', note: expect.stringMatching(/in the config \(auth.tags, disabled\)/) });
    expect(local.tags.get('CFG')).toMatchObject({ name: 'Config card', inList: false });
  });

  it('times out after 30 s; a second learn while one waits is busy; only the connector asked for', async () => {
    const { clock, readers, learner } = await rig('local');
    const p = learner.learn('Late');
    expect(await learner.learn('Other')).toEqual({ result: 'busy', name: 'Late' });
    clock.advance(LEARN_TIMEOUT_MS - 1);
    expect(learner.pending()).toBe('Late');
    clock.advance(1);
    expect(await p).toEqual({ result: 'timeout', timeoutMs: LEARN_TIMEOUT_MS });
    // the timed-out learn no longer takes cards
    expect(readers.card('door', 1, 'X')).toBe(false);
    const q = learner.learn('Gate card', { connectorId: 2 });
    expect(readers.card('door', 1, 'NOT-THIS')).toBe(false);
    expect(readers.card('gate', 2, 'G2')).toBe(true);
    expect(await q).toMatchObject({ result: 'learned', idTag: 'G2', readerId: 'gate' });
    expect(await learner.learn('Nowhere', { connectorId: 3 })).toEqual({ result: 'no-reader' });
    expect(() => learner.learn(' ')).toThrow(/name/);
  });
});
