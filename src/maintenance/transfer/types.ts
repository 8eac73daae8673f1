/** Moving one file to or from a server the CSMS names: http, https, ftp and ftps (passive). */

export type TransferScheme = 'http:' | 'https:' | 'ftp:' | 'ftps:';

export interface DownloadRequest {
  /** http(s)://…, ftp(s)://user:pass@host/path (credentials in the URL are never logged). */
  url: string;
  /** Written as `${dest}.part` while it runs and renamed to `dest` once complete. */
  dest: string;
  /** A larger file is refused (before its bytes are written where the server says its size, else once it exceeds it). */
  maxBytes: number;
  /** No byte for this long: the transfer fails (kind 'timeout'). */
  idleTimeoutMs?: number;
  /** Extra CA certificates (PEM) for https/ftps. */
  caPem?: string;
  signal?: AbortSignal;
}

export interface DownloadResult {
  bytes: number;
  /** > 0 when a `.part` file left by an interrupted run was continued (HTTP Range, FTP REST). */
  resumedFrom: number;
}

export interface UploadRequest {
  /** A directory URL (ftp: the file is stored as `fileName` in it) or the target URL (http: PUT to it, or POST when `method` says). */
  url: string;
  file: string;
  fileName: string;
  /** http(s) only; PUT by default (most 1.6 backends), POST as multipart/form-data field `file`. */
  method?: 'PUT' | 'POST';
  idleTimeoutMs?: number;
  caPem?: string;
  signal?: AbortSignal;
}

/** `local`: this side's file system (the destination folder missing, the card full or read-only), not the server. */
export type TransferFailure = 'bad-url' | 'unreachable' | 'timeout' | 'refused' | 'not-found' | 'permission' | 'too-large' | 'aborted' | 'protocol' | 'local';

const LOCAL_SYSCALLS = new Set(['open', 'write', 'read', 'rename', 'fsync', 'mkdir', 'stat', 'ftruncate']);

/** A file-system error of this side (it has a syscall on a path), as a TransferError of kind `local`. */
export function localFailure(err: unknown): TransferError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && e.syscall && LOCAL_SYSCALLS.has(e.syscall) && e.path) return new TransferError('local', `${e.code ?? 'error'} on ${e.path} (${e.syscall})`);
  return undefined;
}

export class TransferError extends Error {
  override readonly name = 'TransferError';
  constructor(
    readonly kind: TransferFailure,
    message: string,
    /** The HTTP status the server answered with, when the failure is one. */
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}
