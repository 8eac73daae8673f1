import type { DownloadRequest, DownloadResult, UploadRequest } from './types.js';
import { TransferError } from './types.js';

export * from './types.js';

/** Downloads `req.url` to `req.dest`, continuing a `.part` file left by an interrupted run. */
export async function download(req: DownloadRequest): Promise<DownloadResult> {
  throw new TransferError('protocol', `download of ${req.url}: not implemented yet`);
}

/** Uploads `req.file` to `req.url` as `req.fileName`. */
export async function upload(req: UploadRequest): Promise<void> {
  throw new TransferError('protocol', `upload to ${req.url}: not implemented yet`);
}
