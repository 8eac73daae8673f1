import { connectorKnown, type HandlerContext } from './context.js';
import type { UnlockConnectorConf, UnlockConnectorReq } from '../messages.js';

/**
 * The station ends a running transaction (UnlockCommand) before unlocking, and does nothing where
 * there is no lock (fixed cable): UnlockConnector is not a way to stop a transaction.
 */
export async function unlockConnector(ctx: Pick<HandlerContext, 'station'>, req: UnlockConnectorReq): Promise<UnlockConnectorConf> {
  if (!connectorKnown(ctx.station, req.connectorId)) return { status: 'NotSupported' };
  return { status: await ctx.station.unlock(req.connectorId) };
}
