import type { ConnectorConfig } from '../config/schema.js';
import type { ConnectorHardware } from './types.js';
import type { Logger } from '../log.js';
import { SimHardware } from '../sim/hardware.js';

/** Builds the board drivers for one connector from `connectors[].hardware`. */
export async function createConnectorHardware(cfg: ConnectorConfig, log: Logger): Promise<ConnectorHardware> {
  const hw = cfg.hardware;
  switch (hw.driver) {
    case 'sim':
      return new SimHardware(hw.ev);
    case 'gpio': {
      const { createGpioHardware } = await import('./gpio/index.js');
      return createGpioHardware(hw, { connectorId: cfg.id, log });
    }
  }
}
