/**
 * Scale and randomness of the torture tests. `npm test` runs small counts; EVSED_TORTURE=1 the full
 * ones. Every randomised test prints its seed; the default seed is fixed so a run is repeatable, and
 * EVSED_FUZZ_SEED=<n> replays (or varies) it.
 */
export const FULL = process.env.EVSED_TORTURE === '1';

export { secondsSince, summary } from '../fuzz/prng.js';

/** The count of a torture loop: `small` in `npm test`, `full` with EVSED_TORTURE=1, or EVSED_TORTURE_COUNT=<n>. */
export function count(small: number, full: number): number {
  const n = Number(process.env.EVSED_TORTURE_COUNT);
  if (Number.isSafeInteger(n) && n > 0) return n;
  return FULL ? full : small;
}

export const DEFAULT_SEED = 0x5eed_0007;

export function seedFromEnv(): number {
  const s = process.env.EVSED_FUZZ_SEED;
  if (s === undefined || s === '') return DEFAULT_SEED;
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`EVSED_FUZZ_SEED must be an integer (got ${JSON.stringify(s)})`);
  return n >>> 0;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence of choices. */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
