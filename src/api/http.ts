import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error the API answers with its status and `{ "error": message }`. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>, url: URL) => Promise<void> | void;

/**
 * Who may use a route besides those with api.token or a sign-in: `public` routes (content without
 * secrets, e.g. the dashboard page) need no token, but a sign-in when a password is set; `open`
 * routes (the sign-in itself) need neither and check their writes themselves.
 */
export interface RouteAccess {
  public?: boolean;
  open?: boolean;
}

/** What other modules (dashboard, billing) need to add their routes to the API server. */
export interface RouteRegistry {
  route(method: string, path: string, handler: RouteHandler, opts?: RouteAccess): void;
}

const MAX_BODY = 64 * 1024;

/**
 * application/json, optionally with charset=utf-8 (JSON is UTF-8: RFC 8259), and nothing else: a
 * browser sends this type across origins only after a preflight, which the API refuses.
 */
const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export function isJsonContentType(value: string | undefined): boolean {
  return value !== undefined && JSON_TYPE.test(value);
}

export function decodePathSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `malformed percent-escape in the path: ${s.slice(0, 40)}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!isJsonContentType(req.headers['content-type'])) throw new HttpError(415, 'send a JSON body with Content-Type: application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object');
  return body as Record<string, unknown>;
}
