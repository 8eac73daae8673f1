import { createModbusMeter } from '../../../src/meter/modbus/index.js';
import { meterConfigSchema, type ModbusMeterConfig } from '../../../src/config/meter.js';
import { silentLogger } from '../../../src/log.js';
import type { MeterPollerOptions } from '../../../src/meter/poller.js';

export async function meterFor(cfg: Record<string, unknown>) {
  const parsed = meterConfigSchema.parse(cfg) as ModbusMeterConfig;
  return createModbusMeter(parsed, { connectorId: 1, log: silentLogger() });
}

export const realClock: MeterPollerOptions['clock'] = {
  monoMs: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};
