import type { Meter } from '../../hal/types.js';
import type { MeterConfig } from '../config.js';
import type { Logger } from '../../log.js';

/** Entry point of the Modbus meter drivers (issue 5). */
export async function createModbusMeter(_cfg: MeterConfig, _ctx: { connectorId: number; log: Logger }): Promise<Meter> {
  throw new Error('Modbus meters are not available in this build yet');
}
