import type { PilotBoardHardwareConfig } from '../../config/pilot-board.js';
import type { Logger } from '../../log.js';
import { realTimeClock, type Clock } from '../clock.js';
import { acquireBus, describeBus, type BusSpec } from '../modbus/bus.js';
import { loadPilotBoardModel, type PilotBoardModel } from './model.js';
import { PilotBoardHardware } from './board.js';

export { PilotBoardHardware } from './board.js';
export { turnBoardOff, type TurnOffResult } from './turn-off.js';

export interface PilotBoardContext {
  connectorId: number;
  log: Logger;
  clock?: Pick<Clock, 'monoMs' | 'setTimeout'>;
}

/** The board's line and unit: the config's values, else the model file's defaults. */
export function pilotBoardBus(cfg: PilotBoardHardwareConfig, model: PilotBoardModel): { spec: BusSpec; unitId: number; requestGapMs: number; where: string } {
  const d = model.defaults;
  const spec: BusSpec = {
    transport: 'serial',
    path: cfg.path,
    baudRate: cfg.baudRate ?? d.baudRate,
    parity: cfg.parity ?? d.parity,
    dataBits: d.dataBits,
    stopBits: cfg.stopBits ?? d.stopBits,
    timeoutMs: cfg.timeoutMs,
  };
  const unitId = cfg.unitId ?? d.unitId;
  return { spec, unitId, requestGapMs: cfg.requestGapMs ?? d.requestGapMs, where: `unit ${unitId} on ${describeBus(spec)}` };
}

/**
 * Entry point of `hardware.driver: pilot-board`. Nothing here waits for the board: the line is
 * opened by the first request, and a board that does not answer is a fault on the connector
 * (the daemon starts, reports it, and keeps asking), not a failed start.
 */
export function createPilotBoardHardware(cfg: PilotBoardHardwareConfig, ctx: PilotBoardContext): PilotBoardHardware {
  const model = loadPilotBoardModel(cfg.model);
  const { spec, unitId, requestGapMs, where } = pilotBoardBus(cfg, model);
  const log = ctx.log.child({ connector: ctx.connectorId, driver: 'pilot-board' });
  const handle = acquireBus(spec, { log });
  log.info({ model: model.model, board: where, pollMs: cfg.pollMs }, 'pilot board configured');
  const hw = new PilotBoardHardware(
    model,
    handle,
    { unitId, pollMs: cfg.pollMs, timeoutMs: cfg.timeoutMs, requestGapMs, offlineAfterPolls: cfg.offlineAfterPolls, where },
    ctx.clock ?? realTimeClock,
    log,
  );
  hw.start();
  return hw;
}
