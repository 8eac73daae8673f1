import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { download, upload, TransferError } from '../../src/maintenance/transfer/index.js';
import { startFtpServer, startHttpFileServer, type FtpFileServer, type HttpFileServer } from '../support/file-servers.js';
import { loopbackServerPki } from '../support/test-pki.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const FILE = randomBytes(300_000);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'evsed-transfer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function kind(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(TransferError);
    return (err as TransferError).kind;
  }
}

describe('http download', () => {
  let srv: HttpFileServer;
  beforeAll(async () => {
    srv = await startHttpFileServer();
    srv.files.set('/fw/evsed.tar', FILE);
  });
  afterAll(() => srv.close());

  it('downloads the whole file and leaves no .part behind', async () => {
    const dest = join(dir, 'a.tar');
    const r = await download({ url: `${srv.url}/fw/evsed.tar`, dest, maxBytes: 1_000_000 });
    expect(r).toEqual({ bytes: FILE.length, resumedFrom: 0 });
    expect(sha(await readFile(dest))).toBe(sha(FILE));
    await expect(stat(`${dest}.part`)).rejects.toThrow();
  });

  it('continues an interrupted download with a Range request', async () => {
    const dest = join(dir, 'b.tar');
    srv.cutNextAfter(100_000);
    expect(await kind(download({ url: `${srv.url}/fw/evsed.tar`, dest, maxBytes: 1_000_000 }))).not.toBe('ok');
    const partial = (await stat(`${dest}.part`)).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(FILE.length);
    const r = await download({ url: `${srv.url}/fw/evsed.tar`, dest, maxBytes: 1_000_000 });
    expect(r.resumedFrom).toBe(partial);
    expect(srv.requests.at(-1)?.range).toBe(`bytes=${partial}-`);
    expect(sha(await readFile(dest))).toBe(sha(FILE));
  });

  it('starts over when the server ignores the Range', async () => {
    const dest = join(dir, 'c.tar');
    await writeFile(`${dest}.part`, FILE.subarray(0, 5000));
    srv.ignoreRange = true;
    try {
      const r = await download({ url: `${srv.url}/fw/evsed.tar`, dest, maxBytes: 1_000_000 });
      expect(r.resumedFrom).toBe(0);
      expect(sha(await readFile(dest))).toBe(sha(FILE));
    } finally {
      srv.ignoreRange = false;
    }
  });

  it('refuses a file over the size bound before writing it', async () => {
    const dest = join(dir, 'd.tar');
    expect(await kind(download({ url: `${srv.url}/fw/evsed.tar`, dest, maxBytes: 1000 }))).toBe('too-large');
    await expect(stat(`${dest}.part`)).rejects.toThrow();
    await expect(stat(dest)).rejects.toThrow();
  });

  it('names what went wrong: not found, server error, nothing listening, bad scheme', async () => {
    const dest = join(dir, 'e.tar');
    expect(await kind(download({ url: `${srv.url}/nope`, dest, maxBytes: 1000 }))).toBe('not-found');
    srv.failNext(1, 503);
    expect(await kind(download({ url: `${srv.url}/fw/evsed.tar`, dest, maxBytes: 1_000_000 }))).toBe('refused');
    expect(await kind(download({ url: 'http://127.0.0.1:1/x', dest, maxBytes: 1000 }))).toBe('unreachable');
    expect(await kind(download({ url: 'gopher://x/y', dest, maxBytes: 1000 }))).toBe('bad-url');
    // this side's fault, not the server's: the destination folder is missing
    expect(await kind(download({ url: `${srv.url}/fw/evsed.tar`, dest: join(dir, 'missing', 'f.tar'), maxBytes: 1_000_000 }))).toBe('local');
  });
});

describe('https', () => {
  it('downloads from a server whose CA is given, and refuses one it cannot verify', async () => {
    const { ca, server } = await loopbackServerPki();
    const srv = await startHttpFileServer(server);
    try {
      srv.files.set('/f', FILE);
      const dest = join(dir, 'tls.bin');
      expect(await kind(download({ url: `${srv.url}/f`, dest, maxBytes: 1_000_000 }))).toBe('unreachable');
      await download({ url: `${srv.url}/f`, dest, maxBytes: 1_000_000, caPem: ca.certPem });
      expect(sha(await readFile(dest))).toBe(sha(FILE));
    } finally {
      await srv.close();
    }
  });
});

describe('http upload', () => {
  it('PUTs to a directory URL with the file name, and POSTs multipart', async () => {
    const srv = await startHttpFileServer();
    try {
      const file = join(dir, 'diag.tar.gz');
      await writeFile(file, FILE.subarray(0, 4000));
      await upload({ url: `${srv.url}/in/`, file, fileName: 'diag.tar.gz' });
      expect(srv.uploads[0]).toMatchObject({ method: 'PUT', path: '/in/diag.tar.gz' });
      expect(sha(srv.uploads[0]!.body)).toBe(sha(FILE.subarray(0, 4000)));
      await upload({ url: `${srv.url}/upload`, file, fileName: 'diag.tar.gz', method: 'POST' });
      const post = srv.uploads[1]!;
      expect(post.contentType).toMatch(/^multipart\/form-data; boundary=/);
      const text = post.body.toString('latin1');
      expect(text).toContain('filename="diag.tar.gz"');
      expect(post.body.includes(FILE.subarray(0, 4000))).toBe(true);
      srv.failNext(1, 403);
      expect(await kind(upload({ url: `${srv.url}/in/`, file, fileName: 'x' }))).toBe('permission');
    } finally {
      await srv.close();
    }
  });
});

describe('ftp', () => {
  let ftp: FtpFileServer;
  beforeAll(async () => {
    ftp = await startFtpServer();
    await writeFile(join(ftp.root, 'evsed.tar'), FILE);
  });
  afterAll(() => ftp.close());

  it('downloads, continues a .part left behind, and refuses an oversized file', async () => {
    const dest = join(dir, 'ftp.tar');
    expect(await download({ url: `${ftp.url}/evsed.tar`, dest, maxBytes: 1_000_000 })).toEqual({ bytes: FILE.length, resumedFrom: 0 });
    expect(sha(await readFile(dest))).toBe(sha(FILE));
    const dest2 = join(dir, 'ftp2.tar');
    await writeFile(`${dest2}.part`, FILE.subarray(0, 123_456));
    const r = await download({ url: `${ftp.url}/evsed.tar`, dest: dest2, maxBytes: 1_000_000 });
    expect(r.resumedFrom).toBe(123_456);
    expect(sha(await readFile(dest2))).toBe(sha(FILE));
    expect(await kind(download({ url: `${ftp.url}/evsed.tar`, dest: join(dir, 'ftp3'), maxBytes: 1000 }))).toBe('too-large');
  });

  it('uploads into the directory the URL names', async () => {
    const file = join(dir, 'up.bin');
    await writeFile(file, FILE.subarray(0, 9999));
    await upload({ url: `${ftp.url}/`, file, fileName: 'diagnostics-1.tar.gz' });
    expect(sha(await readFile(join(ftp.root, 'diagnostics-1.tar.gz')))).toBe(sha(FILE.subarray(0, 9999)));
  });

  it('wrong password and missing file are named', async () => {
    const bad = ftp.url.replace(ftp.password, 'wrong');
    expect(await kind(download({ url: `${bad}/evsed.tar`, dest: join(dir, 'x'), maxBytes: 1_000_000, idleTimeoutMs: 5000 }))).toBe('permission');
    expect(await kind(download({ url: `${ftp.url}/missing.tar`, dest: join(dir, 'y'), maxBytes: 1_000_000 }))).toBe('not-found');
    expect(await kind(download({ url: `${ftp.url}/evsed.tar`, dest: join(dir, 'missing', 'z'), maxBytes: 1_000_000 }))).toBe('local');
  });
});
