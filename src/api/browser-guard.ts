import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { HttpError, isJsonContentType } from './http.js';

/** Methods that change nothing; every other method is a write. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** The host name of a Host (or Origin authority) value, lower-case, without port or trailing dot; null if malformed. */
export function hostNameOf(authority: string): string | null {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/@]+)(:\d{1,5})?$/.exec(authority.trim());
  if (!m) return null;
  return m[1]!.toLowerCase().replace(/\.$/, '');
}

/**
 * What a browser may do to the API, checked before any route runs. A page on another origin can
 * make a browser send requests here (it cannot read the answers without CORS, which the API never
 * grants), and a name of the attacker's that resolves to the station (DNS rebinding) makes them
 * same-origin. So:
 * - the Host header must be an IP address, localhost, the listen address or a configured name
 *   (api.allowedHosts): a rebound name is refused;
 * - preflights (OPTIONS) are refused, so a cross-origin request that needs one never follows;
 * - a write (POST, PUT, ...) must carry Content-Type: application/json, which no HTML form and no
 *   CORS-simple fetch can send, and must not come with a foreign Origin.
 */
export class BrowserGuard {
  private readonly names: Set<string>;

  constructor(o: { listenHost: string; allowedHosts: readonly string[] }) {
    this.names = new Set(['localhost', ...o.allowedHosts, o.listenHost].map((h) => h.toLowerCase().replace(/\.$/, '')));
  }

  /** Throws the refusal for any request: a foreign Host, a preflight. */
  checkRequest(req: IncomingMessage): void {
    const host = req.headers.host;
    // HTTP/1.1 without Host is refused by Node itself; an HTTP/1.0 request without it comes from no browser.
    if (host !== undefined && !this.allowedHost(host)) {
      throw new HttpError(421, `Host ${JSON.stringify(host.slice(0, 80))} is not a name of this station: add the name to api.allowedHosts (IP addresses and localhost are always allowed)`);
    }
    if (req.method === 'OPTIONS') throw new HttpError(403, 'cross-origin requests are not allowed (this API grants no CORS)');
  }

  /** Throws the refusal for a write that a browser could have sent from another origin. */
  checkWrite(req: IncomingMessage): void {
    const origin = req.headers.origin;
    if (origin !== undefined && !this.sameOrigin(origin, req.headers.host)) {
      throw new HttpError(403, `cross-origin request refused (Origin ${JSON.stringify(origin.slice(0, 80))})`);
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      throw new HttpError(415, 'send Content-Type: application/json with a JSON object body ({} when the command takes no parameters)');
    }
  }

  /**
   * Throws unless a write that came with the sign-in cookie is shown to come from this station's
   * own page: its Origin is this station, or (a browser that sent no Origin, or "null" as Chromium
   * does under Referrer-Policy no-referrer) Sec-Fetch-Site says same-origin. SameSite=Strict
   * already keeps the cookie off other sites' requests; this also refuses a sibling site
   * (same-site) and a client that declares nothing.
   */
  checkSameOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    const ok = origin !== undefined && origin !== 'null' ? this.sameOrigin(origin, req.headers.host) : req.headers['sec-fetch-site'] === 'same-origin';
    if (!ok) throw new HttpError(403, 'a write with the sign-in cookie must come from the station page itself (same Origin); scripts send Authorization: Bearer <api.token>');
  }

  /**
   * Throws for a request another site's page made the browser send: a foreign Origin, Sec-Fetch-Site
   * cross-site or same-site, or an opaque Origin ("null") that Sec-Fetch-Site does not vouch for.
   */
  checkNotCrossSite(req: IncomingMessage): void {
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    const foreign = origin === 'null' ? site !== 'same-origin' : origin !== undefined && !this.sameOrigin(origin, req.headers.host);
    if (foreign || site === 'cross-site' || site === 'same-site') {
      throw new HttpError(403, `cross-origin request refused (Origin ${JSON.stringify((origin ?? '').slice(0, 80))})`);
    }
  }

  private allowedHost(host: string): boolean {
    const name = hostNameOf(host);
    if (name === null) return false;
    // An IP address cannot be rebound to the station: only names can.
    if (isIP(name.replace(/^\[|\]$/g, ''))) return true;
    return this.names.has(name);
  }

  /** The page's origin is this very station as the browser addressed it (scheme http, the same Host). */
  private sameOrigin(origin: string, host: string | undefined): boolean {
    if (host === undefined) return false;
    const m = /^http:\/\/([^/]+)$/i.exec(origin);
    if (!m) return false;
    const a = hostNameOf(m[1]!);
    const b = hostNameOf(host);
    const port = (s: string) => /:(\d+)$/.exec(s.replace(/^\[[^\]]*\]/, ''))?.[1] ?? '80';
    return a !== null && a === b && port(m[1]!) === port(host);
  }
}
