import type { HandlerContext } from '../handlers/context.js';
import { triggerMessage } from '../handlers/trigger-message.js';
import type {
  CertificateSignedConf, CertificateSignedReq, DeleteCertificateConf, DeleteCertificateReq, ExtendedTriggerMessageConf, ExtendedTriggerMessageReq,
  GetInstalledCertificateIdsConf, GetInstalledCertificateIdsReq, InstallCertificateConf, InstallCertificateReq,
} from './messages.js';

type Ctx<K extends keyof HandlerContext = never> = Pick<HandlerContext, 'securityExtension' | K>;

export function installCertificate(ctx: Ctx, req: InstallCertificateReq): InstallCertificateConf {
  return { status: ctx.securityExtension.installCertificate(req.certificateType, req.certificate) };
}

export function deleteCertificate(ctx: Ctx, req: DeleteCertificateReq): DeleteCertificateConf {
  return { status: ctx.securityExtension.deleteCertificate(req.certificateHashData) };
}

export function getInstalledCertificateIds(ctx: Ctx, req: GetInstalledCertificateIdsReq): GetInstalledCertificateIdsConf {
  const ids = ctx.securityExtension.installedCertificateIds(req.certificateType);
  return ids.length ? { status: 'Accepted', certificateHashData: ids } : { status: 'NotFound' };
}

/** CertificateSigned: validated and installed before the answer; the reconnect with it after. */
export function certificateSigned(ctx: Ctx<'afterReply'>, req: CertificateSignedReq): CertificateSignedConf {
  const r = ctx.securityExtension.certificateSigned(req.certificateChain);
  if (r.apply) ctx.afterReply(r.apply);
  return { status: r.status };
}

/** ExtendedTriggerMessage: TriggerMessage's messages, and SignChargePointCertificate. Answer first, then send. */
export async function extendedTriggerMessage(
  ctx: Ctx<'station' | 'bootStatus' | 'afterReply' | 'triggers' | 'log'>,
  req: ExtendedTriggerMessageReq,
): Promise<ExtendedTriggerMessageConf> {
  switch (req.requestedMessage) {
    case 'BootNotification':
    case 'Heartbeat':
    case 'MeterValues':
    case 'StatusNotification':
    case 'FirmwareStatusNotification':
      return triggerMessage(ctx, { requestedMessage: req.requestedMessage, ...(req.connectorId !== undefined ? { connectorId: req.connectorId } : {}) });
    case 'LogStatusNotification':
      // Uploading with the requestId while a log upload runs, else Idle
      ctx.afterReply(() => void ctx.triggers.logStatus().catch((err: Error) => ctx.log.warn({ err: err.message }, 'OCPP: triggered LogStatusNotification failed')));
      return { status: 'Accepted' };
    case 'SignChargePointCertificate':
      if (!ctx.securityExtension.canSignCertificate()) return { status: 'Rejected' };
      ctx.afterReply(() => void ctx.securityExtension.signCertificate().catch((err: Error) => ctx.log.error({ err: err.message }, 'OCPP: SignCertificate failed')));
      return { status: 'Accepted' };
    default:
      return { status: 'NotImplemented' };
  }
}
