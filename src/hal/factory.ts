import type { ConnectorConfig } from '../config/schema.js';
import type { ConnectorHardware } from './types.js';
import type { Logger } from '../log.js';
import { SimHardware } from '../sim/hardware.js';
import type { GpioHardwareContext } from './gpio/index.js';

/** Test hooks for `hardware.driver: gpio` (a fake sysfs tree's interrupts, a fake ADC, a clock); production passes none. */
export type GpioTestHooks = Partial<Omit<GpioHardwareContext, 'connectorId' | 'log'>>;

/** Builds the board drivers for one connector from `connectors[].hardware`. */
export async function createConnectorHardware(cfg: ConnectorConfig, log: Logger, gpioHooks: GpioTestHooks = {}): Promise<ConnectorHardware> {
  const hw = cfg.hardware;
  switch (hw.driver) {
    case 'sim':
      return new SimHardware(hw.ev);
    case 'gpio': {
      const { createGpioHardware } = await import('./gpio/index.js');
      return createGpioHardware(hw, { ...gpioHooks, connectorId: cfg.id, log });
    }
    case 'pilot-board': {
      const { createPilotBoardHardware } = await import('./pilot-board/index.js');
      return createPilotBoardHardware(hw, { connectorId: cfg.id, log });
    }
  }
}
