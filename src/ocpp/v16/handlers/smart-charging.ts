import rpc from 'ocpp-rpc';
import { connectorKnown, type HandlerContext } from './context.js';
import type {
  ClearChargingProfileConf, ClearChargingProfileReq, GetCompositeScheduleConf, GetCompositeScheduleReq, SetChargingProfileConf, SetChargingProfileReq,
} from '../messages.js';

const { createRPCError } = rpc;

/** The longest composite schedule computed (a recurring profile over months would be thousands of periods). */
export const COMPOSITE_MAX_S = 7 * 86_400;

/**
 * SetChargingProfile. A connectorId the station does not have is a CALLERROR
 * PropertyConstraintViolation (a field value out of what this charge point allows, E16 §3.38); a
 * profile the rules refuse (ChargePointMaxProfile not on 0, TxProfile without its transaction, more
 * periods or a higher stackLevel than the keys allow, a unit not allowed, too many profiles) is
 * Rejected and changes nothing.
 */
export function setChargingProfile(ctx: Pick<HandlerContext, 'station' | 'smartCharging'>, req: SetChargingProfileReq): SetChargingProfileConf {
  if (req.connectorId !== 0 && !connectorKnown(ctx.station, req.connectorId)) {
    throw createRPCError('PropertyConstraintViolation', `connectorId ${req.connectorId} does not exist (0 or ${ctx.station.connectorIds().join(', ')})`);
  }
  const r = ctx.smartCharging.setProfile(req.connectorId, req.csChargingProfiles);
  if (r.callError) throw createRPCError(r.callError, r.reason);
  return { status: r.status };
}

/** ClearChargingProfile: by id alone, else the AND of the fields given, none = all; Unknown when nothing matched (E16 §3.25/3.26). */
export function clearChargingProfile(ctx: Pick<HandlerContext, 'smartCharging'>, req: ClearChargingProfileReq): ClearChargingProfileConf {
  const criteria = req.id !== undefined ? { id: req.id } : {
    ...(req.connectorId !== undefined ? { connectorId: req.connectorId } : {}),
    ...(req.chargingProfilePurpose ? { chargingProfilePurpose: req.chargingProfilePurpose } : {}),
    ...(req.stackLevel !== undefined ? { stackLevel: req.stackLevel } : {}),
  };
  return { status: ctx.smartCharging.clear(criteria) > 0 ? 'Accepted' : 'Unknown' };
}

/**
 * GetCompositeSchedule from now for `duration` s (at most COMPOSITE_MAX_S): a connector's limit, or
 * connector 0's expected total. An unknown connector or a duration below 1 is Rejected;
 * `chargingSchedule.startSchedule` is left out, scheduleStart says it (E16 §3.57).
 */
export function getCompositeSchedule(ctx: Pick<HandlerContext, 'station' | 'smartCharging'>, req: GetCompositeScheduleReq): GetCompositeScheduleConf {
  if (req.connectorId !== 0 && !connectorKnown(ctx.station, req.connectorId)) return { status: 'Rejected' };
  if (req.duration < 1) return { status: 'Rejected' };
  const c = ctx.smartCharging.composite(req.connectorId, Math.min(req.duration, COMPOSITE_MAX_S), req.chargingRateUnit);
  if (!c) return { status: 'Rejected' };
  return { status: 'Accepted', connectorId: c.connectorId, scheduleStart: c.scheduleStart, chargingSchedule: c.chargingSchedule };
}
