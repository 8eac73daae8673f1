import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StationEvents, StationPort } from '../evse/port.js';
import type { Logger } from '../log.js';
import { sessionRow } from '../store/export.js';
import { Subscriptions } from '../util/subscriptions.js';
import { HttpError } from './http.js';
import { clientKey } from './clients.js';

/** Event streams in all (memory and loop time per broadcast are per stream). */
const MAX_STREAMS = 32;
/** Event streams per client (clients.ts): a few tabs; a reloaded page's old stream may linger until its socket closes. */
const MAX_STREAMS_PER_CLIENT = 4;
/** A client that cannot take this much buffered output is dropped rather than letting memory grow. */
const MAX_BUFFERED_BYTES = 256 * 1024;
/** While a session runs its status (cost, time to finish, durations) is pushed at least this often. */
export const LIVE_STATUS_MS = 2000;
/** Session events kept for clients that come back with a Last-Event-ID. */
const REPLAY_EVENTS = 64;
/** The events a returning client is sent again: what the current status cannot tell it. */
const REPLAYED = new Set(['session-started', 'session-stopped', 'session-corrected']);

/**
 * Server-Sent Events at /api/events: `status` (connector view on every change), `sample` (each
 * meter reading), `session-started`, `session-stopped`, `session-corrected` (a provisional meter value
 * replaced by the register). A comment line every 15 s keeps proxies
 * from closing idle streams. Slow clients are dropped, not buffered without bound.
 *
 * Every event has an id, `<run>-<seq>` (the run changes with every start of the daemon). A client
 * that connects, or comes back, gets the current status of every connector at once; one that
 * sends a Last-Event-ID of this run first gets the session events it missed (the last 64 kept).
 * While a session runs, its connector's status is pushed at least every 2 s (cost, time to finish),
 * changed or not.
 *
 * Streams are bounded per client, not only in all, so no client can lock the others out: a
 * client's new stream beyond its bound closes that client's oldest one; when the hub is full, a new
 * client's stream closes the oldest stream of the client holding the most. Only when every stream
 * belongs to a different client is a new one refused (429).
 */
export class SseHub {
  /** Each stream and its client, oldest first. */
  private readonly clients = new Map<ServerResponse, string>();
  private readonly keepAlive: NodeJS.Timeout;
  private readonly livePush: NodeJS.Timeout;
  private readonly subs = new Subscriptions();
  /** This run of the daemon: an id of another run means nothing here. */
  private readonly run = Date.now().toString(36) + Math.floor(Math.random() * 36 ** 4).toString(36);
  private seq = 0;
  private readonly replay: { seq: number; text: string }[] = [];
  /** When a status of each connector last went out (performance.now()). */
  private readonly statusAt = new Map<number, number>();

  constructor(private readonly station: StationPort, private readonly log: Logger) {
    const on = this.subs.events<StationEvents>(station);
    on('status', (view) => {
      this.statusAt.set(view.id, performance.now());
      this.broadcast('status', view);
    });
    on('sample', (s) => this.broadcast('sample', s));
    on('session-started', (s) => this.broadcast('session-started', sessionRow(s)));
    on('session-stopped', (s) => this.broadcast('session-stopped', sessionRow(s)));
    on('session-corrected', (s) => {
      this.broadcast('session-corrected', sessionRow(s));
      // A running session's corrected meter start changes its energy: the status follows at once.
      if (s.status === 'active') this.pushStatus(s.connectorId);
    });
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), 15_000);
    this.keepAlive.unref();
    this.livePush = setInterval(() => this.pushRunning(), LIVE_STATUS_MS / 4);
    this.livePush.unref();
  }

  attach(req: IncomingMessage, res: ServerResponse): void {
    const key = clientKey(req.socket.remoteAddress);
    if (req.method !== 'HEAD') this.makeRoom(key, res);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end(); // the headers are the whole answer: a HEAD must not hold a stream slot
      return;
    }
    res.write('retry: 2000\n\n');
    for (const e of this.missed(req.headers['last-event-id'])) res.write(e);
    // Then the full picture, so a client never waits for the next change (the current id: it is as new as that).
    const id = this.id(this.seq);
    for (const c of this.station.view().connectors) res.write(frame('status', c, id));
    this.clients.set(res, key);
    req.on('close', () => this.clients.delete(res));
  }

  /** Ends one stream (e.g. its sign-in ended); the client's EventSource then reconnects and is asked to sign in. */
  endStream(res: ServerResponse): void {
    if (!this.clients.delete(res)) return;
    res.end();
  }

  count(): number {
    return this.clients.size;
  }

  broadcast(event: string, data: unknown): void {
    const seq = ++this.seq;
    const replayed = REPLAYED.has(event);
    if (!this.clients.size && !replayed) return;
    const text = frame(event, data, this.id(seq));
    if (replayed) {
      this.replay.push({ seq, text });
      if (this.replay.length > REPLAY_EVENTS) this.replay.shift();
    }
    if (this.clients.size) this.write(text);
  }

  close(): void {
    clearInterval(this.keepAlive);
    clearInterval(this.livePush);
    this.subs.clear();
    for (const c of this.clients.keys()) c.end();
    this.clients.clear();
  }

  /** Closes the stream a new one of `key` replaces, or throws 429 when none may be replaced. */
  private makeRoom(key: string, res: ServerResponse): void {
    const perClient = new Map<string, ServerResponse[]>();
    for (const [stream, k] of this.clients) {
      const list = perClient.get(k);
      if (list) list.push(stream);
      else perClient.set(k, [stream]);
    }
    const mine = perClient.get(key) ?? [];
    let victim: ServerResponse | undefined;
    if (mine.length >= MAX_STREAMS_PER_CLIENT) victim = mine[0];
    else if (this.clients.size >= MAX_STREAMS) {
      const heaviest = [...perClient.values()].reduce((a, b) => (b.length > a.length ? b : a));
      if (heaviest.length > 1) victim = heaviest[0];
    }
    if (victim) {
      this.clients.delete(victim);
      // Ended properly (an EventSource reconnects), and its connection freed at once (the
      // response lets go of its socket when it finishes: hold on to it here).
      const socket = victim.socket;
      victim.end(() => socket?.destroy());
      return;
    }
    if (this.clients.size >= MAX_STREAMS) {
      res.setHeader('Retry-After', '5');
      throw new HttpError(429, `too many event streams (${MAX_STREAMS} clients): try again later`);
    }
  }

  private id(seq: number): string {
    return `${this.run}-${seq}`;
  }

  /** The kept session events after a Last-Event-ID of this run; none for another run's or a malformed id. */
  private missed(header: string | string[] | undefined): string[] {
    const m = typeof header === 'string' ? /^([0-9a-z]+)-(\d{1,15})$/.exec(header.trim()) : null;
    if (!m || m[1] !== this.run) return [];
    const after = Number(m[2]);
    return this.replay.filter((e) => e.seq > after).map((e) => e.text);
  }

  /** A running session's numbers change without a status event (cost, time to finish): pushed every LIVE_STATUS_MS. */
  private pushRunning(): void {
    if (!this.clients.size) return;
    const now = performance.now();
    for (const id of this.station.connectorIds()) {
      if (!this.station.sessionOn(id)) continue;
      if (now - (this.statusAt.get(id) ?? -Infinity) < LIVE_STATUS_MS) continue;
      this.pushStatus(id);
    }
  }

  private pushStatus(connectorId: number): void {
    const view = this.station.connectorView(connectorId);
    if (!view) return;
    this.statusAt.set(connectorId, performance.now());
    this.broadcast('status', view);
  }

  private write(text: string): void {
    for (const c of this.clients.keys()) {
      if (c.writableLength > MAX_BUFFERED_BYTES) {
        this.log.warn('dropping a slow event-stream client');
        this.clients.delete(c);
        c.destroy();
        continue;
      }
      c.write(text);
    }
  }
}

function frame(event: string, data: unknown, id: string): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
