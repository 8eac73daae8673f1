import { connectorKnown, type HandlerContext } from './context.js';
import type { RemoteStartTransactionConf, RemoteStartTransactionReq, RemoteStopTransactionConf, RemoteStopTransactionReq } from '../messages.js';

/** RemoteStartTransaction: a known connector other than 0 (or none: the station picks); authorised first with AuthorizeRemoteTxRequests. */
export async function remoteStartTransaction(ctx: Pick<HandlerContext, 'station' | 'keys' | 'bootStatus' | 'authorize'>, req: RemoteStartTransactionReq): Promise<RemoteStartTransactionConf> {
  if (ctx.bootStatus() !== 'Accepted') return { status: 'Rejected' };
  if (req.connectorId !== undefined && (req.connectorId === 0 || !connectorKnown(ctx.station, req.connectorId))) return { status: 'Rejected' };
  if (ctx.keys.bool('AuthorizeRemoteTxRequests')) {
    const a = await ctx.authorize(req.idTag);
    if (a.status !== 'Accepted') return { status: 'Rejected' };
  }
  return { status: (await ctx.station.remoteStart(req.connectorId, req.idTag)) ? 'Accepted' : 'Rejected' };
}

/** RemoteStopTransaction: only a transaction that runs now and whose StopTransaction is not queued yet; stopped after the answer. */
export function remoteStopTransaction(ctx: Pick<HandlerContext, 'station' | 'ledger' | 'bootStatus' | 'afterReply'>, req: RemoteStopTransactionReq): RemoteStopTransactionConf {
  if (ctx.bootStatus() !== 'Accepted') return { status: 'Rejected' };
  const tx = ctx.ledger.byTransactionId(req.transactionId);
  if (!tx || tx.stopQueued || ctx.station.sessionOn(tx.connectorId)?.id !== tx.sessionId) return { status: 'Rejected' };
  ctx.afterReply(() => void ctx.station.stopSession(tx.connectorId, 'Remote'));
  return { status: 'Accepted' };
}
