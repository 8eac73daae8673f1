import { z } from 'zod';
import { crossKeys } from './cross-keys.js';
import { intBetween, nonEmptyString, oneOf } from './zod-helpers.js';
import { BAUD_RATES } from './meter.js';
import { hardwareModelNames } from './hardware-data.js';

/**
 * `hardware.driver: pilot-board`: an EVSE controller board that does the pilot, the PWM and the
 * contactor on its own microcontroller, driven over Modbus RTU (hardware/pilot-boards/<model>.json,
 * docs/install-pi.md). Serial settings, unit id and the pause between requests default from the
 * model file (applied by the driver, so the file stays the single source).
 */

export const PILOT_BOARD_MODELS = hardwareModelNames('pilot-boards');
const modelEnum = PILOT_BOARD_MODELS.length ? (PILOT_BOARD_MODELS as [string, ...string[]]) : (['evse-din'] as [string, ...string[]]);

export const DEFAULT_PILOT_BOARD_POLL_MS = 250;
export const DEFAULT_PILOT_BOARD_TIMEOUT_MS = 300;
/** The longest a silent board may go unnoticed (offlineAfterPolls x (pollMs + timeoutMs)). */
export const MAX_PILOT_BOARD_SILENCE_MS = 10_000;

export const pilotBoardHardwareSchema = z
  .strictObject({
    driver: z.literal('pilot-board'),
    /** A register map in hardware/pilot-boards/. */
    model: oneOf(modelEnum),
    /** The RS-485 (or the board's TTL UART) adapter, e.g. /dev/ttyUSB0 or /dev/serial/by-id/... */
    path: nonEmptyString('a serial device path, e.g. /dev/ttyUSB0'),
    baudRate: z.literal([...BAUD_RATES], { error: `must be one of ${BAUD_RATES.join(' | ')}` }).optional(),
    parity: oneOf(['none', 'even', 'odd'] as const).optional(),
    stopBits: z.union([z.literal(1), z.literal(2)], { error: 'must be 1 or 2' }).optional(),
    unitId: intBetween(1, 247).optional(),
    /** The board's registers are read every pollMs: its pilot state reaches evsed at most this late (plus one request). */
    pollMs: intBetween(50, 5000).default(DEFAULT_PILOT_BOARD_POLL_MS),
    /** Answer timeout per request. */
    timeoutMs: intBetween(20, 5000).default(DEFAULT_PILOT_BOARD_TIMEOUT_MS),
    /** Silence between two requests to the board; default from the model file. */
    requestGapMs: intBetween(0, 1000).optional(),
    /** Polls in a row without an answer before the board counts as lost (fault 'pilot', charging stopped). */
    offlineAfterPolls: intBetween(1, 20).default(3),
  })
  .check(crossKeys((cfg, ctx) => {
    // Out-of-range values are reported by their own keys; this sum would only repeat them.
    if (cfg.pollMs > 5000 || cfg.timeoutMs > 5000 || cfg.offlineAfterPolls > 20) return;
    const silence = cfg.offlineAfterPolls * (cfg.pollMs + cfg.timeoutMs);
    if (silence > MAX_PILOT_BOARD_SILENCE_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['offlineAfterPolls'],
        input: cfg.offlineAfterPolls,
        message: `a silent board would be noticed only after ${silence} ms (offlineAfterPolls x (pollMs + timeoutMs)): lower offlineAfterPolls, pollMs or timeoutMs to stay within ${MAX_PILOT_BOARD_SILENCE_MS} ms`,
      });
    }
  }));
export type PilotBoardHardwareConfig = z.infer<typeof pilotBoardHardwareSchema>;

/**
 * Two pilot boards on one line must have different unit ids (several boards share an RS-485 bus,
 * e.g. unit 1 and 2). The default unit id comes from the model file, so only ids given in the
 * config can be compared here; the path is compared as written.
 */
export function duplicatePilotBoardUnits(connectors: readonly { hardware: { driver: string } }[]): { index: number; first: number; unitId: number; path: string }[] {
  const seen = new Map<string, number>();
  const out: { index: number; first: number; unitId: number; path: string }[] = [];
  connectors.forEach(({ hardware }, index) => {
    if (hardware.driver !== 'pilot-board') return;
    const hw = hardware as PilotBoardHardwareConfig;
    if (hw.unitId === undefined) return;
    const key = `${hw.path}\u0000${hw.unitId}`;
    const first = seen.get(key);
    if (first !== undefined) out.push({ index, first, unitId: hw.unitId, path: hw.path });
    else seen.set(key, index);
  });
  return out;
}
