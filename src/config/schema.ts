import { z } from 'zod';
import { intBetween, nonEmptyString, numberBetween, oneOf } from './zod-helpers.js';
import { apiConfigSchema } from './api.js';
import { simHardwareSchema } from './sim.js';
import { gpioHardwareSchema } from './gpio.js';
import { duplicatePilotBoardUnits, pilotBoardHardwareSchema } from './pilot-board.js';
import { meterConfigSchema } from './meter.js';
import { ocppConfigSchema } from './ocpp.js';
import { mqttConfigSchema } from './mqtt.js';
import { tariffConfigSchema } from './tariff.js';
import { pvConfigSchema } from './pv.js';
import { siteConfigSchema } from './site.js';
import { DEFAULT_SHARING, PHASE_ROTATIONS, sharingConfigSchema } from './sharing.js';
import { MAX_ENERGY_TARGET_WH } from '../domain/charging.js';
import { idTagKey } from '../domain/tags.js';
import { chargingTimersSchema, sessionLimitsSchema } from './timers.js';

import { crossKeys, ifReadable } from './cross-keys.js';
import { isTimeZone } from '../util/time-zone.js';
import { readerConfigSchema, readerIssues } from './readers.js';
import { signalsConfigSchema, signalsIssues } from './signals.js';
import { DEFAULT_UPDATE, updateConfigSchema } from './update.js';

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
  /** IANA zone of the charging timers' local times (e.g. Europe/Berlin); absent = the system's. */
  timeZone: z.string().refine(isTimeZone, { error: 'must be an IANA time zone name such as Europe/Berlin or UTC (see timedatectl list-timezones)' }).optional(),
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
  enabled: z.boolean({ error: 'must be true or false' }).default(true),
});

const authSchema = z.strictObject({
  mode: oneOf(['free', 'local', 'ocpp'] as const),
  /** Tags accepted in `local` mode (and names shown in reports in any mode). */
  tags: z.array(tagSchema).default([]),
  /** The idTag recorded for sessions started in `free` mode. */
  freeIdTag: z.string().max(20).default('FREE'),
});

const hardwareSchema = z.discriminatedUnion('driver', [simHardwareSchema, gpioHardwareSchema, pilotBoardHardwareSchema], {
  error: 'driver must be one of sim | gpio | pilot-board',
});
type HardwareConfig = z.infer<typeof hardwareSchema>;

/** IEC 61851-1 Table A.6 seq. 10.2: the EVSE opens under load at the latest 6 s after withdrawing the offer. */
export const MAX_STOP_TIMEOUT_S = 6;

/** 1p/3p switching (only with a phase relay: hardware.phaseRelay). */
const phaseSwitchSchema = z.strictObject({
  /**
   * The contactor open and CP off this long before the relay changes and the offer returns
   * (EVerest: 10 s; Tinkerforge 60 s; some EVs need 45 s to notice a new supply).
   */
  pauseS: z
    .number({ error: 'must be a number of seconds between 5 and 300' })
    .int({ error: 'must be a whole number of seconds between 5 and 300' })
    .min(5, { error: 'must be at least 5 s: with CP off for less, an EV may not notice the new supply (EVerest waits 10 s)' })
    .max(300, { error: 'must be at most 300 s' })
    .default(10),
  /** Switches allowed per session; some EVs give up after repeated interruptions. */
  maxPerSession: intBetween(1, 100).default(4),
});

const connectorSchema = z.strictObject({
  id: intBetween(1, 8),
  maxCurrentA: intBetween(6, 80),
  phases: z.literal([1, 3], { error: 'must be 1 or 3' }),
  hardware: hardwareSchema,
  meter: meterConfigSchema,
  /** After the offer is withdrawn, how long to wait for the EV to go to B before opening under load (IEC: 6 s). */
  stopTimeoutS: z
    .number({ error: 'must be a number of seconds between 1 and 6' })
    .min(1, { error: 'must be between 1 and 6 s: the EV needs a moment to stop drawing before the contactor opens' })
    .max(MAX_STOP_TIMEOUT_S, { error: `must be between 1 and ${MAX_STOP_TIMEOUT_S} s: after withdrawing the offer the station opens under load at the latest after ${MAX_STOP_TIMEOUT_S} s (IEC 61851-1 Table A.6 seq. 10.2); use ${MAX_STOP_TIMEOUT_S} or less` })
    .default(MAX_STOP_TIMEOUT_S),
  /**
   * Default energy target of every session on this connector (Wh), for the time to finish. The API
   * or MQTT can change or remove it per session. Absent = no default target.
   */
  energyTargetWh: intBetween(1, MAX_ENERGY_TARGET_WH).optional(),
  /** Which site phase this connector's L1 is wired to (station budgets are per site phase). */
  phaseRotation: oneOf(PHASE_ROTATIONS).default('L1L2L3'),
  /** With sharing.mode priority, higher is served first; in fair mode it only decides who is suspended first (lower). */
  priority: intBetween(-100, 100).default(0),
  phaseSwitch: phaseSwitchSchema.default({ pauseS: 10, maxPerSession: 4 }),
  /** true: the energy target also ends the session when reached (a limit); false: it only feeds the time to finish. The API/MQTT change it per session. */
  energyTargetStops: z.boolean({ error: 'must be true or false' }).default(false),
  /** Stop conditions of every session on this connector; see config/timers.ts. */
  sessionLimits: sessionLimitsSchema.optional(),
  /** This connector's own card reader (shorthand for an entry of `readers:` serving it). */
  reader: readerConfigSchema.optional(),
});
export type ConnectorConfig = z.infer<typeof connectorSchema>;

const logSchema = z.strictObject({
  level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const).default('info'),
  /** pretty = human-readable lines; json = one JSON object per line (journald). auto = pretty on a terminal. */
  format: oneOf(['auto', 'pretty', 'json'] as const).default('auto'),
  /**
   * A log file besides stderr (JSON lines), for diagnostics (GetDiagnostics) where the daemon does
   * not run under systemd; under systemd the journal is read instead. Rotated once it passes
   * fileMaxMB: one previous file (`<file>.1`) is kept.
   */
  file: nonEmptyString('a path for the log file, e.g. /var/lib/evsed/evsed.log').optional(),
  fileMaxMB: intBetween(1, 1000).default(10),
});

/** The stall detector's timer period (src/hal/stall-detector.ts): a stall of L ms shows as a lag of at least L - this. */
export const STALL_DETECTOR_INTERVAL_MS = 20;
/** supervision.stallThresholdMs when not set. */
export const DEFAULT_STALL_THRESHOLD_MS = 250;

const supervisionSchema = z.strictObject({
  /**
   * A main event-loop stall longer than this is logged; on boards whose safety decisions run on
   * the main loop (the simulator) it also drives the outputs safe and latches 'stall'. A gpio
   * board's safety core and heartbeat run in their own thread (src/hal/safety-core), so a stalled
   * main loop does not stop its charging.
   */
  stallThresholdMs: intBetween(50, 10_000).default(DEFAULT_STALL_THRESHOLD_MS),
});

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
    log: logSchema.default({ level: 'info', format: 'auto', fileMaxMB: 10 }),
    clock: clockSchema.default({ trust: 'auto' }),
    supervision: supervisionSchema.default({ stallThresholdMs: DEFAULT_STALL_THRESHOLD_MS }),
    ocpp: ocppConfigSchema.optional(),
    mqtt: mqttConfigSchema.optional(),
    tariff: tariffConfigSchema.optional(),
    pv: pvConfigSchema.optional(),
    site: siteConfigSchema.optional(),
    sharing: sharingConfigSchema.default(DEFAULT_SHARING),
    /** Charging windows (local time of station.timeZone); outside every window that applies to a connector it does not charge. */
    timers: chargingTimersSchema.optional(),
    /** Card readers at the station, each serving one connector (src/config/readers.ts). */
    readers: z.array(readerConfigSchema).default([]),
    /** The status light and buzzer (src/config/signals.ts). */
    signals: signalsConfigSchema.optional(),
    /** Releases and updates on the device (src/config/update.ts). */
    update: updateConfigSchema.default(DEFAULT_UPDATE),
  })
  // Each rule runs even while other keys are wrong (crossKeys), so its problem shows in the same run.
  .check(
    crossKeys((cfg, ctx) => {
      cfg.connectors.forEach((c, i) => ifReadable(() => {
        if ((c.hardware.driver === 'sim' || c.hardware.driver === 'gpio') && c.hardware.phaseRelay && c.phases !== 3) {
          ctx.addIssue({ code: 'custom', path: ['connectors', i, 'hardware', 'phaseRelay'], input: c.hardware.phaseRelay, message: 'needs connectors[].phases: 3 (a phase relay switches a 3-phase supply down to one phase): set phases to 3 or remove phaseRelay' });
        }
      }));
    }),
    crossKeys((cfg, ctx) => {
      const seen = new Set<number>();
      cfg.connectors.forEach((c, i) => ifReadable(() => {
        if (seen.has(c.id)) {
          ctx.addIssue({ code: 'custom', path: ['connectors', i, 'id'], message: `duplicate connector id ${c.id}: ids must be unique`, input: c.id });
        }
        seen.add(c.id);
      }));
    }),
    crossKeys((cfg, ctx) => {
      for (const d of duplicatePilotBoardUnits(cfg.connectors)) {
        ctx.addIssue({ code: 'custom', path: ['connectors', d.index, 'hardware', 'unitId'], input: d.unitId, message: `unit ${d.unitId} on ${d.path} is already connectors[${d.first}]'s pilot board: give each board on one line its own unit id` });
      }
    }),
    crossKeys((cfg, ctx) => {
      const ids = cfg.connectors.map((c) => c.id);
      cfg.timers?.forEach((t, i) => ifReadable(() => {
        (t.connectors ?? []).forEach((id, j) => {
          if (!ids.includes(id)) ctx.addIssue({ code: 'custom', path: ['timers', i, 'connectors', j], input: id, message: `no connector ${id}: use the id of one of connectors[] (${ids.join(', ')})` });
        });
        const max = Math.min(...cfg.connectors.filter((c) => !t.connectors || t.connectors.includes(c.id)).map((c) => c.maxCurrentA));
        if (t.maxA !== undefined && t.maxA > max) ctx.addIssue({ code: 'custom', path: ['timers', i, 'maxA'], input: t.maxA, message: `must be at most ${max} A, the connectors' maxCurrentA (or leave maxA out)` });
      }));
    }),
    // Tags match case-insensitively (OCPP IdToken), so two spellings of one tag are one tag twice.
    crossKeys((cfg, ctx) => {
      const tags = new Map<string, number>();
      cfg.auth.tags.forEach((t, i) => ifReadable(() => {
        const first = tags.get(idTagKey(t.idTag));
        if (first !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['auth', 'tags', i, 'idTag'], message: `duplicate tag ${t.idTag} (already auth.tags[${first}]): list each tag once`, input: t.idTag });
        } else tags.set(idTagKey(t.idTag), i);
      }));
    }),
    crossKeys((cfg, ctx) => {
      for (const issue of readerIssues(cfg)) ctx.addIssue({ code: 'custom', ...issue });
    }),
    crossKeys((cfg, ctx) => {
      if (cfg.pv?.source === 'site' && !cfg.site) {
        ctx.addIssue({ code: 'custom', path: ['pv', 'source'], message: 'source site reads the site section\'s grid meter: add a site section (fuseA, fallbackA, gridMeter) or use source: { mqtt: { topic: ... } }' });
      }
      if (cfg.pv && cfg.pv.source !== 'site' && !cfg.pv.source.mqtt.url && !cfg.mqtt) {
        ctx.addIssue({ code: 'custom', path: ['pv', 'source', 'mqtt', 'url'], message: 'no broker for the grid power topic: give pv.source.mqtt.url (e.g. mqtt://192.168.1.10:1883) or add an mqtt section' });
      }
    }),
    crossKeys((cfg, ctx) => {
      for (const issue of signalsIssues(cfg)) ctx.addIssue({ code: 'custom', ...issue });
    }),
    crossKeys((cfg, ctx) => {
      if (cfg.auth.mode === 'ocpp' && !cfg.ocpp) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'mode'], message: 'auth.mode ocpp needs an ocpp section (or use mode local / free)' });
      }
    }),
  );

export type Config = z.infer<typeof configSchema>;
