import { z } from 'zod';

/** The `ocpp` section (issue 3). Absent = standalone station. */
export const ocppConfigSchema = z.strictObject({
  version: z.literal('1.6'),
  url: z.string(),
  password: z.string().optional(),
  caFile: z.string().optional(),
  clientCert: z.string().optional(),
  clientKey: z.string().optional(),
});
export type OcppConfig = z.infer<typeof ocppConfigSchema>;
