/**
 * IEC 61851-1 Annex A / SAE J1772 current <-> PWM duty encoding, in per mille (0.1 %) so every
 * value is an integer the PWM driver can use directly.
 *
 *   6 A <= I <= 51 A:   duty % = I / 0.6        (10 % .. 85 %)
 *   51 A < I <= 80 A:   duty % = I / 2.5 + 64   (85 % .. 96 %)
 *
 * Below 6 A nothing can be offered: the caller must use X1 (steady +12 V), never 0 % (= state F)
 * and never 5 % (reserved for digital communication). 51-52.5 A has no encoding in the standard;
 * it is clamped to 51 A (EVerest does the same). Fractions of an ampere are rounded down so the
 * EV is never offered more than the limit.
 */
export const MIN_CURRENT_A = 6;
export const MAX_CURRENT_A = 80;

export function dutyForCurrent(amps: number): number {
  if (!Number.isFinite(amps) || amps < MIN_CURRENT_A) {
    throw new RangeError(`no PWM encoding below ${MIN_CURRENT_A} A (got ${amps}): use X1`);
  }
  const a = Math.min(amps, MAX_CURRENT_A);
  if (a > 51 && a < 52.5) return 850;
  let d = a <= 51 ? Math.floor((a * 1000) / 60) : Math.floor(a * 4 + 640); // I / 0.6 resp. (I / 2.5 + 64) % in per mille
  // Binary floating point puts the product a hair off the integer (8.04 * 1000 / 60 = 133.99999…):
  // settle on the largest duty the EV decodes as at most `a`, so rounding down never costs a whole step.
  if (currentForDuty(d) > a) d -= 1;
  else if (d < 960 && currentForDuty(d + 1) <= a) d += 1;
  return d;
}

/** What an EV reads from a duty (per mille); 0 when the duty offers nothing. */
export function currentForDuty(permille: number): number {
  if (permille < 80) return 0; // < 8 %: no charging (3-7 % reserved/error, 5 % = digital communication)
  if (permille < 100) return 6;
  if (permille <= 850) return (permille * 60) / 1000;
  if (permille <= 960) return (permille - 640) / 4;
  if (permille <= 970) return 80;
  return 0;
}

/** Largest whole current offerable at or below `amps` (0 if below the minimum). */
export function offerableCurrent(amps: number): number {
  if (!Number.isFinite(amps) || amps < MIN_CURRENT_A) return 0;
  return Math.min(Math.floor(amps), MAX_CURRENT_A);
}
