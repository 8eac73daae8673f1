import { open, rename, rm } from 'node:fs/promises';
import { redactUrlPassword } from '../../config/secrets.js';
import { ftpDownload, ftpUpload } from './ftp.js';
import { DEFAULT_IDLE_TIMEOUT_MS, httpDownload, httpUpload } from './http.js';
import { TransferError, type DownloadRequest, type DownloadResult, type UploadRequest } from './types.js';

export * from './types.js';

function parse(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TransferError('bad-url', `not a URL: ${redactUrlPassword(url)}`);
  }
  if (!['http:', 'https:', 'ftp:', 'ftps:'].includes(u.protocol)) {
    throw new TransferError('bad-url', `${u.protocol} is not supported (http, https, ftp, ftps)`);
  }
  return u;
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Downloads `req.url` to `req.dest`. The bytes go to `${dest}.part`, which an interrupted run (a
 * drop, a power cut) leaves behind and the next call continues; only a complete file is synced and
 * renamed to `dest`. A file larger than `maxBytes` is refused and its part removed.
 */
export async function download(req: DownloadRequest): Promise<DownloadResult> {
  const url = parse(req.url);
  const part = `${req.dest}.part`;
  const o = { idleTimeoutMs: req.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, caPem: req.caPem, signal: req.signal };
  let result: DownloadResult;
  try {
    result = url.protocol.startsWith('ftp') ? await ftpDownload(url, part, req.maxBytes, o) : await httpDownload(url, part, req.maxBytes, o);
  } catch (err) {
    if (err instanceof TransferError && err.kind === 'too-large') await rm(part, { force: true });
    if (req.signal?.aborted && !(err instanceof TransferError && err.kind === 'too-large')) throw new TransferError('aborted', 'download aborted');
    throw err;
  }
  await fsyncFile(part);
  await rename(part, req.dest);
  return result;
}

/** Uploads `req.file` as `req.fileName`: into the ftp(s) directory the URL names, or by http(s) PUT/POST. */
export async function upload(req: UploadRequest): Promise<void> {
  const url = parse(req.url);
  const o = { idleTimeoutMs: req.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, caPem: req.caPem, signal: req.signal };
  try {
    if (url.protocol.startsWith('ftp')) await ftpUpload(url, req.file, req.fileName, o);
    else await httpUpload(url, req, o);
  } catch (err) {
    if (req.signal?.aborted) throw new TransferError('aborted', 'upload aborted');
    throw err;
  }
}
