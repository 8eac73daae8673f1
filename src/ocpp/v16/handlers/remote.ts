import { connectorKnown, type HandlerContext } from './context.js';
import type { RemoteStartTransactionConf, RemoteStartTransactionReq, RemoteStopTransactionConf, RemoteStopTransactionReq } from '../messages.js';

/**
 * RemoteStartTransaction: a known connector other than 0 (or none: the station picks); authorised
 * first with AuthorizeRemoteTxRequests. A chargingProfile must be a TxProfile (else Rejected, S16
 * §5.11); it applies to the session this starts from its first moment (its transactionId is the
 * one StartTransaction.conf brings).
 */
export async function remoteStartTransaction(ctx: Pick<HandlerContext, 'station' | 'keys' | 'bootStatus' | 'authorize' | 'smartCharging'>, req: RemoteStartTransactionReq): Promise<RemoteStartTransactionConf> {
  if (ctx.bootStatus() !== 'Accepted') return { status: 'Rejected' };
  if (req.connectorId !== undefined && (req.connectorId === 0 || !connectorKnown(ctx.station, req.connectorId))) return { status: 'Rejected' };
  if (req.chargingProfile && ctx.smartCharging.checkRemoteStartProfile(req.connectorId, req.chargingProfile).status !== 'Accepted') return { status: 'Rejected' };
  if (ctx.keys.bool('AuthorizeRemoteTxRequests')) {
    const a = await ctx.authorize(req.idTag);
    if (a.status !== 'Accepted') return { status: 'Rejected' };
  }
  // held before the start: on a connector with the EV plugged in the session begins within remoteStart
  const release = req.chargingProfile ? ctx.smartCharging.holdForRemoteStart(req.connectorId, req.idTag, req.chargingProfile) : undefined;
  const started = await ctx.station.remoteStart(req.connectorId, req.idTag);
  if (!started) release?.();
  return { status: started ? 'Accepted' : 'Rejected' };
}

/** RemoteStopTransaction: only a transaction that runs now and whose StopTransaction is not queued yet; stopped after the answer. */
export function remoteStopTransaction(ctx: Pick<HandlerContext, 'station' | 'ledger' | 'bootStatus' | 'afterReply'>, req: RemoteStopTransactionReq): RemoteStopTransactionConf {
  if (ctx.bootStatus() !== 'Accepted') return { status: 'Rejected' };
  const tx = ctx.ledger.byTransactionId(req.transactionId);
  if (!tx || tx.stopQueued || ctx.station.sessionOn(tx.connectorId)?.id !== tx.sessionId) return { status: 'Rejected' };
  ctx.afterReply(() => void ctx.station.stopSession(tx.connectorId, 'Remote'));
  return { status: 'Accepted' };
}
