import { createReadStream } from 'node:fs';
import { open, stat, truncate } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import { redactUrlPassword } from '../../config/secrets.js';
import { localFailure, TransferError, type DownloadResult, type UploadRequest } from './types.js';

const MAX_REDIRECTS = 5;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

interface HttpOptions {
  idleTimeoutMs: number;
  caPem?: string;
  signal?: AbortSignal;
}

function statusError(url: URL, status: number): TransferError {
  const where = redactUrlPassword(url.toString());
  if (status === 404 || status === 410) return new TransferError('not-found', `${where}: HTTP ${status}`, status);
  if (status === 401 || status === 403) return new TransferError('permission', `${where}: HTTP ${status}`, status);
  return new TransferError('refused', `${where}: HTTP ${status}`, status);
}

function networkError(url: URL, err: NodeJS.ErrnoException): TransferError {
  if (err instanceof TransferError) return err;
  const local = localFailure(err);
  if (local) return local;
  if (err.name === 'AbortError') return new TransferError('aborted', 'transfer aborted');
  return new TransferError('unreachable', `${redactUrlPassword(url.toString())}: ${err.code ?? err.message}`);
}

function authHeader(url: URL): Record<string, string> {
  if (!url.username && !url.password) return {};
  const creds = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return { authorization: `Basic ${Buffer.from(creds).toString('base64')}` };
}

/** One request; resolves with the response once its headers are in (redirects not followed here). */
function request(url: URL, method: string, headers: Record<string, string | number>, o: HttpOptions, body?: (req: http.ClientRequest) => void): Promise<{ res: IncomingMessage; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, {
      method,
      headers: { ...authHeader(url), ...headers },
      signal: o.signal,
      ...(o.caPem !== undefined && url.protocol === 'https:' ? { ca: o.caPem } : {}),
    });
    req.setTimeout(o.idleTimeoutMs, () => req.destroy(new TransferError('timeout', `${redactUrlPassword(url.toString())}: no data for ${o.idleTimeoutMs} ms`)));
    req.once('error', (err) => reject(networkError(url, err)));
    req.once('response', (res) => resolve({ res, req }));
    if (body) body(req);
    else req.end();
  });
}

/**
 * Writes the body into `part` from `from` on, each chunk on disk before the next is read: when the
 * connection drops, every byte received so far is in the file for the next attempt to continue
 * (a stream pipeline would discard what it still buffered). Returns the bytes written.
 */
async function writeBody(res: IncomingMessage, part: string, from: number, max: number, url: URL): Promise<number> {
  const fh = await open(part, from > 0 ? 'r+' : 'w').catch((err: unknown) => {
    throw localFailure(err) ?? err;
  });
  let count = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (from + count + chunk.length > max) throw new TransferError('too-large', `${redactUrlPassword(url.toString())}: larger than ${max} bytes`);
      await fh.write(chunk, 0, chunk.length, from + count);
      count += chunk.length;
    }
  } catch (err) {
    throw networkError(url, err as NodeJS.ErrnoException);
  } finally {
    await fh.close();
  }
  return count;
}

/** Downloads over http(s) into `part`, continuing it with a Range request when it holds bytes already. */
export async function httpDownload(start: URL, part: string, maxBytes: number, o: HttpOptions): Promise<DownloadResult> {
  let url = start;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const have = await stat(part).then((s) => s.size, () => 0);
    const { res } = await request(url, 'GET', have > 0 ? { range: `bytes=${have}-` } : {}, o);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      url = new URL(res.headers.location, url);
      continue;
    }
    if (status === 416 && have > 0) {
      res.resume();
      // Nothing after what we have: complete only when the server says the file is exactly that long.
      const total = /\/(\d+)$/.exec(res.headers['content-range'] ?? '')?.[1];
      if (total !== undefined && Number(total) === have) return { bytes: have, resumedFrom: have };
      await truncate(part, 0);
      continue;
    }
    if (status !== 200 && status !== 206) {
      res.resume();
      throw statusError(url, status);
    }
    const resumedFrom = status === 206 ? have : 0;
    const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
    if (length !== undefined && resumedFrom + length > maxBytes) {
      res.destroy();
      throw new TransferError('too-large', `${redactUrlPassword(url.toString())}: ${resumedFrom + length} bytes, more than ${maxBytes}`);
    }
    const count = await writeBody(res, part, resumedFrom, maxBytes, url);
    if (length !== undefined && count !== length) {
      throw new TransferError('protocol', `${redactUrlPassword(url.toString())}: got ${count} of ${length} bytes`);
    }
    return { bytes: resumedFrom + count, resumedFrom };
  }
  throw new TransferError('protocol', `${redactUrlPassword(start.toString())}: more than ${MAX_REDIRECTS} redirects`);
}

/** PUT the file to the URL (a URL ending in / gets the file name appended), or POST it as multipart/form-data. */
export async function httpUpload(url: URL, req: UploadRequest, o: HttpOptions): Promise<void> {
  const size = (await stat(req.file)).size;
  const method = req.method ?? 'PUT';
  let target = url;
  let headers: Record<string, string | number>;
  let head = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  if (method === 'PUT') {
    if (url.pathname.endsWith('/')) target = new URL(encodeURIComponent(req.fileName), url);
    headers = { 'content-type': 'application/octet-stream', 'content-length': size };
  } else {
    const boundary = `evsed-${randomBytes(12).toString('hex')}`;
    const name = req.fileName.replace(/["\r\n]/g, '_');
    head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    headers = { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + size + tail.length };
  }
  const { res } = await request(target, method, headers, o, (r) => {
    r.write(head);
    const file = createReadStream(req.file);
    file.once('error', (err) => r.destroy(err));
    file.once('end', () => r.end(tail));
    file.pipe(r, { end: false });
  });
  res.resume();
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) throw statusError(target, status);
}
