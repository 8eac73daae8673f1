import type { ConnectorHardware } from '../types.js';
import type { GpioHardwareConfig } from './config.js';
import type { Logger } from '../../log.js';

/** Entry point of the Raspberry Pi driver (issue 6). */
export async function createGpioHardware(
  _cfg: GpioHardwareConfig,
  _ctx: { connectorId: number; log: Logger },
): Promise<ConnectorHardware> {
  throw new Error('hardware.driver gpio is not available in this build yet');
}
