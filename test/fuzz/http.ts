import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type RawOutcome =
  | { kind: 'response'; res: RawResponse }
  | { kind: 'reset'; error: string; partial: string }
  | { kind: 'timeout'; partial: string };

/**
 * One HTTP/1.1 exchange over a raw socket, so the request can be anything (odd methods, invalid
 * UTF-8 in the target, bad headers) that a proper client would refuse to send. The request must
 * ask for `Connection: close`; an event stream is cut once its headers arrived.
 */
export function rawRequest(port: number, request: Buffer, timeoutMs = 10_000): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const sock = net.connect({ host: '127.0.0.1', port });
    const finish = (o: RawOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', partial: Buffer.concat(chunks).toString('latin1').slice(0, 200) }), timeoutMs);
    const parsed = () => parseResponse(Buffer.concat(chunks));
    sock.on('data', (d) => {
      chunks.push(d);
      const p = parsed();
      if (p && /text\/event-stream/.test(p.headers['content-type'] ?? '')) finish({ kind: 'response', res: p });
    });
    sock.on('error', (err) => {
      const p = parsed();
      finish(p ? { kind: 'response', res: p } : { kind: 'reset', error: (err as NodeJS.ErrnoException).code ?? err.message, partial: Buffer.concat(chunks).toString('latin1').slice(0, 200) });
    });
    sock.on('end', () => {
      const p = parsed();
      finish(p ? { kind: 'response', res: p } : { kind: 'reset', error: 'closed without a response', partial: Buffer.concat(chunks).toString('latin1').slice(0, 200) });
    });
    sock.write(request, () => undefined);
  });
}

/** Status, headers and (de-chunked) body; null until the header block is complete. */
export function parseResponse(raw: Buffer): RawResponse | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  return { status: Number(m[1]), headers, body };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const nl = b.indexOf('\r\n', i);
    if (nl < 0) break;
    const size = parseInt(b.subarray(i, nl).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(b.subarray(nl + 2, nl + 2 + size));
    i = nl + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** Build a request; Content-Length is correct unless `chunked` (then the body is sent in chunks). */
export function buildRequest(o: { method: string; target: Buffer | string; headers: [string, string | Buffer][]; body?: Buffer; chunked?: boolean }): Buffer {
  const parts: Buffer[] = [Buffer.concat([Buffer.from(`${o.method} `, 'latin1'), Buffer.isBuffer(o.target) ? o.target : Buffer.from(o.target, 'utf8'), Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n', 'latin1')])];
  for (const [k, v] of o.headers) parts.push(Buffer.concat([Buffer.from(`${k}: `, 'latin1'), Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'), Buffer.from('\r\n')]));
  const body = o.body ?? Buffer.alloc(0);
  if (o.chunked) {
    parts.push(Buffer.from('Transfer-Encoding: chunked\r\n\r\n'));
    for (let i = 0; i < body.length; i += 1000) {
      const c = body.subarray(i, i + 1000);
      parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
  } else {
    if (body.length || o.method !== 'GET') parts.push(Buffer.from(`Content-Length: ${body.length}\r\n`));
    parts.push(Buffer.from('\r\n'), body);
  }
  return Buffer.concat(parts);
}
