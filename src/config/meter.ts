import { z } from 'zod';
import { crossKeys } from './cross-keys.js';
import { intBetween, nonEmptyString, numberBetween, oneOf } from './zod-helpers.js';
import { simMeterSchema } from './sim.js';
import { modelNames } from './meter-models.js';

/**
 * `connectors[].meter`. `sim` is the simulated meter; every other model name is a register map
 * file in hardware/meters/. Serial settings and unit id default from that file (applied by the
 * driver factory, so the file stays the single source), so a technician usually writes only
 * model, transport and path (or host/port).
 */

/** Defaults of `connectors[].meter`, shared by the schema and the station (one source, not two numbers). */
export const DEFAULT_POLL_INTERVAL_MS = 1000;
export const DEFAULT_STALE_AFTER_S = 10;
export const DEFAULT_REQUIRED_GRACE_S = 60;

export const BAUD_RATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] as const;
export const METER_TRANSPORTS = ['serial', 'tcp-rtu', 'tcp'] as const;
export type MeterTransport = (typeof METER_TRANSPORTS)[number];

const models = modelNames();
const modelEnum = models.length ? (models as [string, ...string[]]) : (['sdm630'] as [string, ...string[]]);

export const modbusMeterSchema = z
  .strictObject({
    model: oneOf(modelEnum),
    transport: oneOf(METER_TRANSPORTS),
    /** serial: the RS-485 adapter, e.g. /dev/ttyUSB0 or /dev/serial/by-id/... */
    path: nonEmptyString('a serial device path, e.g. /dev/ttyUSB0').optional(),
    baudRate: z.literal([...BAUD_RATES], { error: `must be one of ${BAUD_RATES.join(' | ')}` }).optional(),
    parity: oneOf(['none', 'even', 'odd'] as const).optional(),
    stopBits: z.union([z.literal(1), z.literal(2)], { error: 'must be 1 or 2' }).optional(),
    dataBits: z.union([z.literal(7), z.literal(8)], { error: 'must be 7 or 8' }).optional(),
    /** tcp-rtu (RS-485/Ethernet gateway in transparent mode) and tcp (Modbus TCP). */
    host: nonEmptyString('a host name or IP address').optional(),
    port: intBetween(1, 65535).optional(),
    unitId: intBetween(1, 247).optional(),
    pollIntervalMs: intBetween(100, 60_000).default(DEFAULT_POLL_INTERVAL_MS),
    /** Per-request answer timeout; default: the largest answer's wire time + 250 ms (tcp-rtu: at least 1000 ms; tcp: 1000 ms). */
    timeoutMs: intBetween(20, 10_000).optional(),
    /** Tries per request before the read fails (the poller then backs off). */
    tries: intBetween(1, 10).default(3),
    /** A reading older than this is stale: reported as a fault, never republished as fresh. */
    staleAfterS: numberBetween(1, 3600).default(DEFAULT_STALE_AFTER_S),
    /** Billing-grade installs: stop charging when the meter stays unreadable for requiredGraceS. */
    requiredForCharging: z.boolean({ error: 'must be true or false' }).default(false),
    requiredGraceS: numberBetween(0, 3600).default(DEFAULT_REQUIRED_GRACE_S),
    /** Plausibility bound; default (applied by the station): connector maxCurrentA x phases x 253 V x 1.2. */
    maxPowerW: intBetween(100, 1_000_000).optional(),
    /** Overrides the map's limit for a unit that rejects large reads (some SDM72 need 10). */
    maxRegistersPerRead: intBetween(1, 125).optional(),
    /** Meter or CT mounted backwards: swap import/export and flip power sign. */
    invertedCt: z.boolean({ error: 'must be true or false' }).optional(),
    /**
     * Check the meter's model code and the settings its map assumes before its readings are used
     * (a mismatch is a meter fault). false only for a meter whose code is not known yet.
     */
    selfCheck: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .check(crossKeys((m, ctx) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message, input: (m as Record<string, unknown>)[key] });
    if (m.transport === 'serial') {
      if (!m.path) issue('path', 'is required for transport serial (e.g. /dev/ttyUSB0)');
      for (const k of ['host', 'port'] as const) if (m[k] !== undefined) issue(k, `is for transport tcp-rtu or tcp, not serial (use path)`);
    } else {
      if (!m.host) issue('host', `is required for transport ${m.transport} (the gateway's or meter's address)`);
      if (m.transport === 'tcp-rtu' && m.port === undefined) issue('port', 'is required for transport tcp-rtu (the gateway\'s TCP port for the RS-485 line, often 502, 4196 or 8899)');
      for (const k of ['path', 'baudRate', 'parity', 'stopBits', 'dataBits'] as const) {
        if (m[k] !== undefined) issue(k, `is a serial setting; for transport ${m.transport} set it on the gateway`);
      }
    }
  }));
export type ModbusMeterConfig = z.infer<typeof modbusMeterSchema>;

export const meterConfigSchema = z.discriminatedUnion('model', [simMeterSchema, modbusMeterSchema], {
  error: `must be one of sim | ${models.join(' | ')}`,
});
export type MeterConfig = z.infer<typeof meterConfigSchema>;

export function isModbusMeterConfig(m: MeterConfig): m is ModbusMeterConfig {
  return m.model !== 'sim' && 'transport' in m;
}
