import { z } from 'zod';
import { intBetween, oneOf } from './zod-helpers.js';

/**
 * How a connector's phases are wired to the site supply: which site phase its L1 is. Installers
 * rotate the phases of neighbouring connectors so 1-phase EVs spread over the supply.
 */
export const PHASE_ROTATIONS = ['L1L2L3', 'L2L3L1', 'L3L1L2'] as const;
export type PhaseRotation = (typeof PHASE_ROTATIONS)[number];

/** IEC 61851-1: the PWM changes at most every 5 s, so no sharer may raise an offer more often. */
export const MIN_INCREASE_INTERVAL_S = 5;

/**
 * The `sharing` section: how the station shares its budgets (an OCPP ChargePointMaxProfile, the
 * main fuse minus the house load, the PV surplus) among its connectors.
 */
export const sharingConfigSchema = z.strictObject({
  /** fair: an equal share per phase among the connectors that want current; priority: connectors[].priority, higher first. */
  mode: oneOf(['fair', 'priority'] as const).default('fair'),
  /** A connector's allowance rises at most this often (s); decreases apply at once. */
  increaseIntervalS: z
    .number({ error: `must be a whole number of seconds between ${MIN_INCREASE_INTERVAL_S} and 600` })
    .int({ error: `must be a whole number of seconds between ${MIN_INCREASE_INTERVAL_S} and 600` })
    .min(MIN_INCREASE_INTERVAL_S, { error: `must be at least ${MIN_INCREASE_INTERVAL_S} s: IEC 61851-1 lets the PWM offer rise at most every ${MIN_INCREASE_INTERVAL_S} s (the EV needs the time to follow); use ${MIN_INCREASE_INTERVAL_S} or more` })
    .max(600, { error: 'must be at most 600 s: a connector would wait 10 minutes for current it could have' })
    .default(MIN_INCREASE_INTERVAL_S),
  /** A connector suspended for want of current resumes only when it can get 6 A plus this margin (A)... */
  resumeMarginA: intBetween(0, 32).default(1),
  /** ...for this long (s) without interruption: no flapping around the 6 A floor. */
  resumeHoldS: intBetween(0, 3600).default(30),
});
export type SharingConfig = z.infer<typeof sharingConfigSchema>;

export const DEFAULT_SHARING: SharingConfig = { mode: 'fair', increaseIntervalS: MIN_INCREASE_INTERVAL_S, resumeMarginA: 1, resumeHoldS: 30 };
