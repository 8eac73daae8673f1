import type { ConnectorConfig } from '../config/schema.js';
import type { ConnectorHardware, Meter } from '../hal/types.js';
import type { Clock } from '../hal/clock.js';
import type { Logger } from '../log.js';
import { SimHardware } from '../sim/hardware.js';
import { SimMeter } from '../sim/meter.js';

/**
 * Builds the meter of one connector from `connectors[].meter`. A sim meter measures the sim EV
 * when the connector's hardware is simulated, and its register is part of that board's world;
 * `lastKnownWh` (the store's last record) is the least it continues from across restarts.
 */
export async function createMeter(
  cfg: ConnectorConfig,
  hardware: ConnectorHardware,
  ctx: { clock: Clock; log: Logger; lastKnownWh?: number },
): Promise<Meter> {
  const m = cfg.meter;
  if (m.model === 'sim' && 'initialEnergyWh' in m) {
    const sim = hardware instanceof SimHardware ? hardware : null;
    const voltage = cfg.hardware.driver === 'sim' ? cfg.hardware.ev.voltageV : 230;
    return new SimMeter(ctx.clock, sim?.ev ?? null, Math.max(m.initialEnergyWh, ctx.lastKnownWh ?? 0), voltage, sim?.world);
  }
  const { createModbusMeter } = await import('./modbus/index.js');
  return createModbusMeter(m, { connectorId: cfg.id, log: ctx.log });
}
