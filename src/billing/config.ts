import { z } from 'zod';

/** The `tariff` section (issue 4). Absent = no cost computed. */
export const tariffConfigSchema = z.strictObject({
  currency: z.string().default('EUR'),
  energyPerKWh: z.number().min(0).default(0),
  sessionFee: z.number().min(0).default(0),
});
export type TariffConfig = z.infer<typeof tariffConfigSchema>;
