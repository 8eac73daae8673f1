import type { Meter } from '../../hal/types.js';
import type { MeterConfig, ModbusMeterConfig } from '../../config/meter.js';
import type { Logger } from '../../log.js';
import { getModel, type MeterModel } from './model.js';
import { acquireBus, type BusSpec } from '../../hal/modbus/bus.js';
import { ModbusMeter } from './meter.js';
import { bitsPerChar, planForModel, rtuBusTimeMs } from './plan.js';

/** Serial settings and unit id: the config's, else the model file's defaults. */
export function resolveMeterSettings(cfg: ModbusMeterConfig, model: MeterModel = getModel(cfg.model)) {
  const d = model.defaults;
  const serial = {
    baudRate: cfg.baudRate ?? d.baudRate,
    parity: cfg.parity ?? d.parity,
    dataBits: cfg.dataBits ?? d.dataBits,
    stopBits: cfg.stopBits ?? d.stopBits,
  };
  const unitId = cfg.unitId ?? d.unitId;
  const plan = planForModel(model, { maxRegistersPerRead: cfg.maxRegistersPerRead });
  const largest = Math.max(...plan.map((b) => b.count));
  // Default timeout: the largest answer's wire time at this baud rate plus room for the meter's turnaround.
  // Over tcp-rtu the gateway's serial side is assumed to run at the model's factory setting.
  const wireMs = Math.ceil(rtuBusTimeMs(largest, serial.baudRate, bitsPerChar(serial.dataBits, serial.parity, serial.stopBits)) + 250);
  const timeoutMs = cfg.timeoutMs ?? (cfg.transport === 'serial' ? wireMs : cfg.transport === 'tcp-rtu' ? Math.max(1000, wireMs) : 1000);
  const bus: BusSpec = cfg.transport === 'serial'
    ? { transport: 'serial', path: cfg.path, ...serial, timeoutMs }
    : { transport: cfg.transport, host: cfg.host, port: cfg.port ?? 502, timeoutMs };
  return { model, unitId, bus, timeoutMs };
}

/** Entry point of the Modbus meter drivers: one meter per connector, sharing a bus per line. */
export async function createModbusMeter(cfg: MeterConfig, ctx: { connectorId: number; log: Logger }): Promise<ModbusMeter & Meter> {
  if (cfg.model === 'sim' || !('transport' in cfg)) throw new Error('createModbusMeter: not a Modbus meter config');
  const s = resolveMeterSettings(cfg);
  const handle = acquireBus(s.bus, { log: ctx.log });
  ctx.log.info({ connectorId: ctx.connectorId, model: s.model.model, unitId: s.unitId, bus: handle.bus.description, timeoutMs: s.timeoutMs }, 'modbus meter configured');
  return new ModbusMeter(s.model, handle, {
    unitId: s.unitId,
    tries: cfg.tries,
    maxRegistersPerRead: cfg.maxRegistersPerRead,
    invertedCt: cfg.invertedCt,
    selfCheck: cfg.selfCheck,
    log: ctx.log,
    connectorId: ctx.connectorId,
  });
}

export { ModbusMeter, MeterReadError } from './meter.js';
export { acquireBus, ModbusBus, describeBus } from '../../hal/modbus/bus.js';
