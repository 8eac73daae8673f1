import type { Config } from '../config/schema.js';
import type { StationPort } from '../evse/port.js';
import type { Logger } from '../log.js';
import type { OcppRepositories } from '../store/ocpp/index.js';
import type { SessionHookRegistrar } from './port.js';
import { ChargePoint, type DiagnosticsDeps, type FirmwareDeps } from './v16/charge-point.js';

export type { ChargePoint } from './v16/charge-point.js';

export interface OcppContext {
  config: Config;
  station: StationPort;
  /** createOcppRepositories(db, ...) from src/store/ocpp. */
  repos: OcppRepositories;
  /** The session store's addHooks. */
  sessionHooks: SessionHookRegistrar;
  /** storage.dir (the certificate store of the security extension lives under it). */
  storageDir?: string;
  /** GetDiagnostics / GetLog (the daemon's diagnostics collector); absent: NotSupported. */
  diagnostics?: DiagnosticsDeps;
  log: Logger;
  /** Firmware updates over OCPP (the release installer, the manufacturer roots, where to download, how to restart). */
  firmware?: FirmwareDeps;
}

/**
 * Starts the OCPP charge point (1.6J; `ocpp.version` picks the implementation, and a 2.0.1 one
 * would be built here from the same context): installs the session hooks (Start/StopTransaction
 * queued in the session's own SQLite transaction), the OCPP authorizer, the persisted
 * availability, and connects. Call before the station starts its connectors (so recovered
 * sessions produce their StopTransaction).
 */
export async function startOcpp(ctx: OcppContext): Promise<{ stop(): Promise<void>; chargePoint: ChargePoint }> {
  const ocpp = ctx.config.ocpp;
  if (!ocpp) throw new Error('startOcpp called without an ocpp section in the configuration');
  const cp = new ChargePoint({
    station: ctx.station,
    repos: ctx.repos,
    sessionHooks: ctx.sessionHooks,
    ocpp,
    freeIdTag: ctx.config.auth.freeIdTag,
    authorizeTags: ctx.config.auth.mode === 'ocpp',
    phases: new Map(ctx.config.connectors.map((c) => [c.id, c.phases])),
    connectorMaxA: Math.max(...ctx.config.connectors.map((c) => c.maxCurrentA ?? 32)),
    ...(ctx.storageDir ? { storageDir: ctx.storageDir } : {}),
    ...(ctx.firmware ? { firmware: { ...ctx.firmware, maxBytes: ctx.firmware.maxBytes ?? ocpp.firmwareMaxMB * 1024 * 1024 } } : {}),
    ...(ctx.diagnostics ? { diagnostics: ctx.diagnostics } : {}),
    log: ctx.log.child({ module: 'ocpp' }),
  });
  cp.start();
  return { stop: () => cp.stop(), chargePoint: cp };
}
