import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../log.js';
import { verifyPassword } from '../../util/password-hash.js';
import type { BrowserGuard } from '../browser-guard.js';
import { clientKey } from '../clients.js';
import { HttpError, isJsonContentType, sendJson, type RouteRegistry } from '../http.js';
import { cookieValue, SESSION_COOKIE, sessionCookie } from './cookie.js';
import { SessionTable } from './session-table.js';
import { signInPage, SIGN_IN_CSP, SIGN_IN_CSS, type SignInNotice } from './signin-page.js';
import { AttemptThrottle } from './throttle.js';

export interface SignInOptions {
  /** api.passwordHash. */
  passwordHash: string;
  idleHours: number;
  maxDays: number;
  secureCookie: boolean;
  log: Logger;
  /** Monotonic milliseconds (tests: a fake clock). */
  now?: () => number;
  /** The global slow-down between attempts (tests: records it instead of waiting). */
  sleep?: (ms: number) => Promise<void>;
  /** How often expired sessions are ended (their event streams closed); default a minute. */
  sweepMs?: number;
}

/** Where a browser without a session is sent. */
export const SIGN_IN_PATH = '/signin';

/** Failed attempts per client before each further one must wait 1 s, 2 s, 4 s, … up to a minute. */
export const CLIENT_FREE_FAILURES = 5;
const CLIENT_MAX_WAIT_MS = 60_000;
/** Failed attempts of all clients together before every attempt waits GLOBAL_DELAY_MS first. */
export const GLOBAL_FREE_FAILURES = 20;
export const GLOBAL_DELAY_MS = 1000;
/** Failures are forgotten this long after the last one. */
const FORGET_MS = 15 * 60_000;
/** Attempts waiting for the password check (one at a time: each costs 32 MiB and a CPU core for a while). */
const MAX_WAITING = 16;
const MAX_SESSIONS = 64;
const MAX_FORM_BYTES = 4096;

/**
 * The page's sign-in (api.passwordHash set): the sign-in page, POST /api/session (password in,
 * session cookie out), DELETE /api/session (sign-out), and the check of a request's cookie.
 */
export class SignIn {
  private readonly sessions: SessionTable;
  private readonly perClient: AttemptThrottle;
  private readonly global: AttemptThrottle;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxAgeS: number;
  /** Password checks run one after the other, in arrival order. */
  private queue: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private readonly checking = new Set<string>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly o: SignInOptions) {
    this.now = o.now ?? (() => performance.now());
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.maxAgeS = o.maxDays * 86_400;
    this.sessions = new SessionTable({ idleMs: o.idleHours * 3_600_000, maxAgeMs: this.maxAgeS * 1000, max: MAX_SESSIONS, now: this.now });
    this.perClient = new AttemptThrottle({ free: CLIENT_FREE_FAILURES, baseMs: 1000, maxMs: CLIENT_MAX_WAIT_MS, forgetMs: FORGET_MS, now: this.now });
    this.global = new AttemptThrottle({ free: GLOBAL_FREE_FAILURES, baseMs: 0, maxMs: 0, forgetMs: FORGET_MS, now: this.now });
    this.sweeper = setInterval(() => this.sessions.sweep(), o.sweepMs ?? 60_000);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** The id of the live session whose cookie the request carries (it then counts as used), or undefined. */
  signedIn(req: IncomingMessage): string | undefined {
    const id = cookieValue(req, SESSION_COOKIE);
    return id !== undefined && this.sessions.touch(id) ? id : undefined;
  }

  /**
   * Ends an event stream opened with session `id` when the session ends: after sign-out or expiry
   * a page must not go on receiving the station's state.
   */
  bindStream(id: string, req: IncomingMessage, res: ServerResponse, end: () => void): void {
    if (res.writableEnded) return;
    const off = this.sessions.onEnd(id, end);
    req.once('close', off);
  }

  /** The answer to a request without a session or token: pages go to the sign-in, the rest gets 401. */
  refuse(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const page = (req.method === 'GET' || req.method === 'HEAD') && !url.pathname.startsWith('/api/');
    if (page) {
      res.writeHead(303, { Location: SIGN_IN_PATH, 'Cache-Control': 'no-store' });
      res.end();
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="evsed"');
    sendJson(res, 401, { error: 'sign in first (the page: /signin), or send Authorization: Bearer <api.token>', signIn: SIGN_IN_PATH });
  }

  mount(api: RouteRegistry, guard: BrowserGuard): void {
    const open = { open: true };
    api.route('GET', SIGN_IN_PATH, (req, res, _p, url) => {
      // Already signed in: straight to the station page.
      if (this.signedIn(req) !== undefined) return redirect(res, '/');
      this.page(res, 200, url.searchParams.has('signed-out') ? { kind: 'signed-out' } : null);
    }, open);
    api.route('GET', '/signin.css', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
      res.end(SIGN_IN_CSS);
    }, open);
    api.route('POST', '/api/session', async (req, res) => {
      guard.checkNotCrossSite(req);
      await this.signInRequest(req, res);
    }, open);
    api.route('DELETE', '/api/session', async (req, res) => {
      guard.checkNotCrossSite(req);
      const id = cookieValue(req, SESSION_COOKIE);
      if (id !== undefined) this.sessions.delete(id);
      res.setHeader('Set-Cookie', sessionCookie('', { maxAgeS: 0, secure: this.secure(req) }));
      sendJson(res, 200, { signedIn: false });
    }, open);
  }

  private async signInRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = isJsonContentType(req.headers['content-type']);
    const password = await readPassword(req, json);
    const client = clientKey(req.socket.remoteAddress);
    const waitMs = this.perClient.waitMs(client);
    if (waitMs > 0) return this.throttled(res, json, Math.ceil(waitMs / 1000));
    if (this.checking.has(client) || this.waiting >= MAX_WAITING) return this.throttled(res, json, 1);

    const ok = await this.check(client, password);
    if (!ok) {
      const failures = this.perClient.failed(client);
      this.global.failed('all');
      this.o.log.warn({ client, failures }, 'sign-in failed: wrong password');
      if (json) return sendJson(res, 401, { error: 'sign-in failed' });
      return this.page(res, 401, { kind: 'failed' });
    }
    this.perClient.succeeded(client);
    // A new id at every sign-in: a session id someone planted before does not become signed in.
    const old = cookieValue(req, SESSION_COOKIE);
    if (old !== undefined) this.sessions.delete(old);
    const id = this.sessions.create();
    res.setHeader('Set-Cookie', sessionCookie(id, { maxAgeS: this.maxAgeS, secure: this.secure(req) }));
    this.o.log.info({ client }, 'signed in');
    if (json) return sendJson(res, 200, { signedIn: true });
    redirect(res, '/');
  }

  private async check(client: string, password: string): Promise<boolean> {
    this.waiting++;
    this.checking.add(client);
    const run = this.queue.then(async () => {
      if (this.global.failures('all') >= GLOBAL_FREE_FAILURES) await this.sleep(GLOBAL_DELAY_MS);
      return verifyPassword(password, this.o.passwordHash);
    });
    this.queue = run.catch(() => undefined);
    try {
      return await run;
    } finally {
      this.waiting--;
      this.checking.delete(client);
    }
  }

  private throttled(res: ServerResponse, json: boolean, waitS: number): void {
    res.setHeader('Retry-After', String(waitS));
    if (json) return sendJson(res, 429, { error: `too many failed sign-ins: try again in ${waitS} s`, retryAfterS: waitS });
    this.page(res, 429, { kind: 'throttled', waitS });
  }

  private page(res: ServerResponse, status: number, notice: SignInNotice): void {
    const body = signInPage(notice);
    res.writeHead(status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': SIGN_IN_CSP,
      // Not no-referrer: under it Chromium sends the form's POST with Origin "null".
      'Referrer-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  private secure(req: IncomingMessage): boolean {
    return this.o.secureCookie || (req.socket as TLSSocket).encrypted === true;
  }
}

function redirect(res: ServerResponse, to: string): void {
  res.writeHead(303, { Location: to, 'Cache-Control': 'no-store' });
  res.end();
}

/** The password of a sign-in: a form field (the page without script) or a JSON body. */
async function readPassword(req: IncomingMessage, json: boolean): Promise<string> {
  const type = req.headers['content-type'] ?? '';
  if (!json && !/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) {
    throw new HttpError(415, 'send the password as a form (application/x-www-form-urlencoded) or JSON {"password": "..."}');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new HttpError(413, `body larger than ${MAX_FORM_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let password: unknown;
  if (json) {
    try {
      password = (JSON.parse(text || '{}') as Record<string, unknown>)?.password;
    } catch {
      throw new HttpError(400, 'body is not valid JSON');
    }
  } else password = new URLSearchParams(text).get('password');
  if (typeof password !== 'string' || password.length === 0) throw new HttpError(400, 'password: missing');
  return password;
}
