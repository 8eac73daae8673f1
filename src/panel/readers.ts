import { EventEmitter } from 'node:events';
import type { ResolvedReader } from '../config/readers.js';
import type { StationPort, TagOutcome } from '../evse/port.js';
import { createCardReader } from '../hal/readers/factory.js';
import { IdTagError, normaliseCard } from '../hal/readers/normalise.js';
import type { CardRead, CardReader, SimulatedCardReader } from '../hal/readers/types.js';
import type { Logger } from '../log.js';
import { Backoff, type BackoffOptions } from '../util/backoff.js';

/** Re-opening a reader that went away: 1 s, 2 s, 4 s ... up to 30 s. */
export const READER_REOPEN_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 };
/**
 * The same card from the same reader within this time is one presentation: some keyboard readers
 * type the id again every second while the card is held, which would stop the session it started.
 */
export const SAME_CARD_GUARD_MS = 2000;

/** A card read at a reader, as its idTag. */
export interface TagRead {
  readerId: string;
  connectorId: number;
  idTag: string;
}

export interface ReaderStatus {
  id: string;
  driver: ResolvedReader['driver'];
  connectorId: number;
  device: string | null;
  /** ok: open and reading; fault: cannot be opened or went away (re-opened with back-off); closed: stopped. */
  state: 'opening' | 'ok' | 'fault' | 'closed';
  /** Why it is in fault, else null. */
  fault: string | null;
  /** The last problem that did not take the reader away (a broken frame, a stray key). */
  lastError: string | null;
  cards: number;
  lastCard: { idTag: string; action: TagOutcome['action'] | 'intercepted' | 'failed'; status: string | null; monoMs: number } | null;
}

export interface ReaderServiceEvents {
  /** A card was read (before the station acts on it): for the status light, buzzer and learn mode. */
  'tag read': [read: TagRead];
  /** What the station did with it (not emitted for an intercepted card). */
  'tag outcome': [read: TagRead, outcome: TagOutcome];
  /** A reader's state or fault changed. */
  status: [status: ReaderStatus];
}

export interface ReaderServiceOptions {
  station: StationPort;
  readers: ResolvedReader[];
  log: Logger;
  /** The driver for a reader (tests pass their own); default: the configured one. */
  create?: (cfg: ResolvedReader) => CardReader;
  backoff?: BackoffOptions;
}

interface Slot {
  cfg: ResolvedReader;
  reader: CardReader;
  status: ReaderStatus;
  backoff: Backoff;
  retry?: { cancel(): void };
  last?: { idTag: string; monoMs: number };
  /** Cards of one reader are handled one after the other. */
  chain: Promise<void>;
  /** What the last card did: null when it was ignored (same card again) or intercepted. */
  latest: Promise<TagOutcome | null>;
}

interface Interceptor {
  match: (r: TagRead) => boolean;
  handler: (r: TagRead) => void;
}

/**
 * The readers at the station: opens them, passes each card to the station (presentTag on the
 * connector the reader serves) and logs what it did. A reader that cannot be opened or goes away
 * is a fault of the reader, not of the connector: charging goes on, the reader is re-opened with
 * back-off, and its state shows in GET /api/status (section `readers`), MQTT and the dashboard.
 * Whether a card starts, stops or is refused is the station's decision (Authorization.presentTag).
 */
export class ReaderService extends EventEmitter<ReaderServiceEvents> {
  private readonly slots: Slot[];
  private readonly interceptors: Interceptor[] = [];
  private stopped = false;

  constructor(private readonly o: ReaderServiceOptions) {
    super();
    const create = o.create ?? createCardReader;
    this.slots = o.readers.map((cfg) => ({
      cfg,
      reader: create(cfg),
      backoff: new Backoff(o.backoff ?? READER_REOPEN_BACKOFF),
      chain: Promise.resolve(),
      latest: Promise.resolve(null),
      status: { id: cfg.id, driver: cfg.driver, connectorId: cfg.connector, device: 'device' in cfg ? cfg.device : null, state: 'opening', fault: null, lastError: null, cards: 0, lastCard: null },
    }));
    o.station.registerStatus('readers', () => this.status());
  }

  /** Opens every reader; one that cannot be opened is in fault and retried, never an error here. */
  async start(): Promise<void> {
    for (const s of this.slots) {
      s.reader.on('card', (card: CardRead) => this.onCard(s, card));
      s.reader.on('error', (err: Error) => this.onError(s, err));
      s.reader.on('gone', (err: Error) => this.onGone(s, err));
    }
    await Promise.all(this.slots.map((s) => this.open(s)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.slots) {
      s.retry?.cancel();
      s.retry = undefined;
      await s.reader.close().catch(() => undefined);
      this.setState(s, 'closed', null);
    }
    await Promise.all(this.slots.map((s) => s.chain));
  }

  status(): ReaderStatus[] {
    return this.slots.map((s) => ({ ...s.status, lastCard: s.status.lastCard && { ...s.status.lastCard } }));
  }

  /** The readers as configured (id and connector), for MQTT discovery. */
  list(): { id: string; connectorId: number; driver: ResolvedReader['driver'] }[] {
    return this.slots.map((s) => ({ id: s.cfg.id, connectorId: s.cfg.connector, driver: s.cfg.driver }));
  }

  /** The simulated reader `id`; undefined for a real one (or no such reader). */
  simulated(id: string): SimulatedCardReader | undefined {
    const s = this.slots.find((x) => x.cfg.id === id);
    return s && s.cfg.driver === 'sim' ? (s.reader as SimulatedCardReader) : undefined;
  }

  /**
   * What the last card at reader `id` did (resolves once the station decided); null when it was
   * ignored or intercepted. A card's events are synchronous, so right after a simulated reader's
   * present() this is that card's.
   */
  lastOutcome(id: string): Promise<TagOutcome | null> {
    return this.slots.find((x) => x.cfg.id === id)?.latest ?? Promise.resolve(null);
  }

  has(id: string): boolean {
    return this.slots.some((s) => s.cfg.id === id);
  }

  /**
   * The next card matching `filter` goes to `handler` instead of the station (learn mode: "present
   * the new card now"); once. Returns a cancel function (call it on timeout).
   */
  interceptNext(handler: (read: TagRead) => void, filter: { readerId?: string; connectorId?: number } = {}): () => void {
    const entry: Interceptor = {
      handler,
      match: (r) => (filter.readerId === undefined || r.readerId === filter.readerId) && (filter.connectorId === undefined || r.connectorId === filter.connectorId),
    };
    this.interceptors.push(entry);
    return () => {
      const i = this.interceptors.indexOf(entry);
      if (i >= 0) this.interceptors.splice(i, 1);
    };
  }

  private async open(s: Slot): Promise<void> {
    if (this.stopped) return;
    try {
      await s.reader.open();
      if (this.stopped) {
        await s.reader.close().catch(() => undefined);
        return;
      }
      const wasFault = s.status.state === 'fault';
      s.backoff.reset();
      this.setState(s, 'ok', null);
      this.o.log.info({ reader: s.cfg.id, connectorId: s.cfg.connector, driver: s.cfg.driver, device: s.status.device }, wasFault ? 'reader back' : 'reader open');
    } catch (err) {
      this.fault(s, (err as Error).message);
    }
  }

  private fault(s: Slot, why: string): void {
    if (this.stopped) return;
    const delay = s.backoff.next();
    const first = s.status.state !== 'fault';
    this.setState(s, 'fault', why);
    // The first failure is a warning; retries of an absent reader are at debug level, not a flood.
    if (first) this.o.log.warn({ reader: s.cfg.id, connectorId: s.cfg.connector, err: why, retryInMs: delay }, 'reader fault: charging is unaffected, the reader is opened again when it is back');
    else this.o.log.debug({ reader: s.cfg.id, err: why, retryInMs: delay }, 'reader still not there');
    s.retry?.cancel();
    s.retry = this.o.station.clock.setTimeout(() => {
      s.retry = undefined;
      void this.open(s);
    }, delay);
  }

  private onGone(s: Slot, err: Error): void {
    void s.reader.close().catch(() => undefined);
    this.fault(s, err.message);
  }

  private onError(s: Slot, err: Error): void {
    s.status.lastError = err.message;
    this.o.log.debug({ reader: s.cfg.id, err: err.message }, 'reader problem');
  }

  private onCard(s: Slot, card: CardRead): void {
    s.latest = Promise.resolve(null);
    let idTag: string;
    try {
      idTag = normaliseCard(card, { format: s.cfg.format, reverse: s.cfg.reverse });
    } catch (err) {
      if (!(err instanceof IdTagError)) throw err;
      s.status.lastError = err.message;
      this.o.log.warn({ reader: s.cfg.id, err: err.message }, 'card ignored');
      return;
    }
    const now = this.o.station.clock.monoMs();
    if (s.last && s.last.idTag === idTag && now - s.last.monoMs < SAME_CARD_GUARD_MS) return;
    s.last = { idTag, monoMs: now };
    s.status.cards++;
    const read: TagRead = { readerId: s.cfg.id, connectorId: s.cfg.connector, idTag };
    this.emit('tag read', read);
    const i = this.interceptors.findIndex((x) => x.match(read));
    if (i >= 0) {
      const [x] = this.interceptors.splice(i, 1);
      s.status.lastCard = { idTag, action: 'intercepted', status: null, monoMs: now };
      this.o.log.info({ reader: s.cfg.id, idTag }, 'card taken by a waiting request (learn mode), not presented');
      x!.handler(read);
      return;
    }
    const done = s.chain.then(() => this.present(s, read, now));
    s.chain = done.then(() => undefined);
    s.latest = done;
  }

  private async present(s: Slot, read: TagRead, monoMs: number): Promise<TagOutcome | null> {
    try {
      const outcome = await this.o.station.presentTag(read.connectorId, read.idTag);
      s.status.lastCard = { idTag: read.idTag, action: outcome.action, status: outcome.status, monoMs };
      this.o.log.info({ reader: read.readerId, connectorId: read.connectorId, idTag: read.idTag, action: outcome.action, status: outcome.status, source: outcome.source }, `card at the reader: ${outcome.action}`);
      this.emit('tag outcome', read, outcome);
      return outcome;
    } catch (err) {
      s.status.lastCard = { idTag: read.idTag, action: 'failed', status: null, monoMs };
      this.o.log.error({ reader: read.readerId, connectorId: read.connectorId, idTag: read.idTag, err: (err as Error).message }, 'card at the reader: the station could not act on it');
      return null;
    }
  }

  private setState(s: Slot, state: ReaderStatus['state'], fault: string | null): void {
    const changed = s.status.state !== state || s.status.fault !== fault;
    s.status.state = state;
    s.status.fault = fault;
    if (changed) this.emit('status', { ...s.status });
  }
}
