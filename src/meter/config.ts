import { z } from 'zod';
import { simMeterSchema } from '../sim/config.js';

/**
 * `connectors[].meter`. The Modbus models (issue 5) extend this; `sim` is the simulated meter.
 */
export const modbusMeterSchema = z.strictObject({
  model: z.string().refine((m) => m !== 'sim'),
  transport: z.enum(['serial', 'tcp-rtu', 'tcp']).optional(),
  path: z.string().optional(),
  host: z.string().optional(),
  port: z.number().int().optional(),
  baudRate: z.number().int().optional(),
  parity: z.enum(['none', 'even', 'odd']).optional(),
  stopBits: z.number().int().optional(),
  dataBits: z.number().int().optional(),
  unitId: z.number().int().optional(),
});

export const meterConfigSchema = z.union([simMeterSchema, modbusMeterSchema]);
export type MeterConfig = z.infer<typeof meterConfigSchema>;
