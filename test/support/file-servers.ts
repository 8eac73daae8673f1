/**
 * Real file servers on loopback for download/upload tests: an http(s) server (GET with Range, PUT,
 * multipart POST) and an ftp(s) server (ftp-srv, passive mode) on a temp directory.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FtpSrv } from 'ftp-srv';

export interface Upload {
  method: string;
  path: string;
  body: Buffer;
  contentType: string | undefined;
}

export interface HttpFileServer {
  /** Base URL, e.g. http://127.0.0.1:1234 (https when tls was given). */
  url: string;
  /** Served for GET by path ('/fw/evsed.tar'). */
  files: Map<string, Buffer>;
  uploads: Upload[];
  requests: { method: string; path: string; range: string | undefined }[];
  /** The next n requests are answered with this status. */
  failNext(n: number, status?: number): void;
  /** The next GET is cut (socket destroyed) after this many body bytes. */
  cutNextAfter(bytes: number): void;
  /** Answer GET with 200 and the whole file even when a Range is asked (a server without ranges). */
  ignoreRange: boolean;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startHttpFileServer(tls?: { certPem: string; keyPem: string }): Promise<HttpFileServer> {
  let failing = 0;
  let failStatus = 503;
  let cutAfter: number | undefined;
  const sockets = new Set<Socket>();
  const s: Omit<HttpFileServer, 'url' | 'close'> = {
    files: new Map(),
    uploads: [],
    requests: [],
    failNext(n, status = 503) {
      failing = n;
      failStatus = status;
    },
    cutNextAfter(bytes) {
      cutAfter = bytes;
    },
    ignoreRange: false,
  };
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    s.requests.push({ method: req.method ?? '', path, range: req.headers.range });
    if (failing > 0) {
      failing--;
      await readBody(req);
      res.writeHead(failStatus).end();
      return;
    }
    if (req.method === 'PUT' || req.method === 'POST') {
      s.uploads.push({ method: req.method, path, body: await readBody(req), contentType: req.headers['content-type'] });
      res.writeHead(201).end();
      return;
    }
    const file = s.files.get(path);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !s.ignoreRange) {
      start = Number(range[1]);
      if (start >= file.length) {
        res.writeHead(416, { 'content-range': `bytes */${file.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-length': file.length - start, 'content-range': `bytes ${start}-${file.length - 1}/${file.length}` });
    } else {
      res.writeHead(200, { 'content-length': file.length });
    }
    const body = file.subarray(start);
    if (cutAfter !== undefined) {
      const n = cutAfter;
      cutAfter = undefined;
      res.write(body.subarray(0, n), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  };
  const server = tls ? createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, handler) : createHttpServer(handler);
  server.on('connection', (sock: Socket) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(s, {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: async () => {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

export interface FtpFileServer {
  /** ftp://user:password@127.0.0.1:port */
  url: string;
  /** The directory the server serves; write files here to offer them, read uploads from here. */
  root: string;
  user: string;
  password: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const quiet = {
  child: () => quiet,
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
};

/** An ftp server on loopback (passive mode) with one user; explicit TLS (ftps) when tls is given. */
export async function startFtpServer(opts: { tls?: { certPem: string; keyPem: string } } = {}): Promise<FtpFileServer> {
  const root = await mkdtemp(join(tmpdir(), 'evsed-ftp-'));
  const port = await freePort();
  const user = 'station';
  const password = 'ftp-secret-pw';
  const server = new FtpSrv({
    url: `ftp://127.0.0.1:${port}`,
    pasv_url: '127.0.0.1',
    pasv_min: 40000 + Math.floor(Math.random() * 20000),
    greeting: 'evsed test ftp',
    log: quiet as never,
    ...(opts.tls ? { tls: { cert: opts.tls.certPem, key: opts.tls.keyPem } } : {}),
  });
  server.on('login', ({ username, password: pw }: { username: string; password: string }, resolve: (r: { root: string }) => void, reject: (e: Error) => void) => {
    if (username === user && pw === password) resolve({ root });
    else reject(new Error('bad credentials'));
  });
  await server.listen();
  return {
    url: `ftp://${user}:${password}@127.0.0.1:${port}`,
    root,
    user,
    password,
    close: async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
