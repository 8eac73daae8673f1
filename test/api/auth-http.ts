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
