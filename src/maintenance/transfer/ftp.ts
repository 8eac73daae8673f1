import { Client, FTPError } from 'basic-ftp';
import { stat } from 'node:fs/promises';
import { redactUrlPassword } from '../../config/secrets.js';
import { localFailure, TransferError, type DownloadResult } from './types.js';

interface FtpOptions {
  idleTimeoutMs: number;
  caPem?: string;
  signal?: AbortSignal;
}

function ftpError(url: URL, err: unknown): TransferError {
  if (err instanceof TransferError) return err;
  const local = localFailure(err);
  if (local) return local;
  const where = redactUrlPassword(url.toString());
  if (err instanceof FTPError) {
    if (err.code === 530) return new TransferError('permission', `${where}: ${err.message}`);
    if (err.code === 550 || err.code === 551) {
      if (/denied|permission|EACCES/i.test(err.message)) return new TransferError('permission', `${where}: ${err.message}`);
      if (err.code === 550 || /no such|not found|ENOENT/i.test(err.message)) return new TransferError('not-found', `${where}: ${err.message}`);
    }
    return new TransferError('refused', `${where}: ${err.message}`);
  }
  const e = err as NodeJS.ErrnoException;
  if (/timeout/i.test(e.message ?? '')) return new TransferError('timeout', `${where}: ${e.message}`);
  return new TransferError('unreachable', `${where}: ${e.code ?? e.message}`);
}

/** Connects and logs in (anonymous when the URL has no user); explicit TLS for ftps. Passive mode (basic-ftp only does passive). */
async function connect(url: URL, o: FtpOptions): Promise<Client> {
  const client = new Client(o.idleTimeoutMs);
  const onAbort = () => client.close();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await client.access({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : 21,
      user: url.username ? decodeURIComponent(url.username) : 'anonymous',
      password: url.password ? decodeURIComponent(url.password) : 'evsed@',
      secure: url.protocol === 'ftps:',
      ...(o.caPem !== undefined ? { secureOptions: { ca: o.caPem } } : {}),
    });
  } catch (err) {
    client.close();
    throw ftpError(url, err);
  }
  return client;
}

function remotePath(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** Downloads over ftp(s) into `part`, continuing it (REST) when it holds bytes already. */
export async function ftpDownload(url: URL, part: string, maxBytes: number, o: FtpOptions): Promise<DownloadResult> {
  const client = await connect(url, o);
  try {
    const path = remotePath(url);
    const size = await client.size(path).catch(() => undefined);
    if (size !== undefined && size > maxBytes) throw new TransferError('too-large', `${redactUrlPassword(url.toString())}: ${size} bytes, more than ${maxBytes}`);
    let have = await stat(part).then((s) => s.size, () => 0);
    if (size !== undefined && have > size) have = 0;
    if (size !== undefined && have === size && have > 0) return { bytes: have, resumedFrom: have };
    let tooLarge = false;
    client.trackProgress((info) => {
      if (have + info.bytes > maxBytes && !tooLarge) {
        tooLarge = true;
        client.close();
      }
    });
    try {
      await client.downloadTo(part, path, have);
    } catch (err) {
      if (tooLarge) throw new TransferError('too-large', `${redactUrlPassword(url.toString())}: larger than ${maxBytes} bytes`);
      throw err;
    }
    const bytes = (await stat(part)).size;
    if (size !== undefined && bytes !== size) throw new TransferError('protocol', `${redactUrlPassword(url.toString())}: got ${bytes} of ${size} bytes`);
    return { bytes, resumedFrom: have };
  } catch (err) {
    throw ftpError(url, err);
  } finally {
    client.close();
  }
}

/** Stores the file as `fileName` in the directory the URL names. */
export async function ftpUpload(url: URL, file: string, fileName: string, o: FtpOptions): Promise<void> {
  const client = await connect(url, o);
  try {
    const dir = remotePath(url);
    if (dir && dir !== '/') await client.cd(dir);
    await client.uploadFrom(file, fileName);
  } catch (err) {
    throw ftpError(url, err);
  } finally {
    client.close();
  }
}
