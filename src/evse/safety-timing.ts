/**
 * Pure timing rules of the safety supervisor (owned by the hardware side, issue 6). Time is always
 * passed in (monotonic ms) or taken from an injected Clock, so every rule runs on a FakeClock.
 * Sources: ../shared/reference/iec61851.md §1.3-1.8.
 */

// ---------------------------------------------------------------------------------------------
// Overcurrent

export interface OvercurrentOptions {
  /** Allowed excess over the offer, percent (EVerest soft over-current: 10 %). */
  tolerancePct?: number;
  /** Measurement noise allowance, A (EVerest: 0.5 A). */
  noiseA?: number;
  /** How long the excess must last (EV reaction window 5 s; EVerest minimum 6000, default 7000). */
  windowMs?: number;
}

export interface OvercurrentVerdict {
  /** true once the excess has lasted the whole window: open the contactor, fault 'overcurrent'. */
  trip: boolean;
  /** Largest phase current above the limit right now. */
  over: boolean;
  limitA: number;
  /** Monotonic ms since which the current has been over the limit. */
  overSinceMs?: number;
}

/** IEC 61851-1: the EV follows a new PWM duty within 5 s. */
const EV_REACTION_MS = 5000;

/**
 * Measured current above the offer beyond the IEC tolerance for longer than the EV's reaction
 * window. After a lower offer the EV may draw up to the earlier one for its reaction time.
 */
export class OvercurrentCheck {
  readonly tolerancePct: number;
  readonly noiseA: number;
  readonly windowMs: number;
  private overSince?: number;
  private lastOfferA?: number;
  /** After a lower offer: the limit of the offers before it, until the EV's reaction time has passed. */
  private grace?: { limitA: number; untilMs: number };

  constructor(opts: OvercurrentOptions = {}) {
    this.tolerancePct = opts.tolerancePct ?? 10;
    this.noiseA = opts.noiseA ?? 0.5;
    this.windowMs = opts.windowMs ?? 6000;
    if (this.windowMs < 6000) throw new RangeError(`overcurrent window must be at least 6000 ms (EV reaction time 5 s), got ${this.windowMs}`);
  }

  limitFor(offerA: number): number {
    return offerA * (1 + this.tolerancePct / 100) + this.noiseA;
  }

  /** `offerA` = current the PWM offers now (0 in X1); `phaseCurrentsA` = meter reading. */
  update(phaseCurrentsA: readonly number[], offerA: number, nowMs: number): OvercurrentVerdict {
    if (this.grace && nowMs >= this.grace.untilMs) this.grace = undefined;
    if (this.lastOfferA !== undefined && offerA < this.lastOfferA) {
      // The EV has its reaction time to follow a lower offer; a staircase of them keeps the highest.
      this.grace = { limitA: Math.max(this.grace?.limitA ?? 0, this.limitFor(this.lastOfferA)), untilMs: nowMs + EV_REACTION_MS };
    }
    this.lastOfferA = offerA;
    const limitA = Math.max(this.limitFor(offerA), this.grace?.limitA ?? 0);
    const over = phaseCurrentsA.some((a) => a > limitA);
    if (!over) {
      this.overSince = undefined;
      return { trip: false, over, limitA };
    }
    this.overSince ??= nowMs;
    return { trip: nowMs - this.overSince >= this.windowMs, over, limitA, overSinceMs: this.overSince };
  }

  reset(): void {
    this.overSince = undefined;
    this.lastOfferA = undefined;
    this.grace = undefined;
  }
}
