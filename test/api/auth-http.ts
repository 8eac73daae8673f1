import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/**
 * One HTTP request with exactly the headers given (no fetch defaults: Origin, Sec-Fetch-Site and
 * Cookie are the test's to set), redirects not followed, optionally from another loopback address.
 */
export function http(base: string, method: string, path: string, o: { headers?: Record<string, string>; body?: string; from?: string } = {}): Promise<RawResponse> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers: o.headers ?? {}, ...(o.from ? { localAddress: o.from } : {}) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/** A GET of an event stream: its status and content type, then the connection is dropped. */
export function streamHead(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | undefined }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers }, (res) => {
      resolve({ status: res.statusCode!, type: res.headers['content-type'] });
      res.destroy();
      req.destroy();
    });
    req.on('error', reject);
    req.end();
  });
}

/** The session cookie's value from a Set-Cookie answer. */
export function cookieOf(r: RawResponse): string {
  const set = ([] as string[]).concat(r.headers['set-cookie'] ?? []);
  const m = /^evsed_session=([^;]*)/.exec(set[0] ?? '');
  if (!m) throw new Error(`no session cookie in ${JSON.stringify(set)} (status ${r.status}: ${r.text.slice(0, 200)})`);
  return m[1]!;
}

export const form = (password: string) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username: 'admin', password }).toString() });
export const jsonBody = (body: unknown, headers: Record<string, string> = {}) => ({ headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** An open event stream: what it received, and whether the station ended it. */
export function openStream(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; text: () => string; ended: Promise<void>; close(): void }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      const ended = new Promise<void>((r) => res.on('end', () => r()));
      resolve({ status: res.statusCode!, text: () => text, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

/** `p`, or a failure naming `what` when it has not settled within `ms` (a clear failure instead of the test's timeout). */
export function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
