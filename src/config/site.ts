import { z } from 'zod';
import { intBetween, numberBetween } from './zod-helpers.js';
import { modbusMeterSchema } from './meter.js';
import { modelNames } from './meter-models.js';

/**
 * `site:`: the house the station is in, for load management. The main fuse per phase, a safety
 * margin, the grid meter at the house's connection point (any Modbus model in hardware/meters, or
 * `sim`), and the current all EVs together may draw per phase while that meter cannot be read.
 */

/** site.marginA when not set: one ampere below the fuse leaves room for the meter's and the EVs' tolerance. */
export const DEFAULT_SITE_MARGIN_A = 1;

const perPhaseA = (min: number, max: number) =>
  z.union([numberBetween(min, max), z.tuple([numberBetween(min, max), numberBetween(min, max), numberBetween(min, max)], { error: `must be one number of A, or three (L1, L2, L3), each between ${min} and ${max}` })], {
    error: `must be a number of A between ${min} and ${max}, or a list of three (L1, L2, L3)`,
  });

/** A house load step of the simulated grid meter: from `atS` seconds after start, the house draws `houseLoadA`. */
const simStepSchema = z.strictObject({
  atS: numberBetween(0, 86_400 * 7),
  houseLoadA: perPhaseA(-200, 200),
});

/**
 * The simulated grid meter (`hardware.driver: sim` stations): it measures a house load (a base and
 * timed steps, optionally repeating) plus every simulated EV's current on its site phase.
 */
export const simGridMeterSchema = z.strictObject({
  model: z.literal('sim'),
  /** The house's own draw per phase (A); negative = PV export. */
  houseLoadA: perPhaseA(-200, 200).default(2),
  steps: z.array(simStepSchema).max(1000, { error: 'must list at most 1000 steps' }).default([]),
  /** Start the steps again after this many seconds (a daily profile: 86400). Absent: the last step stays. */
  repeatS: numberBetween(1, 86_400 * 7).optional(),
  pollIntervalMs: intBetween(100, 60_000).default(1000),
  staleAfterS: numberBetween(1, 3600).default(10),
});
export type SimGridMeterConfig = z.infer<typeof simGridMeterSchema>;

const gridMeterSchema = z.discriminatedUnion('model', [simGridMeterSchema, modbusMeterSchema], {
  error: `must be one of sim | ${modelNames().join(' | ')}`,
});
export type GridMeterConfig = z.infer<typeof gridMeterSchema>;

export const siteConfigSchema = z
  .strictObject({
    /** The main fuse's rating per phase (A). */
    fuseA: intBetween(6, 1000),
    /** Kept free below the fuse (A per phase): the meter's error and the EVs' tolerance. */
    marginA: numberBetween(0, 100).default(DEFAULT_SITE_MARGIN_A),
    /**
     * What all EVs together may draw per phase while the grid meter cannot be read (stale or
     * failed), A: one number for every phase, or three. 0 suspends charging; 6 per connector keeps
     * every EV at the IEC minimum.
     */
    fallbackA: perPhaseA(0, 1000),
    gridMeter: gridMeterSchema,
  })
  .superRefine((s, ctx) => {
    if (s.marginA >= s.fuseA) {
      ctx.addIssue({ code: 'custom', path: ['marginA'], input: s.marginA, message: `must be below fuseA (${s.fuseA} A): the margin is kept free below the fuse` });
    }
    const fallback = phaseTriple(s.fallbackA);
    fallback.forEach((a, i) => {
      if (a > s.fuseA - s.marginA) {
        ctx.addIssue({ code: 'custom', path: ['fallbackA'], input: s.fallbackA, message: `L${i + 1}: ${a} A is above fuseA - marginA (${s.fuseA - s.marginA} A): the fallback alone would leave the house no room below the fuse, use less` });
      }
    });
  });
export type SiteConfig = z.infer<typeof siteConfigSchema>;

/** One number for every phase, or three: as [L1, L2, L3]. */
export function phaseTriple(v: number | readonly number[]): [number, number, number] {
  return typeof v === 'number' ? [v, v, v] : [v[0]!, v[1]!, v[2]!];
}
