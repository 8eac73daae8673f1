import { z } from 'zod';
import { intBetween, nonEmptyString, oneOf } from './zod-helpers.js';
import { LIGHT_COLORS, LIGHT_MODES, SOUNDS, type LightPattern, type Sound } from '../domain/signals.js';
import type { ConnectorStatus } from '../domain/types.js';

/**
 * `signals:` (issue 16): the status light and buzzer at the station, and which pattern and sound
 * stands for what. Wiring, pin table and resistor values: hardware/signals.md.
 */

const bcm = intBetween(0, 27);

const patternSchema = z.strictObject({
  mode: oneOf(LIGHT_MODES),
  color: oneOf(LIGHT_COLORS).default('white'),
  /** One blink or pulse cycle. */
  periodMs: intBetween(100, 10_000).default(1000),
});

/** The states the light shows (OCPP connector status names) and the two card answers. */
export const SIGNAL_STATES = ['Available', 'Preparing', 'Charging', 'SuspendedEV', 'SuspendedEVSE', 'Finishing', 'Reserved', 'Unavailable', 'Faulted'] as const satisfies readonly ConnectorStatus[];
export type SignalEvent = 'accepted' | 'refused';

/** The defaults: green is free, blue is charging, red is a fault; a card answer blinks fast over it. */
export const DEFAULT_PATTERNS: Record<ConnectorStatus | SignalEvent, LightPattern> = {
  Available: { mode: 'on', color: 'green', periodMs: 1000 },
  Preparing: { mode: 'blink', color: 'cyan', periodMs: 1000 },
  Charging: { mode: 'pulse', color: 'blue', periodMs: 2000 },
  SuspendedEV: { mode: 'on', color: 'blue', periodMs: 1000 },
  SuspendedEVSE: { mode: 'on', color: 'yellow', periodMs: 1000 },
  Finishing: { mode: 'blink', color: 'green', periodMs: 2000 },
  Reserved: { mode: 'on', color: 'magenta', periodMs: 1000 },
  Unavailable: { mode: 'pulse', color: 'yellow', periodMs: 4000 },
  Faulted: { mode: 'blink', color: 'red', periodMs: 500 },
  accepted: { mode: 'blink', color: 'green', periodMs: 200 },
  refused: { mode: 'blink', color: 'red', periodMs: 100 },
};

export const DEFAULT_SOUNDS: Record<SignalEvent, Sound> = { accepted: 'beep', refused: 'double' };

const lightSchema = z.discriminatedUnion('driver', [
  z.strictObject({ driver: z.literal('none') }),
  z.strictObject({ driver: z.literal('sim') }),
  z.strictObject({
    driver: z.literal('gpio'),
    /** One LED (any colour lights it), or the channels of an RGB LED. */
    pin: bcm.optional(),
    red: bcm.optional(),
    green: bcm.optional(),
    blue: bcm.optional(),
    /** The LED lights with its pin low (wired from 3.3 V through the resistor to the pin). */
    activeLow: z.boolean().default(false),
  }),
], { error: 'driver must be one of gpio | sim | none' });

const buzzerSchema = z.discriminatedUnion('driver', [
  z.strictObject({ driver: z.literal('none') }),
  z.strictObject({ driver: z.literal('sim') }),
  z.strictObject({ driver: z.literal('gpio'), pin: bcm, activeLow: z.boolean().default(false) }),
], { error: 'driver must be one of gpio | sim | none' });

const patternsSchema = z.strictObject(Object.fromEntries(Object.keys(DEFAULT_PATTERNS).map((k) => [k, patternSchema.optional()])) as Record<ConnectorStatus | SignalEvent, z.ZodOptional<typeof patternSchema>>);

export const signalsConfigSchema = z.strictObject({
  /** The connector whose state the light shows (default: the first). */
  connector: intBetween(1, 8).optional(),
  /** Filesystem root of /sys (tests point it at a fake tree). */
  root: nonEmptyString('a directory path').default('/'),
  light: lightSchema.default({ driver: 'none' }),
  buzzer: buzzerSchema.default({ driver: 'none' }),
  /** Per state (Available ... Faulted) and card answer (accepted, refused): overrides of the defaults. */
  patterns: patternsSchema.default({}),
  sounds: z.strictObject({ accepted: oneOf(SOUNDS).default(DEFAULT_SOUNDS.accepted), refused: oneOf(SOUNDS).default(DEFAULT_SOUNDS.refused) }).default(DEFAULT_SOUNDS),
  /** How long a card answer (accepted, refused) shows before the light returns to the state's pattern. */
  feedbackMs: intBetween(300, 10_000).default(2000),
});
export type SignalsConfig = z.infer<typeof signalsConfigSchema>;

/** The pattern for each state and card answer: the defaults with the config's overrides. */
export function signalPatterns(cfg: SignalsConfig): Record<ConnectorStatus | SignalEvent, LightPattern> {
  const out = { ...DEFAULT_PATTERNS };
  for (const [k, v] of Object.entries(cfg.patterns)) if (v) out[k as ConnectorStatus | SignalEvent] = v;
  return out;
}

/** Cross-checks against the rest of the config: the connector exists, no pin used twice. */
export function signalsIssues(cfg: { signals?: SignalsConfig; connectors: { id: number; hardware: { driver: string } }[] }): { path: (string | number)[]; message: string; input: unknown }[] {
  const s = cfg.signals;
  if (!s) return [];
  const issues: { path: (string | number)[]; message: string; input: unknown }[] = [];
  if (s.connector !== undefined && !cfg.connectors.some((c) => c.id === s.connector)) {
    issues.push({ path: ['signals', 'connector'], input: s.connector, message: `no connector ${s.connector} (connectors: ${cfg.connectors.map((c) => c.id).join(', ')}): name one of them or leave it out for the first` });
  }
  if (s.light.driver === 'gpio') {
    const l = s.light;
    if (l.pin === undefined && l.red === undefined && l.green === undefined && l.blue === undefined) {
      issues.push({ path: ['signals', 'light'], input: l, message: 'a gpio light needs its pin: pin for one LED, or red/green/blue for an RGB LED' });
    }
    if (l.pin !== undefined && (l.red !== undefined || l.green !== undefined || l.blue !== undefined)) {
      issues.push({ path: ['signals', 'light', 'pin'], input: l.pin, message: 'give pin (one LED) or red/green/blue (RGB LED), not both' });
    }
  }
  const pins = new Map<number, string>();
  const use = (bcmPin: number | undefined, path: (string | number)[]) => {
    if (bcmPin === undefined) return;
    const first = pins.get(bcmPin);
    if (first) issues.push({ path, input: bcmPin, message: `GPIO${bcmPin} is already ${first}: give each signal its own pin` });
    else pins.set(bcmPin, path.join('.'));
  };
  if (s.light.driver === 'gpio') for (const k of ['pin', 'red', 'green', 'blue'] as const) use(s.light[k], ['signals', 'light', k]);
  if (s.buzzer.driver === 'gpio') use(s.buzzer.pin, ['signals', 'buzzer', 'pin']);
  return issues;
}
