import type { DataTransferConf, DataTransferReq } from '../messages.js';

/** No vendor extensions: every DataTransfer is for a vendor this charge point does not know. */
export function dataTransfer(_ctx: unknown, _req: DataTransferReq): DataTransferConf {
  return { status: 'UnknownVendorId' };
}
