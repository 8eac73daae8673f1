import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StationEvents, StationPort } from '../evse/port.js';
import type { Logger } from '../log.js';
import { sessionRow } from '../store/export.js';
import { Subscriptions } from '../util/subscriptions.js';
import { HttpError } from './http.js';

const MAX_CLIENTS = 32;
/** A client that cannot take this much buffered output is dropped rather than letting memory grow. */
const MAX_BUFFERED_BYTES = 256 * 1024;

/**
 * Server-Sent Events at /api/events: `status` (connector view on every change), `sample` (each
 * meter reading), `session-started`, `session-stopped`, `session-corrected` (a provisional meter value
 * replaced by the register). A comment line every 15 s keeps proxies
 * from closing idle streams. Slow clients are dropped, not buffered without bound.
 */
export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly keepAlive: NodeJS.Timeout;
  private readonly subs = new Subscriptions();

  constructor(private readonly station: StationPort, private readonly log: Logger) {
    const on = this.subs.events<StationEvents>(station);
    on('status', (view) => this.broadcast('status', view));
    on('sample', (s) => this.broadcast('sample', s));
    on('session-started', (s) => this.broadcast('session-started', sessionRow(s)));
    on('session-stopped', (s) => this.broadcast('session-stopped', sessionRow(s)));
    on('session-corrected', (s) => this.broadcast('session-corrected', sessionRow(s)));
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), 15_000);
    this.keepAlive.unref();
  }

  attach(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= MAX_CLIENTS) {
      res.setHeader('Retry-After', '5');
      throw new HttpError(429, `too many event streams (max ${MAX_CLIENTS}): try again later`);
    }
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
    // Start with the full picture so a client never waits for the next change.
    for (const c of this.station.view().connectors) res.write(frame('status', c));
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
  }

  count(): number {
    return this.clients.size;
  }

  broadcast(event: string, data: unknown): void {
    if (this.clients.size) this.write(frame(event, data));
  }

  close(): void {
    clearInterval(this.keepAlive);
    this.subs.clear();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private write(text: string): void {
    for (const c of this.clients) {
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

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
