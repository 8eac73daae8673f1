import { z } from 'zod';

/**
 * `hardware.driver: gpio` (Raspberry Pi). Owned by the Pi drivers (issue 6); this placeholder only
 * reserves the shape so configs fail clearly until the driver lands.
 */
export const gpioHardwareSchema = z.strictObject({
  driver: z.literal('gpio'),
  gpio: z.record(z.string(), z.unknown()).optional(),
  pwm: z.record(z.string(), z.unknown()).optional(),
  pilotSense: z.record(z.string(), z.unknown()).optional(),
});
export type GpioHardwareConfig = z.infer<typeof gpioHardwareSchema>;
