import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { SimulatorControls, StationPort } from '../evse/port.js';
import type { Logger } from '../log.js';
import { FAULT_KINDS } from '../domain/faults.js';
import type { FaultKind } from '../domain/types.js';
import { parseDateRange, sessionRow, sessionsToCsv, type ExtraColumns } from '../store/export.js';
import type { SessionFilter, SessionStore } from '../store/sessions.js';
import { MAX_TAG_NAME, type TagNameRepository } from '../store/billing/tag-names.js';
import { SseHub } from './sse.js';
import type { LiveSessionInfo } from '../billing/live.js';
import { MAX_ENERGY_TARGET_WH } from '../domain/charging.js';
import { decodePathSegment, HttpError, readJson, sendJson, type RouteAccess, type RouteHandler, type RouteRegistry } from './http.js';
import { BrowserGuard, SAFE_METHODS } from './browser-guard.js';
import { ClientConnections, clientKey } from './clients.js';
import { HTTP_LIMITS, httpServerOptions } from './limits.js';
import type { OwnerControls } from '../energy/owner.js';
import { mountOwnerRoutes, parseMode } from './owner-routes.js';
import { SignIn, type SignInOptions } from './auth/sign-in.js';

/** The session store as the API reads it. */
export type SessionReader = Pick<SessionStore, 'list' | 'get' | 'samples'>;

export interface ApiOptions {
  station: StationPort;
  /** Sessions and their samples (GET /api/sessions...). */
  sessions: SessionReader;
  log: Logger;
  host: string;
  port: number;
  token?: string;
  /** Host names besides IP addresses and localhost (api.allowedHosts). */
  allowedHosts?: readonly string[];
  /** Extra per-session export columns (billing). */
  sessionColumns?: ExtraColumns;
  /** Time-to-finish targets (billing/live.ts). */
  live?: LiveSessionInfo;
  /** Names for tags (GET/PUT /api/tags). */
  tagNames?: TagNameRepository;
  /** Stop conditions, charging timers, charge now (owner-routes.ts). */
  owner?: OwnerControls;
  /** The page's sign-in (api.passwordHash set): every route then needs its cookie or the token. */
  signIn?: Omit<SignInOptions, 'log'>;
}

/** How a request was let in: GET /api/session tells the page. */
type Via = 'token' | 'cookie' | 'open';

/** Longest lease of an API limit (s): a manager refreshes far more often. */
export const MAX_LEASE_S = 3600;

/**
 * The local HTTP API: status, sessions, CSV export, Server-Sent Events, and in simulation the
 * controls of the simulated EV. Every error is a JSON `{ "error": "..." }` with a 4xx/5xx status;
 * a bad request never takes the daemon down.
 */
export class ApiServer implements RouteRegistry {
  private server?: Server;
  readonly sse: SseHub;
  private readonly routes: { method: string; pattern: RegExp; keys: string[]; handler: RouteHandler; public: boolean; open: boolean }[] = [];
  private readonly signIn?: SignIn;
  private readonly via = new WeakMap<IncomingMessage, Via>();
  /** The sign-in session a request came with. */
  private readonly sessionOf = new WeakMap<IncomingMessage, string>();
  private readonly guard: BrowserGuard;
  private readonly connections = new ClientConnections(HTTP_LIMITS.maxConnectionsPerClient);
  /** Connections closed at once for a limit, since the last warning (one a minute at most). */
  private readonly refused = { count: 0, loggedAtMs: -Infinity };

  constructor(private readonly o: ApiOptions) {
    this.sse = new SseHub(o.station, o.log);
    this.guard = new BrowserGuard({ listenHost: o.host, allowedHosts: o.allowedHosts ?? [] });
    this.addRoutes();
    if (o.signIn) {
      this.signIn = new SignIn({ ...o.signIn, log: o.log });
      this.signIn.mount(this, this.guard);
    }
    if (o.owner) mountOwnerRoutes(this, o.station, o.owner);
  }

  /**
   * Register a route; `:name` segments become params. Other modules (dashboard, billing) add theirs.
   * `public` routes are served without api.token (only for content without secrets, e.g. the
   * dashboard page, which then asks for the token itself); with a sign-in password they need the
   * sign-in like every route but the `open` ones (the sign-in's own).
   */
  route(method: string, path: string, handler: RouteHandler, opts: RouteAccess = {}): void {
    const keys: string[] = [];
    const pattern = new RegExp(`^${path.replace(/:([a-zA-Z]+)/g, (_m, k: string) => (keys.push(k), '([^/]+)'))}$`);
    this.routes.push({ method, pattern, keys, handler, public: opts.public === true, open: opts.open === true });
  }

  async listen(): Promise<AddressInfo> {
    const { host, port, log } = this.o;
    // An API beyond localhost without a token is a config warning (config/warnings.ts), logged by `evsed run`.
    this.server = createServer(httpServerOptions(), (req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = HTTP_LIMITS.keepAliveTimeoutMs;
    this.server.maxConnections = HTTP_LIMITS.maxConnections;
    this.server.on('drop', () => this.refusedConnection('all', `more than ${HTTP_LIMITS.maxConnections} connections open`));
    this.server.on('connection', (socket) => {
      const key = clientKey(socket.remoteAddress);
      if (!this.connections.admit(key)) {
        socket.destroy();
        this.refusedConnection(key, `more than ${HTTP_LIMITS.maxConnectionsPerClient} connections from one client`);
        return;
      }
      socket.once('close', () => this.connections.release(key));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    this.server.removeAllListeners('error');
    this.server.on('error', (err) => log.error({ err: err.message }, 'API server error'));
    const addr = this.server.address() as AddressInfo;
    log.info({ url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}/` }, 'API listening');
    return addr;
  }

  async close(): Promise<void> {
    this.sse.close();
    this.signIn?.close();
    if (!this.server) return;
    await new Promise<void>((resolve) => {
      this.server!.close(() => resolve());
      this.server!.closeAllConnections();
    });
  }

  /** A connection closed at accept for a limit: counted, and warned about once a minute at most. */
  private refusedConnection(client: string, why: string): void {
    this.refused.count++;
    const now = performance.now();
    if (now - this.refused.loggedAtMs < 60_000) return;
    this.o.log.warn({ client, refused: this.refused.count }, `API: connections closed at once: ${why}`);
    this.refused.count = 0;
    this.refused.loggedAtMs = now;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    try {
      this.guard.checkRequest(req);
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        throw new HttpError(400, 'the request target is not a valid URL');
      }
      const method = req.method ?? 'GET';
      const via = this.admit(req, url, method);
      if (via === null) {
        if (this.signIn) return this.signIn.refuse(req, res, url);
        res.setHeader('WWW-Authenticate', 'Bearer realm="evsed"');
        throw new HttpError(401, 'missing or wrong token: send Authorization: Bearer <api.token>');
      }
      this.via.set(req, via);
      let allowed: string[] = [];
      for (const r of this.routes) {
        const m = r.pattern.exec(url.pathname);
        if (!m) continue;
        if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) {
          allowed.push(r.method);
          continue;
        }
        if (!SAFE_METHODS.has(method) && !r.open) {
          this.guard.checkWrite(req);
          if (via === 'cookie') this.guard.checkSameOrigin(req);
        }
        const params: Record<string, string> = {};
        r.keys.forEach((k, i) => (params[k] = decodePathSegment(m[i + 1]!)));
        await r.handler(req, res, params, url);
        return;
      }
      allowed = [...new Set(allowed)];
      if (allowed.length) {
        res.setHeader('Allow', allowed.join(', '));
        throw new HttpError(405, `method ${method} not allowed on ${url.pathname} (use ${allowed.join(', ')})`);
      }
      throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      if (status >= 500) this.o.log.error({ err: (err as Error).message, url: redactToken(req.url) }, 'API error');
      if (!res.headersSent) sendJson(res, status, { error: (err as Error).message });
      else res.end();
    } finally {
      this.o.log.trace({ method: req.method, url: redactToken(req.url), ms: performance.now() - started }, 'api request');
    }
  }

  /**
   * How the request may proceed, or null when it needs a token or sign-in it lacks. Without a
   * password and token everything is open (the config allows that only on localhost or a trusted
   * network); with a token only, `public` routes are open too; with a password, only `open` ones.
   */
  private admit(req: IncomingMessage, url: URL, method: string): Via | null {
    if (!this.o.token && !this.signIn) return 'open';
    const access = this.access(method, url.pathname);
    if (access === 'open' || (access === 'public' && !this.signIn)) return 'open';
    if (this.o.token && this.authorised(req, url)) return 'token';
    const session = this.signIn?.signedIn(req);
    if (session === undefined) return null;
    this.sessionOf.set(req, session);
    return 'cookie';
  }

  private access(method: string, pathname: string): 'open' | 'public' | 'private' {
    let found: 'open' | 'public' | 'private' = 'private';
    for (const r of this.routes) {
      if (!(r.method === method || (method === 'HEAD' && r.method === 'GET')) || !r.pattern.test(pathname)) continue;
      if (r.open) return 'open';
      if (r.public) found = 'public';
    }
    return found;
  }

  private authorised(req: IncomingMessage, url: URL): boolean {
    const want = Buffer.from(this.o.token!);
    const header = req.headers.authorization ?? '';
    // EventSource cannot set headers: the token may come as ?token= for GET requests.
    const given = header.startsWith('Bearer ') ? header.slice(7) : req.method === 'GET' ? (url.searchParams.get('token') ?? '') : '';
    const got = Buffer.from(given);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private connectorId(params: Record<string, string>): number {
    const id = Number(params.id);
    if (!Number.isInteger(id) || !this.o.station.connectorIds().includes(id)) {
      throw new HttpError(404, `no connector ${params.id} (connectors: ${this.o.station.connectorIds().join(', ')})`);
    }
    return id;
  }

  private addRoutes(): void {
    const st = this.o.station;
    // How this request got in, and whether a sign-in exists: the page shows Sign out for a cookie.
    this.route('GET', '/api/session', (req, res) => sendJson(res, 200, { passwordSet: this.signIn !== undefined, via: this.via.get(req) ?? 'open' }));
    this.route('GET', '/api/status', (_q, res) => sendJson(res, 200, { ...st.view(), ...st.extraStatus() }));

    this.route('GET', '/api/sessions', (_q, res, _p, url) => {
      const sessions = this.o.sessions.list(sessionFilter(url));
      sendJson(res, 200, sessions.map((s) => sessionRow(s, this.o.sessionColumns)));
    });
    this.route('GET', '/api/sessions.csv', (_q, res, _p, url) => {
      // An export holds every session asked for: no default page size (an explicit limit still applies).
      const sessions = this.o.sessions.list({ ...sessionFilter(url, null), order: 'asc' });
      res.writeHead(200, {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="${st.info.id}-sessions.csv"`,
        'Cache-Control': 'no-store',
      });
      res.end(sessionsToCsv(sessions, this.o.sessionColumns));
    });
    this.route('GET', '/api/sessions/:id', (_q, res, p) => {
      const id = Number(p.id);
      const s = Number.isInteger(id) ? this.o.sessions.get(id) : undefined;
      if (!s) throw new HttpError(404, `no session ${p.id}`);
      const samples = this.o.sessions.samples(s.id).map((x) => ({ t: new Date(x.wallMs).toISOString(), energyWh: x.energyWh, powerW: x.powerW }));
      sendJson(res, 200, { ...sessionRow(s, this.o.sessionColumns), samples });
    });
    this.route('GET', '/api/events', (req, res) => {
      this.sse.attach(req, res);
      const session = this.sessionOf.get(req);
      if (session !== undefined) this.signIn!.bindStream(session, req, res, () => this.sse.endStream(res));
    });

    this.route('POST', '/api/connectors/:id/tag', async (req, res, p) => {
      const id = this.connectorId(p);
      const body = await readJson(req);
      const idTag = body.idTag;
      if (typeof idTag !== 'string' || idTag.length < 1 || idTag.length > 20) throw new HttpError(400, 'idTag: must be a text of 1 to 20 characters');
      const result = await st.presentTag(id, idTag);
      if (result.action === 'unavailable') sendJson(res, 409, { error: `connector ${id} cannot charge now (unavailable or faulted): the tag was not checked`, ...result });
      else if (result.action === 'rejected') sendJson(res, 403, { error: `tag ${idTag} refused (${result.status})`, ...result });
      else sendJson(res, 200, result);
    });
    // Commands without parameters still take a JSON object body ({}), like every write.
    this.route('POST', '/api/connectors/:id/stop', async (req, res, p) => {
      const id = this.connectorId(p);
      await readJson(req);
      const ok = await st.stopSession(id, 'Local');
      if (!ok) throw new HttpError(409, 'no session or authorisation to stop on this connector');
      sendJson(res, 202, { stopping: true });
    });
    this.route('POST', '/api/connectors/:id/pause', async (req, res, p) => {
      const id = this.connectorId(p);
      await readJson(req);
      sendJson(res, 200, { paused: st.pause(id) });
    });
    this.route('POST', '/api/connectors/:id/resume', async (req, res, p) => {
      const id = this.connectorId(p);
      await readJson(req);
      sendJson(res, 200, { resumed: st.resume(id) });
    });
    this.route('POST', '/api/connectors/:id/wake', async (req, res, p) => {
      const id = this.connectorId(p);
      await readJson(req);
      if (!st.wake(id)) throw new HttpError(409, 'only an EV plugged in (state B) with a session can be woken');
      sendJson(res, 202, { waking: true });
    });
    this.route('POST', '/api/connectors/:id/phases', async (req, res, p) => {
      const id = this.connectorId(p);
      const body = await readJson(req);
      if (body.phases !== 1 && body.phases !== 3) throw new HttpError(400, 'phases: must be 1 or 3');
      // A switch under load takes the stop, the pause (connectors[].phaseSwitch.pauseS) and the settle time: answer 202 and let GET /api/status show it.
      const done = st.setPhases(id, body.phases, 'api');
      const result = await Promise.race([done, new Promise<null>((r) => setTimeout(() => r(null), PHASE_ANSWER_WAIT_MS))]);
      const phases = st.connectorView(id)!.phases;
      if (result === null) sendJson(res, 202, { result: 'Pending', phases });
      else if (result === 'Accepted') sendJson(res, 200, { result, phases });
      else if (result === 'NotSupported') sendJson(res, 409, { error: `connector ${id} has no phase relay (hardware.phaseRelay)`, result, phases });
      else sendJson(res, 409, { error: 'phase switch refused (a fault, the session stopping, a switch under way, or connectors[].phaseSwitch.maxPerSession reached)', result, phases });
    });
    this.route('POST', '/api/connectors/:id/clear-faults', async (req, res, p) => {
      const id = this.connectorId(p);
      await readJson(req);
      const cleared = st.clearFaults(id);
      // What is still active (e.g. 'welded' while the contactor's feedback reads closed).
      sendJson(res, 200, { cleared, faults: st.connectorView(id)!.faults });
    });
    this.route('POST', '/api/connectors/:id/limit', async (req, res, p) => {
      const id = this.connectorId(p);
      const body = await readJson(req);
      // A lease: an energy manager refreshes the limit within leaseS, else it ends and the other claims decide again.
      const leaseS = body.leaseS;
      if (leaseS !== undefined && (typeof leaseS !== 'number' || !Number.isInteger(leaseS) || leaseS < 1 || leaseS > MAX_LEASE_S)) throw new HttpError(400, `leaseS: must be a whole number of seconds from 1 to ${MAX_LEASE_S} (or left out: the limit stays until removed)`);
      if (body.maxA === null) st.clearClaim('api', id);
      else if (typeof body.maxA === 'number' && Number.isFinite(body.maxA) && body.maxA >= 0 && body.maxA <= 80) st.setClaim({ source: 'api', connectorId: id, maxA: body.maxA, ...(leaseS !== undefined ? { leaseMs: leaseS * 1000 } : {}) });
      else throw new HttpError(400, 'maxA: must be a number of amperes between 0 and 80, or null to remove the limit');
      const { currentLimitA, limitSource } = st.connectorView(id)!;
      sendJson(res, 200, { currentLimitA, limitSource });
    });

    this.route('POST', '/api/connectors/:id/target', async (req, res, p) => {
      const id = this.connectorId(p);
      if (!this.o.live) throw new HttpError(404, 'targets are not available');
      const body = await readJson(req);
      const num = (k: 'energyWh' | 'socPercent', max: number, what: string): number | null | undefined => {
        const v = body[k];
        if (v === undefined || v === null) return v as null | undefined;
        const whole = k === 'energyWh' ? Number.isInteger(v) : true;
        if (typeof v !== 'number' || !Number.isFinite(v) || !whole || v <= 0 || v > max) throw new HttpError(400, `${k}: must be ${what} up to ${max}, or null to remove it`);
        return v;
      };
      // Energy is whole Wh everywhere (config and MQTT take the same bound).
      const energyWh = num('energyWh', MAX_ENERGY_TARGET_WH, 'a whole number of Wh from 1');
      const socPercent = num('socPercent', 100, 'a percentage above 0');
      // mode stop: the energy target also ends the session (energy/session-limits.ts).
      const mode = this.o.owner ? parseMode(body.mode, 'mode') : undefined;
      if (energyWh === undefined && socPercent === undefined && mode === undefined) throw new HttpError(400, `give energyWh (session energy target) and/or socPercent${this.o.owner ? ', and/or mode (estimate | stop)' : ''}`);
      if (mode) this.o.owner!.limits.setTargetMode(id, mode);
      if (energyWh !== undefined || socPercent !== undefined) this.o.live.setTarget(id, { ...(energyWh !== undefined ? { energyWh } : {}), ...(socPercent !== undefined ? { socPercent } : {}) });
      if (mode || energyWh !== undefined) this.o.owner?.limits.check(id);
      sendJson(res, 200, st.connectorView(id)!.session ?? { target: { energyWh, socPercent } });
    });
    this.route('GET', '/api/tags', (_q, res) => {
      const names = this.o.tagNames?.all() ?? new Map<string, string>();
      sendJson(res, 200, [...names].map(([idTag, name]) => ({ idTag, name })));
    });
    this.route('PUT', '/api/tags/:idTag', async (req, res, p) => {
      if (!this.o.tagNames) throw new HttpError(404, 'tag names are not available');
      const body = await readJson(req);
      if (body.name !== null && (typeof body.name !== 'string' || body.name.length < 1 || body.name.length > MAX_TAG_NAME)) throw new HttpError(400, `name: must be a text of 1 to ${MAX_TAG_NAME} characters, or null to remove it`);
      if (p.idTag!.length > 20) throw new HttpError(400, 'idTag: at most 20 characters');
      this.o.tagNames.set(p.idTag!, body.name as string | null);
      sendJson(res, 200, { idTag: p.idTag, name: body.name });
    });

    this.route('POST', '/api/connectors/:id/sim', async (req, res, p) => {
      const id = this.connectorId(p);
      const sim = st.simulator(id);
      if (!sim) throw new HttpError(409, `connector ${id} is real hardware: simulation controls exist only with hardware.driver sim`);
      const body = await readJson(req);
      simAction(sim, body);
      // Let the simulated inputs propagate (they arrive like interrupts, on a later turn).
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      sendJson(res, 200, st.connectorView(id)!);
    });
  }
}

/** How long POST .../phases waits for the switch to end before it answers 202 (a switch without a session ends at once). */
const PHASE_ANSWER_WAIT_MS = 500;

const SIM_ACTIONS = ['plug', 'unplug', 'ev-ready', 'ev-pause', 'fault', 'clear-fault'] as const;

function simAction(sim: SimulatorControls, body: Record<string, unknown>): void {
  const action = body.action;
  switch (action) {
    case 'plug':
      return sim.plug();
    case 'unplug':
      return sim.unplug();
    case 'ev-ready':
      if (!sim.plugged) throw new HttpError(409, 'the simulated EV is not plugged in (send {"action":"plug"} first)');
      return sim.ready();
    case 'ev-pause':
      return sim.pause();
    case 'fault':
    case 'clear-fault': {
      const kind = (body.kind ?? 'rcd') as FaultKind;
      if (!FAULT_KINDS.includes(kind)) throw new HttpError(400, `kind: must be one of ${FAULT_KINDS.join(' | ')}`);
      return sim.setFault(kind, action === 'fault');
    }
    default:
      throw new HttpError(400, `action: must be one of ${SIM_ACTIONS.join(' | ')} (got ${JSON.stringify(action)})`);
  }
}

/** `defaultLimit`: sessions when no limit is given (null = all). */
function sessionFilter(url: URL, defaultLimit: number | null = 1000): SessionFilter {
  const q = url.searchParams;
  const f: SessionFilter = {};
  try {
    Object.assign(f, parseDateRange(q.get('from'), q.get('to'), ['from', 'to']));
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  const num = (name: string, max: number): number | undefined => {
    const v = q.get(name);
    if (v === null) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new HttpError(400, `${name}: must be a whole number between 0 and ${max}`);
    return n;
  };
  f.limit = num('limit', 10_000) ?? defaultLimit ?? undefined;
  f.offset = num('offset', 1e9);
  f.connectorId = num('connector', 8);
  if (q.get('idTag')) f.idTag = q.get('idTag')!;
  const status = q.get('status');
  if (status) {
    if (status !== 'active' && status !== 'completed') throw new HttpError(400, 'status: must be active or completed');
    f.status = status;
  }
  return f;
}

/**
 * A request target fit for the log: the value of every `token` query parameter (the API token,
 * passed as ?token= where a browser cannot set headers) replaced by ***. The name is matched as
 * the URL parser reads it (percent-decoded), and in any case, so no spelling slips through.
 */
export function redactToken(target: string | undefined): string | undefined {
  if (target === undefined) return undefined;
  const q = target.indexOf('?');
  if (q < 0) return target;
  const query = target
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        /* malformed escape: compare as it is */
      }
      return decoded.trim().toLowerCase() === 'token' ? `${name}=***` : part;
    })
    .join('&');
  return `${target.slice(0, q)}?${query}`;
}

