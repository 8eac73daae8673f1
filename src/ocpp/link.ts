import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import rpc from 'ocpp-rpc';
import type { Logger } from '../log.js';
import type { StationClock } from '../evse/port.js';
import { Backoff } from '../util/backoff.js';
import { redactUrlPassword } from '../config/secrets.js';

const { RPCClient, RPCError, TimeoutError } = rpc;
type Client = InstanceType<typeof RPCClient>;
const OPEN = 1;
const CLOSED = 3;

export interface LinkOptions {
  /** CSMS URL without the station id (no trailing slash). */
  url: string;
  identity: string;
  securityProfile: number;
  password?: string | Buffer;
  caFile?: string;
  clientCert?: string;
  clientKey?: string;
  /**
   * TLS material as PEM, read at every (re)connect (the certificate store: installed CSMS roots, the
   * charge point certificate); wins over caFile / clientCert / clientKey where it gives a value.
   */
  tls?: () => { ca?: string[]; cert?: string; key?: string };
  callTimeoutMs: number;
  pingIntervalS: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** WebSocket subprotocol: 'ocpp1.6' (a 2.0.1 charge point would pass 'ocpp2.0.1'). */
  protocol: string;
  /** Rewrites every outgoing frame (the protocol's CALLERROR codes); identity when absent. */
  rewriteOutgoing?: (frame: string) => string;
  /** Timers (the reconnect back-off) run on this clock. */
  clock: Pick<StationClock, 'setTimeout'>;
  log: Logger;
}

/** What became of a call. `unknown` = it may have reached the CSMS (timeout, drop): resend later, count nothing. */
export type Outcome =
  | { kind: 'ok'; result: any }
  | { kind: 'callerror'; code: string; message: string }
  | { kind: 'unknown'; message: string }
  | { kind: 'not-sent' };

/** How long a clean close waits for the CSMS's close frame before the socket is cut. */
const CLEAN_CLOSE_GRACE_MS = 2000;

/** Frames larger than this close the socket (a CSMS never needs more; the largest is SendLocalList). */
const MAX_FRAME_BYTES = 512 * 1024;

/**
 * The WebSocket link to the CSMS on top of ocpp-rpc, in strict mode. evsed owns the connect loop
 * (ocpp-rpc only reconnects after a first success), calls are issued one at a time by an own lane
 * and only while the socket is OPEN (ocpp-rpc would buffer a call made while CONNECTING and still
 * send it after it timed out locally), and a call timeout forces a reconnect: a socket that looks
 * connected but gets no answers is treated as dead.
 */
export type LinkEvents = { open: []; down: [reason: string]; 'connect-failed': [err: Error & { code?: string | number }] };

/** The URL for a security profile: profiles 2 and 3 are TLS (wss://), whatever scheme the config gave. */
export function urlForProfile(url: string, securityProfile: number): string {
  return securityProfile >= 2 ? url.replace(/^ws:/, 'wss:') : url;
}

export class Link extends EventEmitter<LinkEvents> {
  readonly client: Client;
  private stopped = true;
  private looping = false;
  /** Connection attempts since the last answered call: reset only by an answer, never by an open socket. */
  private readonly backoff: Backoff;
  /** Only the very first connect (start) goes without a delay; every later one sleeps the back-off. */
  private immediate = false;
  private lane: Promise<unknown> = Promise.resolve();
  private wake?: () => void;
  readonly counters = { connects: 0, disconnects: 0, timeouts: 0, strictValidationFailures: 0, badMessages: 0 };
  lastError: string | null = null;

  constructor(private readonly o: LinkOptions) {
    super();
    this.backoff = new Backoff({ baseMs: o.reconnectMinMs, maxMs: o.reconnectMaxMs, factor: 2, jitter: 0.25 });
    this.client = new RPCClient(this.clientOptions());
    const rewrite = o.rewriteOutgoing;
    if (rewrite) {
      const sendRaw = this.client.sendRaw.bind(this.client);
      this.client.sendRaw = (message: string) => sendRaw(rewrite(message));
    }
    const log = o.log;
    this.client.on('open', () => {
      // The back-off is not reset here: a CSMS that accepts the socket but never answers would get
      // an immediate reconnect after every watchdog timeout. It resets on the first answered call.
      this.counters.connects++;
      log.info({ url: redactUrlPassword(`${o.url}/${o.identity}`) }, 'OCPP connected');
      this.emit('open');
    });
    this.client.on('disconnect', ({ code, reason }: { code: number; reason: string }) => {
      this.counters.disconnects++;
      log.warn({ code, reason: String(reason ?? '') }, 'OCPP disconnected');
      this.emit('down', `disconnect ${code}`);
    });
    this.client.on('close', () => {
      if (!this.stopped) void this.connectLoop();
    });
    this.client.on('strictValidationFailure', (ev: any) => {
      this.counters.strictValidationFailures++;
      log.error({ method: ev.method, outbound: ev.outbound, isCall: ev.isCall, error: ev.error?.message, details: ev.error?.details }, ev.outbound
        ? 'OCPP message of ours failed schema validation (not sent / replaced by InternalError)'
        : 'OCPP message from the CSMS failed schema validation');
    });
    this.client.on('badMessage', (ev: any) => {
      this.counters.badMessages++;
      log.warn({ error: ev.error?.message, bytes: ev.buffer?.length }, 'OCPP: malformed frame from the CSMS');
    });
    this.client.on('socketError', (err: Error) => log.debug({ err: err.message }, 'OCPP socket error'));
  }

  private clientOptions(): any {
    const o = this.o;
    const wsOpts: Record<string, unknown> = { maxPayload: MAX_FRAME_BYTES, handshakeTimeout: o.callTimeoutMs };
    const endpoint = urlForProfile(o.url, o.securityProfile);
    if (endpoint.startsWith('wss:')) {
      wsOpts.minVersion = 'TLSv1.2';
      const tls = o.tls?.() ?? {};
      if (tls.ca?.length) wsOpts.ca = tls.ca;
      else if (o.caFile) wsOpts.ca = readFileSync(o.caFile);
      if (o.securityProfile === 3) {
        if (tls.cert && tls.key) {
          wsOpts.cert = tls.cert;
          wsOpts.key = tls.key;
        } else if (o.clientCert && o.clientKey) {
          wsOpts.cert = readFileSync(o.clientCert);
          wsOpts.key = readFileSync(o.clientKey);
        }
      }
    }
    return {
      identity: o.identity,
      endpoint,
      protocols: [o.protocol],
      strictMode: true,
      password: o.securityProfile === 1 || o.securityProfile === 2 ? (o.password ?? null) : null,
      callTimeoutMs: o.callTimeoutMs,
      callConcurrency: 1,
      pingIntervalMs: o.pingIntervalS * 1000,
      deferPingsOnActivity: false,
      respondWithDetailedErrors: false,
      // Every reconnect goes through connectLoop (ocpp-rpc's own would swallow the reasons a connect
      // failed: a 401, a certificate the station does not trust, which are security events).
      reconnect: false,
      maxReconnects: Infinity,
      // All four fields: a partial object would silently lose the jitter (ocpp-rpc merges shallowly).
      backoff: { initialDelay: o.reconnectMinMs, maxDelay: Math.max(o.reconnectMaxMs, o.reconnectMinMs + 1), factor: 2, randomisationFactor: 0.25 },
      maxBadMessages: 20,
      wsOpts,
      headers: {},
      strictModeValidators: [],
    };
  }

  /** Connection attempts since the last answered call (drives the back-off). */
  get backoffAttempt(): number {
    return this.backoff.attempt;
  }

  get isOpen(): boolean {
    return this.client.state === OPEN;
  }

  start(): void {
    this.stopped = false;
    this.immediate = true;
    void this.connectLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.closeCleanly(1001, 'station shutting down');
  }

  /**
   * Close with a close frame, sent after whatever is already queued on the socket (a reply just
   * given), as RFC 6455 wants: the CSMS sees a clean close (1000/1001), not a dropped socket (1006).
   * A CSMS that does not complete the closing handshake within `graceMs` is cut off.
   */
  private async closeCleanly(code: number, reason: string, graceMs = CLEAN_CLOSE_GRACE_MS): Promise<void> {
    const ws = (this.client as unknown as { _ws?: { terminate(): void } })._ws;
    const cutOff = setTimeout(() => ws?.terminate(), graceMs);
    try {
      await this.client.close({ code, reason: reason.slice(0, 100), awaitPending: false }).catch(() => undefined);
    } finally {
      clearTimeout(cutOff);
    }
  }

  /**
   * Our own connect loop (exponential back-off with ±25 % jitter) for whenever the client is CLOSED:
   * the first connect after start() at once, every other one (after a failed attempt or a forced
   * close) after the back-off delay. The attempt count resets only when a call was answered.
   */
  private async connectLoop(): Promise<void> {
    if (this.looping) return;
    this.looping = true;
    try {
      let first = this.immediate;
      this.immediate = false;
      while (!this.stopped && this.client.state !== OPEN) {
        if (!first) await this.sleep(this.backoff.next());
        first = false;
        if (this.stopped) break;
        if (this.client.state !== CLOSED) continue; // closing
        try {
          // the TLS material as it is now (a certificate installed or restored since the last attempt)
          if (this.o.tls) this.client.reconfigure(this.clientOptions());
          await this.client.connect();
        } catch (err) {
          this.lastError = (err as Error).message;
          this.o.log.warn({ err: this.lastError, attempt: this.backoff.attempt }, 'OCPP connect failed; retrying');
          this.emit('connect-failed', err as Error);
        }
      }
    } finally {
      this.looping = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.o.clock.setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        this.wake = undefined;
        timer.cancel();
        resolve();
      };
    });
  }

  /** Drop the socket and reconnect with back-off (keeps whatever is queued durably). */
  forceReconnect(reason: string): void {
    if (this.stopped) return;
    this.o.log.warn({ reason }, 'OCPP: forcing a reconnect');
    void this.client.close({ code: 1001, reason: reason.slice(0, 100), force: true }).catch(() => undefined);
  }

  /** Applies a new WebSocketPingInterval at once. */
  setPingInterval(s: number): void {
    this.o.pingIntervalS = s;
    this.client.reconfigure(this.clientOptions());
  }

  /** A new Basic-auth password (AuthorizationKey): reconnect with it. */
  setPassword(password: Buffer): void {
    this.o.password = password;
    this.client.reconfigure(this.clientOptions());
    // The ChangeConfiguration.conf that accepted the key is on its way: a clean close sends it
    // first (security whitepaper A01, OCTT TC_073), so the CSMS knows which password to expect.
    this.o.log.warn({ reason: 'new AuthorizationKey' }, 'OCPP: reconnecting');
    void this.closeCleanly(1000, 'new AuthorizationKey');
  }

  /** The security profile in use now. */
  get securityProfile(): number {
    return this.o.securityProfile;
  }

  /**
   * Reconnect with another security profile (and the TLS material as the store has it now): a clean
   * close after whatever answer is on its way, then the connect loop with the new settings.
   */
  reconnectWith(settings: { securityProfile?: number }, reason: string): void {
    if (settings.securityProfile !== undefined) this.o.securityProfile = settings.securityProfile;
    this.client.reconfigure(this.clientOptions());
    if (this.stopped) return;
    this.o.log.warn({ reason, securityProfile: this.o.securityProfile }, 'OCPP: reconnecting');
    void this.closeCleanly(1000, reason);
  }

  /**
   * One call at a time; issued only if the socket is OPEN when its turn comes. A timeout forces a
   * reconnect (app-level watchdog).
   */
  call(action: string, payload: Record<string, unknown>, gate: () => boolean = () => true): Promise<Outcome> {
    const run = async (): Promise<Outcome> => {
      if (!this.isOpen || !gate()) return { kind: 'not-sent' };
      try {
        const result = await this.client.call(action, payload);
        this.backoff.reset(); // a successful exchange: the CSMS is really there
        return { kind: 'ok', result };
      } catch (err) {
        const e = err as Error & { rpcErrorCode?: string };
        if (err instanceof TimeoutError) {
          this.counters.timeouts++;
          this.forceReconnect(`${action} got no answer within ${this.o.callTimeoutMs} ms`);
          return { kind: 'unknown', message: 'timeout' };
        }
        if (err instanceof RPCError) return { kind: 'callerror', code: e.rpcErrorCode ?? e.name, message: e.message };
        return { kind: 'unknown', message: e.message };
      }
    };
    const p = this.lane.then(run, run);
    this.lane = p.catch(() => undefined);
    return p;
  }
}
