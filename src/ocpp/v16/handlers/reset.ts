import type { HandlerContext } from './context.js';
import type { ResetConf, ResetReq } from '../messages.js';

/** Time for the Accepted answer to leave before the station stops its sessions and restarts. */
export const RESET_DELAY_MS = 200;

export function reset(ctx: Pick<HandlerContext, 'station' | 'log' | 'later' | 'security'>, req: ResetReq): ResetConf {
  ctx.log.warn({ type: req.type }, 'OCPP: Reset requested by the CSMS');
  ctx.security.report('ResetOrReboot', `${req.type} reset requested by the CSMS`);
  ctx.later(RESET_DELAY_MS, () => ctx.station.requestReset(req.type));
  return { status: 'Accepted' };
}
