import { z } from 'zod';

/** The `mqtt` section (issue 4). Absent = no MQTT. */
export const mqttConfigSchema = z.strictObject({
  url: z.string(),
  username: z.string().optional(),
  password: z.string().optional(),
  topicPrefix: z.string().default('evsed'),
  homeAssistant: z.boolean().default(true),
  commands: z.boolean().default(false),
});
export type MqttConfig = z.infer<typeof mqttConfigSchema>;
