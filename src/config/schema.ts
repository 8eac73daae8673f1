import { z } from 'zod';
import { intBetween, nonEmptyString, numberBetween, oneOf } from './zod-helpers.js';
import { apiConfigSchema } from './api.js';
import { simHardwareSchema } from './sim.js';
import { gpioHardwareSchema, interlockToleranceMs } from './gpio.js';
import { meterConfigSchema } from './meter.js';
import { ocppConfigSchema } from './ocpp.js';
import { mqttConfigSchema } from './mqtt.js';
import { tariffConfigSchema } from './tariff.js';
import { MAX_ENERGY_TARGET_WH } from '../domain/charging.js';
import { idTagKey } from '../domain/tags.js';

/**
 * The station config file. Key names are the public contract with installers: rename nothing,
 * add keys with defaults. Every object is strict: a typo is an error, never silently ignored.
 */

const stationSchema = z.strictObject({
  id: nonEmptyString('the charge point identity, e.g. CP-001').regex(/^[A-Za-z0-9._:-]{1,48}$/, {
    error: 'must be 1-48 characters of letters, digits, . _ : - (it becomes the last path segment of the OCPP URL)',
  }),
  vendor: nonEmptyString().max(20, { error: 'must be at most 20 characters (OCPP chargePointVendor)' }),
  model: nonEmptyString().max(20, { error: 'must be at most 20 characters (OCPP chargePointModel)' }),
  serialNumber: z.string().max(25, { error: 'must be at most 25 characters (OCPP chargePointSerialNumber)' }).optional(),
  firmwareVersion: z.string().max(50).optional(),
});

const storageSchema = z.strictObject({
  dir: nonEmptyString('a directory path, e.g. ./data or /var/lib/evsed'),
  /** Meter samples kept per session (for curves, time-of-use and recovery), seconds between them. */
  sampleIntervalS: intBetween(1, 3600).default(10),
  /** Samples are committed in batches to spare the SD card; start/stop are always committed at once. */
  flushIntervalS: intBetween(1, 3600).default(60),
});

const tagSchema = z.strictObject({
  idTag: z.string().min(1, { error: 'must be the tag id printed by the reader' }).max(20, { error: 'must be at most 20 characters (OCPP IdToken)' }),
  name: z.string().max(80).optional(),
  enabled: z.boolean().default(true),
});

const authSchema = z.strictObject({
  mode: oneOf(['free', 'local', 'ocpp'] as const),
  /** Tags accepted in `local` mode (and names shown in reports in any mode). */
  tags: z.array(tagSchema).default([]),
  /** The idTag recorded for sessions started in `free` mode. */
  freeIdTag: z.string().max(20).default('FREE'),
});

const hardwareSchema = z.discriminatedUnion('driver', [simHardwareSchema, gpioHardwareSchema], {
  error: 'driver must be one of sim | gpio',
});
type HardwareConfig = z.infer<typeof hardwareSchema>;

const connectorSchema = z.strictObject({
  id: intBetween(1, 8),
  maxCurrentA: intBetween(6, 80),
  phases: z.literal([1, 3], { error: 'must be 1 or 3' }),
  hardware: hardwareSchema,
  meter: meterConfigSchema,
  /** After the offer is withdrawn, how long to wait for the EV to go to B before opening under load (IEC: 6 s). */
  stopTimeoutS: numberBetween(1, 20).default(6),
  /**
   * Default energy target of every session on this connector (Wh), for the time to finish. The API
   * or MQTT can change or remove it per session. Absent = no default target.
   */
  energyTargetWh: intBetween(1, MAX_ENERGY_TARGET_WH).optional(),
});
export type ConnectorConfig = z.infer<typeof connectorSchema>;

const logSchema = z.strictObject({
  level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const).default('info'),
  /** pretty = human-readable lines; json = one JSON object per line (journald). auto = pretty on a terminal. */
  format: oneOf(['auto', 'pretty', 'json'] as const).default('auto'),
});

/** The stall detector's timer period (src/hal/stall-detector.ts): a stall of L ms shows as a lag of at least L - this. */
export const STALL_DETECTOR_INTERVAL_MS = 20;
/** supervision.stallThresholdMs when not set and no connector has a heartbeat interlock. */
export const DEFAULT_STALL_THRESHOLD_MS = 250;

const supervisionSchema = z.strictObject({
  /**
   * An event-loop stall longer than this drives every output safe and latches a 'stall' fault.
   * Default 250 ms; with a gpio connector whose interlock tolerates T ms of silent heartbeat
   * (interlockMs - 2 x heartbeatMs, 160 ms by default) it must be below T - 20 (the detector's
   * period), so every stall that can drop the contactor is also reported; the default is then
   * T - 40 (120 ms).
   */
  stallThresholdMs: intBetween(50, 10_000).optional(),
});

/** supervision.stallThresholdMs as given, else its default (see supervisionSchema). */
function effectiveStallThresholdMs(cfg: { supervision: { stallThresholdMs?: number }; connectors: readonly { hardware: HardwareConfig }[] }): number {
  if (cfg.supervision.stallThresholdMs !== undefined) return cfg.supervision.stallThresholdMs;
  const tolerances = interlockTolerances(cfg.connectors).map((t) => t.ms);
  if (!tolerances.length) return DEFAULT_STALL_THRESHOLD_MS;
  return Math.max(50, Math.min(...tolerances) - 2 * STALL_DETECTOR_INTERVAL_MS);
}

/** The gpio connectors' interlock tolerances (ms), for those with a heartbeat. */
function interlockTolerances(connectors: readonly { hardware: HardwareConfig }[]): { index: number; ms: number }[] {
  const out: { index: number; ms: number }[] = [];
  connectors.forEach(({ hardware: hw }, index) => {
    if (hw.driver === 'gpio' && hw.gpio.heartbeat !== undefined) out.push({ index, ms: interlockToleranceMs(hw) });
  });
  return out;
}

const clockSchema = z.strictObject({
  /** auto: trust the system clock once systemd-timesyncd has synchronised; always/never to override. */
  trust: oneOf(['auto', 'always', 'never'] as const).default('auto'),
});

export const configSchema = z
  .strictObject({
    station: stationSchema,
    storage: storageSchema,
    auth: authSchema,
    api: apiConfigSchema.prefault({ listen: '127.0.0.1:8080' }),
    connectors: z.array(connectorSchema).min(1, { error: 'must list at least one connector' }),
    log: logSchema.default({ level: 'info', format: 'auto' }),
    clock: clockSchema.default({ trust: 'auto' }),
    supervision: supervisionSchema.default({}),
    ocpp: ocppConfigSchema.optional(),
    mqtt: mqttConfigSchema.optional(),
    tariff: tariffConfigSchema.optional(),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<number>();
    cfg.connectors.forEach((c, i) => {
      if (seen.has(c.id)) {
        ctx.addIssue({ code: 'custom', path: ['connectors', i, 'id'], message: `duplicate connector id ${c.id}: ids must be unique`, input: c.id });
      }
      seen.add(c.id);
    });
    // Tags match case-insensitively (OCPP IdToken), so two spellings of one tag are one tag twice.
    const tags = new Map<string, number>();
    cfg.auth.tags.forEach((t, i) => {
      const first = tags.get(idTagKey(t.idTag));
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'tags', i, 'idTag'], message: `duplicate tag ${t.idTag} (already auth.tags[${first}]): list each tag once`, input: t.idTag });
      } else tags.set(idTagKey(t.idTag), i);
    });
    if (cfg.auth.mode === 'local' && cfg.auth.tags.filter((t) => t.enabled).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'tags'], message: 'auth.mode local needs at least one enabled tag (or use mode free)' });
    }
    if (cfg.auth.mode === 'ocpp' && !cfg.ocpp) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'mode'], message: 'auth.mode ocpp needs an ocpp section (or use mode local / free)' });
    }
    // Every stall long enough for an interlock to drop its contactor must be reported as a stall.
    const stall = effectiveStallThresholdMs(cfg);
    const tooLong = interlockTolerances(cfg.connectors).find((t) => stall >= t.ms - STALL_DETECTOR_INTERVAL_MS);
    if (tooLong) {
      ctx.addIssue({
        code: 'custom',
        path: ['supervision', 'stallThresholdMs'],
        input: stall,
        message: `must be below ${tooLong.ms - STALL_DETECTOR_INTERVAL_MS} ms: connector ${cfg.connectors[tooLong.index]!.id}'s interlock drops the contactor after ${tooLong.ms} ms without heartbeat (interlockMs - 2 x heartbeatMs), and the stall detector sees a stall up to ${STALL_DETECTOR_INTERVAL_MS} ms late`,
      });
    }
  })
  .transform((cfg) => ({ ...cfg, supervision: { ...cfg.supervision, stallThresholdMs: effectiveStallThresholdMs(cfg) } }));

export type Config = z.infer<typeof configSchema>;
