import type { ConnectorConfig } from '../config/schema.js';
import type { ConnectorHardware, Meter } from '../hal/types.js';
import type { Clock } from '../hal/clock.js';
import type { Logger } from '../log.js';
import { SimHardware } from '../sim/hardware.js';
import { SimMeter } from '../sim/meter.js';
import { SimGridMeter } from '../sim/grid-meter.js';
import type { GridMeterConfig } from '../config/site.js';
import type { ModbusMeterConfig } from '../config/meter.js';
import type { PhaseRotation } from '../domain/phases.js';

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

/**
 * Builds the grid meter of `site.gridMeter`. A Modbus grid meter on the same RS-485 line (or
 * gateway) as a connector's meter shares that line's one bus object (acquireBus). The sim grid
 * meter measures the simulated EVs of `connectors` on their site phases beside its house load.
 */
export async function createGridMeter(
  cfg: GridMeterConfig,
  connectors: readonly { hardware: ConnectorHardware; rotation: PhaseRotation }[],
  ctx: { clock: Clock; log: Logger },
): Promise<Meter> {
  if (!isModbusGridMeter(cfg)) {
    const loads = connectors.flatMap(({ hardware, rotation }) => (hardware instanceof SimHardware ? [{ currentA: () => hardware.ev.currentA(), phases: () => hardware.ev.phases(), rotation }] : []));
    return new SimGridMeter(ctx.clock, cfg, loads);
  }
  const { createModbusMeter } = await import('./modbus/index.js');
  return createModbusMeter(cfg, { connectorId: 0, log: ctx.log.child({ meter: 'grid' }) });
}

function isModbusGridMeter(cfg: GridMeterConfig): cfg is ModbusMeterConfig {
  return 'transport' in cfg;
}
