import { z } from 'zod';
import { intBetween, nonEmptyString, numberBetween, oneOf } from './zod-helpers.js';

const URL_HINT = 'must be a broker URL such as mqtt://192.168.1.10:1883 (or leave it out to use the mqtt section\'s broker)';

const brokerUrl = z.string({ error: URL_HINT }).refine((s) => {
  try {
    const u = new URL(s);
    return ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:'].includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}, { error: URL_HINT });

/** A dotted path into a JSON payload: "power", "ENERGY.Power", "$.meters[0].w". */
const JSON_PATH = /^(\$\.)?[A-Za-z0-9_-]+(\[\d+\])?(\.[A-Za-z0-9_-]+(\[\d+\])?)*$/;

/** Grid power from an MQTT topic, for installations whose grid meter is read by something else (a smart meter gateway, Tasmota, Home Assistant). */
const mqttPowerSourceSchema = z
  .strictObject({
    /** Default: the mqtt section's broker (and its username, password and TLS settings). */
    url: brokerUrl.optional(),
    username: z.string({ error: 'must be a text' }).optional(),
    password: z.string({ error: 'must be a text' }).optional(),
    topic: nonEmptyString('an MQTT topic such as tele/gridmeter/SENSOR').regex(/^[^+#]+$/, { error: 'must be one topic without wildcards + or #' }),
    /** Where the number is in a JSON payload, e.g. ENERGY.Power; absent = the payload is the number. */
    jsonPath: z.string({ error: 'must be a dotted path such as ENERGY.Power' }).regex(JSON_PATH, { error: 'must be a dotted path such as ENERGY.Power or $.meters[0].w' }).optional(),
    /** The topic reports export as positive (feed-in): evsed wants import positive, export negative. */
    invert: z.boolean({ error: 'must be true or false' }).default(false),
    /** A value older than this counts as none: no surplus is assumed. */
    staleAfterS: intBetween(2, 600).default(30),
  })
  .superRefine((m, ctx) => {
    if (m.password !== undefined && m.username === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'password is set but username is not: give both', input: m });
  });
export type MqttPowerSourceConfig = z.infer<typeof mqttPowerSourceSchema>;

const SOURCE_HINT = 'must say where the grid power comes from: site (the site section\'s grid meter) or { mqtt: { topic: tele/gridmeter/SENSOR, jsonPath: ENERGY.Power } }';
const pvSourceSchema = z.union([z.literal('site'), z.strictObject({ mqtt: mqttPowerSourceSchema }, { error: SOURCE_HINT })], { error: SOURCE_HINT });

/**
 * The `pv` section: PV surplus charging (docs/energy.md "PV surplus charging"). Absent = no PV
 * logic. `mode` is the mode at the first start; a mode chosen later (API, MQTT, dashboard) is kept
 * in the storage directory and wins over it.
 */
export const pvConfigSchema = z
  .strictObject({
    mode: oneOf(['off', 'pv', 'minpv'] as const).default('pv'),
    source: pvSourceSchema,
    /** Nominal voltage per phase for converting the surplus (W) into a current (A). */
    voltageV: numberBetween(100, 260).default(230),
    /** Start (and keep charging) this much below the minimum power, taking it from the grid (W). */
    allowanceW: intBetween(0, 5000).default(0),
    /** Default: the minimum power of the phases to start on (1.38 kW 1p, 4.14 kW 3p) minus allowanceW. */
    startThresholdW: intBetween(0, 50_000).optional(),
    /** Default: the minimum power of the fewest phases available minus allowanceW. */
    stopThresholdW: intBetween(0, 50_000).optional(),
    startDelayS: intBetween(0, 3600).default(60),
    stopDelayS: intBetween(0, 3600).default(180),
    /** auto: 3p → 1p when the surplus is below the 3-phase minimum, back when above it plus phaseHysteresisW (needs a phase relay). */
    phaseSwitching: oneOf(['auto', 'off'] as const).default('auto'),
    phaseHysteresisW: intBetween(0, 10_000).default(500),
    phaseUpDelayS: intBetween(0, 3600).default(120),
    phaseDownDelayS: intBetween(0, 3600).default(180),
    minSwitchIntervalS: intBetween(0, 86_400).default(600),
    /** Some EVs give up after repeated interruptions (EVerest's switch_3ph1ph_max_nr_of_switches_per_session). */
    maxSwitchesPerSession: intBetween(0, 20).default(4),
  })
  .superRefine((p, ctx) => {
    if (p.startThresholdW !== undefined && p.stopThresholdW !== undefined && p.stopThresholdW > p.startThresholdW) {
      ctx.addIssue({ code: 'custom', path: ['stopThresholdW'], message: `must not be above startThresholdW (${p.startThresholdW} W): charging would stop as soon as it started`, input: p.stopThresholdW });
    }
  });
export type PvConfig = z.infer<typeof pvConfigSchema>;
