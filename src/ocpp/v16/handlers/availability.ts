import { connectorKnown, type HandlerContext } from './context.js';
import type { ChangeAvailabilityConf, ChangeAvailabilityReq } from '../messages.js';

/** ChangeAvailability: Scheduled while a session runs; persisted (restored at start) unless Rejected. */
export function changeAvailability(ctx: Pick<HandlerContext, 'station' | 'availability'>, req: ChangeAvailabilityReq): ChangeAvailabilityConf {
  if (req.connectorId !== 0 && !connectorKnown(ctx.station, req.connectorId)) return { status: 'Rejected' };
  const available = req.type === 'Operative';
  const status = ctx.station.setAvailability(req.connectorId, available);
  if (status !== 'Rejected') ctx.availability.save(req.connectorId, available);
  return { status };
}
