import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { OcppStationPort } from './station-port.js';
import { ChargePoint } from './charge-point.js';

export { ocppMigrations } from './migrations.js';
export type { OcppStationPort } from './station-port.js';

export interface OcppContext {
  config: Config;
  station: OcppStationPort;
  log: Logger;
}

/**
 * Starts the OCPP 1.6J charge point: installs the session hooks (Start/StopTransaction queued in the
 * session's own SQLite transaction), the OCPP authorizer, the persisted availability, and connects.
 * Call before the station starts its connectors (so recovered sessions produce their StopTransaction).
 */
export async function startOcpp(ctx: OcppContext): Promise<{ stop(): Promise<void>; chargePoint: ChargePoint }> {
  const ocpp = ctx.config.ocpp;
  if (!ocpp) throw new Error('startOcpp called without an ocpp section in the configuration');
  const cp = new ChargePoint({
    station: ctx.station,
    ocpp,
    freeIdTag: ctx.config.auth.freeIdTag,
    authorizeTags: ctx.config.auth.mode === 'ocpp',
    phases: new Map(ctx.config.connectors.map((c) => [c.id, c.phases])),
    log: ctx.log.child({ module: 'ocpp' }),
  });
  cp.start();
  return { stop: () => cp.stop(), chargePoint: cp };
}
