import type { ConnectorConfig } from '../config/schema.js';
import type { ConnectorHardware } from './types.js';
import type { Logger } from '../log.js';
import { SimHardware } from '../sim/hardware.js';
import { SimWorld, simWorldFile } from '../sim/world.js';
import type { GpioHardwareContext } from './gpio/index.js';

/** Test hooks for `hardware.driver: gpio` (a fake sysfs tree's interrupts, a fake ADC, a clock); production passes none. */
export type GpioTestHooks = Partial<Omit<GpioHardwareContext, 'connectorId' | 'log'>>;

/**
 * Builds the board drivers for one connector from `connectors[].hardware`. A simulated board keeps
 * its physical world in `storageDir` (without one, the world ends with the process).
 */
export async function createConnectorHardware(cfg: ConnectorConfig, log: Logger, gpioHooks: GpioTestHooks = {}, storageDir?: string): Promise<ConnectorHardware> {
  const hw = cfg.hardware;
  switch (hw.driver) {
    case 'sim': {
      const world = storageDir === undefined ? undefined : SimWorld.open(simWorldFile(storageDir, cfg.id), { mode: hw.world, ev: hw.ev, log: log.child({ connectorId: cfg.id }) });
      return new SimHardware(hw.ev, undefined, world);
    }
    case 'gpio': {
      const { createGpioHardware } = await import('./gpio/index.js');
      return createGpioHardware(hw, { ...gpioHooks, connectorId: cfg.id, log });
    }
  }
}
