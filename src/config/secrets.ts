/**
 * The config keys whose values are secrets. Their values are never echoed: not in a config error
 * ("(got …)" is left out), not in the log (the logger scrubs them, src/log.ts), not in /api/status.
 * A password inside a broker or CSMS URL (user:password@host) is a secret as well.
 */
export const SECRET_KEYS: readonly (readonly string[])[] = [
  ['api', 'token'],
  ['api', 'passwordHash'],
  ['ocpp', 'password'],
  ['ocpp', 'keys', 'AuthorizationKey'],
  ['mqtt', 'password'],
  ['pv', 'source', 'mqtt', 'password'],
];

const URL_KEYS: readonly (readonly string[])[] = [
  ['ocpp', 'url'],
  ['mqtt', 'url'],
  ['pv', 'source', 'mqtt', 'url'],
];

const startsWith = (path: readonly PropertyKey[], prefix: readonly string[]) => prefix.every((seg, i) => path[i] === seg);

/** Whether `path` is (inside) a URL key that may carry a password. */
export function isUrlPath(path: readonly PropertyKey[]): boolean {
  return URL_KEYS.some((k) => startsWith(path, k));
}

/** Whether a config error at `path` is about a secret's value (or a URL that may carry one). */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  return [...SECRET_KEYS, ...URL_KEYS].some((k) => startsWith(path, k));
}

function at(data: unknown, path: readonly string[]): unknown {
  let v: unknown = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/** The password of a URL's user info, if any. */
export function urlPassword(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

/** The names of the secret keys a config sets (a URL with a password counts). */
export function secretKeysIn(data: unknown): string[] {
  const out: string[] = [];
  for (const k of SECRET_KEYS) if (at(data, k) !== undefined) out.push(k.join('.'));
  for (const k of URL_KEYS) {
    const v = at(data, k);
    if (typeof v === 'string' && urlPassword(v)) out.push(k.join('.'));
  }
  return out;
}

/** The secret values in a config, raw (as parsed from YAML) or validated: text values only. */
export function secretValues(data: unknown): string[] {
  const out: string[] = [];
  for (const k of SECRET_KEYS) {
    const v = at(data, k);
    if (typeof v === 'string' || typeof v === 'number') out.push(String(v));
  }
  for (const k of URL_KEYS) {
    const v = at(data, k);
    const p = typeof v === 'string' ? urlPassword(v) : undefined;
    if (p) out.push(p);
  }
  return out;
}

/** `text` with every secret value of 4 characters or more (as written or JSON-escaped) replaced by ***. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 4) continue;
    for (const form of [s, JSON.stringify(s).slice(1, -1)]) out = out.split(form).join('***');
  }
  return out;
}

/** `url` with its password replaced by ***, for logs and status. */
export function redactUrlPassword(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    return url;
  }
}

/** A key name that holds a secret wherever it appears (a key added later without a SECRET_KEYS row is still hidden). */
const SECRET_NAME = /pass(word)?$|token$|secret|privatekey|authorizationkey|apikey/i;

/**
 * A copy of a config (raw or validated) fit to leave the station, e.g. in a diagnostics archive:
 * every secret key's value (SECRET_KEYS, and any key whose name says secret, password or token)
 * is '***', and every URL has its password replaced. Paths to key files stay: the files are not read.
 */
export function redactConfig(data: unknown): unknown {
  const walk = (v: unknown, path: string[]): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, String(i)]));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => {
        const p = [...path, k];
        const secret = SECRET_KEYS.some((s) => s.length === p.length && startsWith(p, s)) || SECRET_NAME.test(k);
        return [k, secret && x !== undefined && x !== null ? '***' : walk(x, p)];
      }));
    }
    if (typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(v)) return redactUrlPassword(v);
    return v;
  };
  return walk(data, []);
}
