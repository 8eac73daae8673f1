import { connectorKnown, type HandlerContext } from '../handlers/context.js';
import type { CancelReservationConf, CancelReservationReq, ReserveNowConf, ReserveNowReq } from './messages.js';

/**
 * ReserveNow (S16 §5.13): the station's reservation rules decide (evse/reservation-rules.ts);
 * Rejected before the boot is Accepted, for an unknown connector, an expiryDate that cannot be
 * read, and connector 0 unless ReserveConnectorZeroSupported. The same reservationId replaces.
 */
export function reserveNow(ctx: Pick<HandlerContext, 'station' | 'keys' | 'bootStatus' | 'log'>, req: ReserveNowReq): ReserveNowConf {
  if (ctx.bootStatus() !== 'Accepted') return { status: 'Rejected' };
  if (req.connectorId === 0 ? !ctx.keys.bool('ReserveConnectorZeroSupported') : !connectorKnown(ctx.station, req.connectorId)) return { status: 'Rejected' };
  const expiresAtMs = Date.parse(req.expiryDate);
  if (!Number.isFinite(expiresAtMs)) return { status: 'Rejected' };
  const status = ctx.station.reserve({
    reservationId: req.reservationId,
    connectorId: req.connectorId,
    idTag: req.idTag,
    expiresAtMs,
    ...(req.parentIdTag ? { parentIdTag: req.parentIdTag } : {}),
  });
  ctx.log.info({ reservationId: req.reservationId, connectorId: req.connectorId, idTag: req.idTag, expiryDate: req.expiryDate, status }, 'OCPP: ReserveNow');
  return { status };
}

/** CancelReservation: Accepted when the reservation is in force (it ends now), else Rejected. */
export function cancelReservation(ctx: Pick<HandlerContext, 'station' | 'bootStatus'>, req: CancelReservationReq): CancelReservationConf {
  if (ctx.bootStatus() !== 'Accepted') return { status: 'Rejected' };
  return { status: ctx.station.cancelReservation(req.reservationId) ? 'Accepted' : 'Rejected' };
}
