import rpc from 'ocpp-rpc';
import type { HandlerContext } from '../handlers/context.js';
import type { SignedUpdateFirmwareConf, SignedUpdateFirmwareReq, UpdateFirmwareConf, UpdateFirmwareReq } from './messages.js';

const { createRPCError } = rpc;

/**
 * UpdateFirmware (plain 1.6): an empty answer, the job starts after it. Once a
 * ManufacturerRootCertificate is installed only SignedUpdateFirmware may update (L01.FR.20):
 * CALLERROR NotSupported, as for a station built without an installer.
 */
export function updateFirmware(ctx: Pick<HandlerContext, 'firmware' | 'afterReply'>, req: UpdateFirmwareReq): UpdateFirmwareConf {
  const fw = ctx.firmware;
  if (!fw) throw createRPCError('NotSupported', 'UpdateFirmware is not supported by this charge point (no release installer)');
  if (!fw.plainAllowed()) throw createRPCError('NotSupported', 'a ManufacturerRootCertificate is installed: use SignedUpdateFirmware');
  const r = fw.update(req);
  if (r.start) ctx.afterReply(r.start);
  return {};
}

/** SignedUpdateFirmware (Security Whitepaper L01): the signing certificate is checked before the answer. */
export function signedUpdateFirmware(ctx: Pick<HandlerContext, 'firmware' | 'afterReply'>, req: SignedUpdateFirmwareReq): SignedUpdateFirmwareConf {
  const fw = ctx.firmware;
  if (!fw) throw createRPCError('NotSupported', 'SignedUpdateFirmware is not supported by this charge point (no release installer)');
  const r = fw.signedUpdate(req);
  if (r.start) ctx.afterReply(r.start);
  return { status: r.status };
}
