import type { HandlerContext } from '../handlers/context.js';
import { notSupported } from '../handlers/unsupported.js';
import type { GetDiagnosticsConf, GetDiagnosticsReq, GetLogConf, GetLogReq } from './messages.js';

/** GetDiagnostics: the archive's name now; Uploading → Uploaded | UploadFailed follow through the durable queue. */
export function getDiagnostics(ctx: Pick<HandlerContext, 'diagnostics' | 'afterReply'>, req: GetDiagnosticsReq): GetDiagnosticsConf {
  if (!ctx.diagnostics) notSupported('GetDiagnostics');
  const r = ctx.diagnostics.getDiagnostics(req);
  ctx.afterReply(r.start);
  return r.conf;
}

/**
 * GetLog (security whitepaper N01): Accepted, or AcceptedCanceled when it cancels an upload under
 * way; Rejected for a remoteLocation the station cannot upload to. LogStatusNotification with the
 * requestId follow.
 */
export function getLog(ctx: Pick<HandlerContext, 'diagnostics' | 'afterReply'>, req: GetLogReq): GetLogConf {
  if (!ctx.diagnostics) notSupported('GetLog');
  const r = ctx.diagnostics.getLog(req);
  if (r.start) ctx.afterReply(r.start);
  return r.conf;
}
