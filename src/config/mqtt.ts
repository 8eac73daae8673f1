import { z } from 'zod';
import { crossKeys } from './cross-keys.js';
import { nonEmptyString, numberBetween } from './zod-helpers.js';

const URL_HINT = 'must be a broker URL such as mqtt://192.168.1.10:1883, mqtts://broker.example:8883 or ws://host:9001/mqtt';

const brokerUrl = z.string({ error: URL_HINT }).refine((s) => {
  try {
    const u = new URL(s);
    return ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:'].includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}, { error: URL_HINT });

/** One or more topic levels without wildcards, empty levels or leading/trailing slash: "evsed", "home/garage/evsed". */
const TOPIC_LEVELS = /^[^/+#\s]+(\/[^/+#\s]+)*$/;

const topicPrefix = z
  .string({ error: 'must be a topic prefix such as evsed or home/garage/evsed' })
  .max(100, { error: 'must be at most 100 characters' })
  .regex(TOPIC_LEVELS, { error: 'must be topic levels separated by / without spaces, +, #, empty levels or a leading/trailing /, e.g. evsed or home/garage/evsed' });

const tlsSchema = z
  .strictObject({
    /** PEM file with the CA(s) that signed the broker's certificate (default: the system's CAs). */
    caFile: nonEmptyString('a path to a PEM file').optional(),
    /** Client certificate and key (PEM) for brokers that authenticate clients by certificate. */
    certFile: nonEmptyString('a path to a PEM file').optional(),
    keyFile: nonEmptyString('a path to a PEM file').optional(),
    /** false accepts any broker certificate: only for testing, it defeats the point of TLS. */
    rejectUnauthorized: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .check(crossKeys((t, ctx) => {
    if ((t.certFile === undefined) !== (t.keyFile === undefined)) {
      ctx.addIssue({ code: 'custom', path: [t.certFile === undefined ? 'certFile' : 'keyFile'], message: 'certFile and keyFile go together: give both or neither' });
    }
  }));

/** The `mqtt` section (issue 4). Absent = no MQTT. */
export const mqttConfigSchema = z
  .strictObject({
    url: brokerUrl,
    username: z.string({ error: 'must be a text' }).optional(),
    password: z.string({ error: 'must be a text' }).optional(),
    /** Every topic starts with <topicPrefix>/<station.id>/. */
    topicPrefix: topicPrefix.default('evsed'),
    /** Publish Home Assistant MQTT discovery (one device per station). */
    homeAssistant: z.boolean({ error: 'must be true or false' }).default(true),
    /** Home Assistant's discovery prefix (its MQTT integration setting; almost always homeassistant). */
    discoveryPrefix: topicPrefix.default('homeassistant'),
    /** Accept commands (current limit, pause, resume, stop) over MQTT. Off by default: anyone who can publish to the broker could use them. */
    commands: z.boolean({ error: 'must be true or false' }).default(false),
    /** Default evsed-<station.id>. Must be unique on the broker: a second client with the same id disconnects the first. */
    clientId: z
      .string({ error: 'must be a text' })
      .regex(/^[A-Za-z0-9._:-]{1,64}$/, { error: 'must be 1-64 characters of letters, digits, . _ : -' })
      .optional(),
    /** Each value is published at most once per this many seconds; changes in between are coalesced (the last one is sent). */
    publishIntervalS: numberBetween(0.2, 3600).default(1),
    tls: tlsSchema.optional(),
  })
  .check(crossKeys((m, ctx) => {
    if (m.password !== undefined && m.username === undefined) {
      // Reported on the section, not on password: the error line must not echo the password.
      ctx.addIssue({ code: 'custom', path: [], message: 'password is set but username is not: give both', input: m });
    }
    if (m.tls && !/^(mqtts|ssl|tls|wss):/i.test(m.url)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls settings need a TLS URL (mqtts://host:8883 or wss://...)' });
    }
  }));
export type MqttConfig = z.infer<typeof mqttConfigSchema>;
