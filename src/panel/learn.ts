import type { StationPort } from '../evse/port.js';
import { sameIdTag } from '../domain/tags.js';
import type { Config } from '../config/schema.js';
import type { TagEntry, OwnerTag } from '../store/billing/tag-names.js';
import type { Logger } from '../log.js';
import type { TagRead } from './readers.js';

/** How long learn mode waits for the new card. */
export const LEARN_TIMEOUT_MS = 30_000;

/** What learn mode needs of the readers (ReaderService). */
export interface CardInterceptor {
  interceptNext(handler: (read: TagRead) => void, filter?: { readerId?: string; connectorId?: number }): () => void;
  list(): { id: string; connectorId: number }[];
}

/** What learn mode needs of the tag store (TagNameRepository). */
export interface LearnTagStore {
  get(idTag: string): TagEntry | undefined;
  put(tag: OwnerTag): void;
  set(idTag: string, name: string | null): void;
}

export type LearnResult =
  | {
      result: 'learned';
      idTag: string;
      name: string;
      readerId: string;
      /** list: added to (or renamed in) the owner's list; name: only named (auth mode ocpp or free, or a config tag). */
      addedTo: 'list' | 'name';
      /** Why it was only named, when it was. */
      note?: string;
    }
  | { result: 'timeout'; timeoutMs: number }
  | { result: 'busy'; name: string }
  | { result: 'no-reader' };

export class LearnError extends Error {}

export interface TagLearnerOptions {
  station: Pick<StationPort, 'clock'>;
  readers: CardInterceptor;
  tags: LearnTagStore;
  auth: Pick<Config['auth'], 'mode' | 'tags'>;
  log: Logger;
}

/**
 * Learn mode (issue 16): "present a new card within 30 s to add it with this name". The next card
 * at a reader is taken instead of presented (it starts and stops nothing), and added to the owner's
 * list under the name, enabled, without expiry. In auth mode ocpp the local list belongs to the
 * CSMS (SendLocalList): the card is only named. One learn at a time: a second one while one waits
 * is answered `busy`.
 */
export class TagLearner {
  private waiting: { name: string; cancel(): void } | null = null;

  constructor(private readonly o: TagLearnerOptions) {}

  /** The name being learned, or null. */
  pending(): string | null {
    return this.waiting?.name ?? null;
  }

  learn(nameIn: string, opts: { timeoutMs?: number; connectorId?: number; readerId?: string } = {}): Promise<LearnResult> {
    const name = nameIn.trim();
    if (!name) throw new LearnError('name: give the name the new card is to carry');
    if (this.waiting) return Promise.resolve({ result: 'busy', name: this.waiting.name });
    const readers = this.o.readers.list().filter((r) => (opts.readerId === undefined || r.id === opts.readerId) && (opts.connectorId === undefined || r.connectorId === opts.connectorId));
    if (!readers.length) return Promise.resolve({ result: 'no-reader' });
    const timeoutMs = opts.timeoutMs ?? LEARN_TIMEOUT_MS;
    return new Promise<LearnResult>((resolve) => {
      const done = (r: LearnResult) => {
        timer.cancel();
        uncatch();
        this.waiting = null;
        resolve(r);
      };
      const uncatch = this.o.readers.interceptNext((read) => {
        try {
          done(this.add(name, read));
        } catch (err) {
          this.o.log.error({ err: (err as Error).message, idTag: read.idTag }, 'learn mode: the card could not be stored');
          done({ result: 'timeout', timeoutMs });
        }
      }, { readerId: opts.readerId, connectorId: opts.connectorId });
      const timer = this.o.station.clock.setTimeout(() => {
        this.o.log.info({ name, timeoutMs }, 'learn mode: no card presented in time');
        done({ result: 'timeout', timeoutMs });
      }, timeoutMs);
      this.waiting = { name, cancel: () => done({ result: 'timeout', timeoutMs }) };
      this.o.log.info({ name, timeoutMs, readers: readers.map((r) => r.id) }, 'learn mode: waiting for the new card');
    });
  }

  /** Ends a waiting learn (the daemon stops). */
  cancel(): void {
    this.waiting?.cancel();
  }

  private add(name: string, read: TagRead): LearnResult {
    const base = { result: 'learned' as const, idTag: read.idTag, name, readerId: read.readerId };
    const configTag = this.o.auth.tags.find((t) => sameIdTag(t.idTag, read.idTag));
    let r: LearnResult;
    if (this.o.auth.mode === 'ocpp') {
      this.o.tags.set(read.idTag, name);
      r = { ...base, addedTo: 'name', note: 'auth mode ocpp: the local list belongs to the CSMS (SendLocalList); the card was only named' };
    } else if (configTag) {
      this.o.tags.set(read.idTag, name);
      r = { ...base, addedTo: 'name', note: `the card is in the config (auth.tags, ${configTag.enabled ? 'enabled' : 'disabled'}), which decides for it: it was only named` };
    } else {
      const had = this.o.tags.get(read.idTag);
      this.o.tags.put({ idTag: read.idTag, name, enabled: true, expiryWallMs: null, parentIdTag: had?.inList ? had.parentIdTag : null });
      r = { ...base, addedTo: 'list', ...(this.o.auth.mode === 'free' ? { note: 'auth mode free: every card charges; the list is used once auth.mode is local' } : {}) };
    }
    this.o.log.info({ idTag: read.idTag, name, addedTo: r.addedTo, reader: read.readerId }, 'learn mode: card learned');
    return r;
  }
}
