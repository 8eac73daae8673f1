/**
 * Time to finish: pure estimates from the observed (smoothed) power and a target. Honest: null
 * with basis 'unknown' when there is no target, no power, or not enough known to estimate.
 *
 * Model: below the taper SoC (default 80 %) the EV draws the observed power; above it the power
 * falls linearly with the SoC left, (100 − soc) / (100 − taper), down to a floor (default 1/16 of
 * the untapered power: 1 A of 16 A, as the simulated EV), as Li-ion chargers do in their CV phase. Energy is spread evenly over SoC
 * (capacity / 100 Wh per %), charging losses included when the capacity is estimated from the
 * session itself.
 */
import { CHARGING_THRESHOLD_W } from '../domain/charging.js';

export type EtaBasis = 'energy' | 'soc' | 'unknown';

export interface Eta {
  /** Seconds until the target is reached (0 = reached), or null when it cannot be estimated. */
  etaS: number | null;
  basis: EtaBasis;
}

export interface EtaInput {
  /** Smoothed power now (W), the basis of the estimate. null, or below minPowerW, = not drawing: no estimate. */
  powerW: number | null;
  /**
   * The latest reading (W). Below minPowerW = not drawing now, whatever the smoothed power still
   * says (it takes minutes to fall): no estimate.
   */
  latestPowerW?: number | null;
  /** Energy delivered in this session so far (Wh). */
  energyWh: number;
  /** Stop when the session has delivered this much (Wh), if such a target is set. */
  targetEnergyWh?: number | null;
  /** State of charge now (%), when the source knows it (e.g. the simulated battery, ISO 15118). */
  socPercent?: number | null;
  /** SoC at which the session ends; default 100 when the SoC is known. */
  targetSocPercent?: number | null;
  /** Usable battery capacity (Wh). Without it, estimated from energyWh and the SoC rise since startSocPercent. */
  batteryCapacityWh?: number | null;
  startSocPercent?: number | null;
  /** SoC above which the EV reduces its power (default 80). */
  taperAbovePercent?: number;
  /** Tapered power never falls below this share of the untapered power (default 1/16). */
  taperFloorRatio?: number;
  /** Below this the EV is not drawing (default 100 W). */
  minPowerW?: number;
}

/** Below this power (W) the EV counts as not drawing: the same line that splits charging from idle time. */
export const MIN_POWER_W = CHARGING_THRESHOLD_W;

const UNKNOWN: Eta = { etaS: null, basis: 'unknown' };
/** SoC rise needed before a capacity estimate from the session is trusted. */
const MIN_SOC_RISE_FOR_CAPACITY = 5;

export function estimateTimeToFinish(input: EtaInput): Eta {
  const energyTarget = input.targetEnergyWh ?? null;
  const soc = input.socPercent ?? null;
  const energyReached = energyTarget !== null && input.energyWh >= energyTarget;
  const socTarget = soc === null ? null : Math.min(100, input.targetSocPercent ?? 100);
  const socReached = soc !== null && socTarget !== null && soc >= socTarget;
  if (energyReached) return { etaS: 0, basis: 'energy' };
  if (socReached) return { etaS: 0, basis: 'soc' };

  const p = input.powerW;
  const min = input.minPowerW ?? MIN_POWER_W;
  if (p === null || !Number.isFinite(p) || p < min) return UNKNOWN;
  const latest = input.latestPowerW;
  if (latest !== undefined && latest !== null && !(latest >= min)) return UNKNOWN;

  const capacity = soc === null ? null : (input.batteryCapacityWh ?? estimateCapacityWh(input.energyWh, input.startSocPercent ?? null, soc));
  if (soc !== null && socTarget !== null && capacity !== null && capacity > 0) {
    // One SoC model for both targets: the energy target becomes the SoC it would reach.
    const whPerPercent = capacity / 100;
    const energyAsSoc = energyTarget === null ? Infinity : soc + (energyTarget - input.energyWh) / whPerPercent;
    const basis: EtaBasis = energyAsSoc < socTarget ? 'energy' : 'soc';
    const to = Math.min(socTarget, energyAsSoc);
    const taper = input.taperAbovePercent ?? 80;
    const floor = input.taperFloorRatio ?? 1 / 16;
    return { etaS: Math.round(socHours(soc, to, p, whPerPercent, taper, floor) * 3600), basis };
  }
  if (energyTarget !== null) return { etaS: Math.round(((energyTarget - input.energyWh) / p) * 3600), basis: 'energy' };
  return UNKNOWN;
}

/** Capacity (Wh) from energy delivered over the SoC rise seen in this session, once the rise is large enough. */
export function estimateCapacityWh(energyWh: number, startSocPercent: number | null, socPercent: number): number | null {
  if (startSocPercent === null) return null;
  const rise = socPercent - startSocPercent;
  if (rise < MIN_SOC_RISE_FOR_CAPACITY || energyWh <= 0) return null;
  return (energyWh * 100) / rise;
}

/** Hours to go from SoC `from` to `to`, observing power `powerW` now, under the taper model. */
function socHours(from: number, to: number, powerW: number, whPerPercent: number, taper: number, floorRatio: number): number {
  const shape = (s: number) => (s <= taper ? 1 : Math.max(floorRatio, (100 - s) / (100 - taper)));
  const full = powerW / shape(from); // untapered power implied by what we see now
  floorRatio = Math.min(1, Math.max(0.01, floorRatio));
  const floorFrom = 100 - floorRatio * (100 - taper); // above this the floor holds
  let h = 0;
  // flat part
  const a1 = from;
  const b1 = Math.min(to, taper);
  if (b1 > a1) h += ((b1 - a1) * whPerPercent) / full;
  // linear taper: P = full·(100 − s)/(100 − taper) → ∫ ds / P = (100 − taper)/full · ln((100 − a)/(100 − b))
  const a2 = Math.max(from, taper);
  const b2 = Math.min(to, floorFrom);
  if (b2 > a2) h += ((100 - taper) * whPerPercent * Math.log((100 - a2) / (100 - b2))) / full;
  // floor
  const a3 = Math.max(from, floorFrom);
  if (to > a3) h += ((to - a3) * whPerPercent) / (full * floorRatio);
  return h;
}

/**
 * Exponentially weighted power with a time constant (default 60 s): steady for a display, yet
 * follows a new current limit within a few minutes. Time comes from the caller (monotonic ms).
 */
export class PowerSmoother {
  private value: number | null = null;
  private lastMs: number | null = null;

  constructor(private readonly tauS = 60) {}

  update(powerW: number, monoMs: number): number {
    if (this.value === null || this.lastMs === null || monoMs <= this.lastMs) {
      if (this.value === null) this.value = powerW;
      this.lastMs ??= monoMs;
      return this.value;
    }
    const alpha = 1 - Math.exp(-(monoMs - this.lastMs) / (this.tauS * 1000));
    this.value += alpha * (powerW - this.value);
    this.lastMs = monoMs;
    return this.value;
  }

  get powerW(): number | null {
    return this.value;
  }

  reset(): void {
    this.value = null;
    this.lastMs = null;
  }
}

export interface EtaReading {
  /** Monotonic ms of the reading. */
  monoMs: number;
  powerW: number;
  /** Energy delivered in the session so far (Wh). */
  sessionEnergyWh: number;
  /** State of charge, when the source knows it. */
  socPercent?: number | null;
}

export interface EtaTarget {
  energyWh?: number | null;
  socPercent?: number | null;
}

/**
 * The time-to-finish state of one running session: feed it every reading, ask it for an estimate.
 * Keeps the smoothed power and the first SoC seen (to estimate the capacity). One per session.
 * While the latest reading is below minPowerW the estimate is unknown; when the EV draws again
 * the smoothing starts afresh from the new power, so the pause does not drag the estimate.
 */
export class SessionEtaTracker {
  private readonly smoother: PowerSmoother;
  private last: EtaReading | null = null;
  private firstSoc: { soc: number; energyWh: number } | null = null;

  constructor(private readonly opts: { tauS?: number; batteryCapacityWh?: number | null; taperAbovePercent?: number; minPowerW?: number } = {}) {
    this.smoother = new PowerSmoother(opts.tauS);
  }

  observe(r: EtaReading): void {
    const min = this.opts.minPowerW ?? MIN_POWER_W;
    if (this.last && !(this.last.powerW >= min) && r.powerW >= min) this.smoother.reset();
    this.smoother.update(r.powerW, r.monoMs);
    if (r.socPercent != null && this.firstSoc === null) this.firstSoc = { soc: r.socPercent, energyWh: r.sessionEnergyWh };
    this.last = r;
  }

  estimate(target: EtaTarget = {}): Eta {
    const r = this.last;
    if (!r) return UNKNOWN;
    const first = this.firstSoc;
    return estimateTimeToFinish({
      powerW: this.smoother.powerW,
      latestPowerW: r.powerW,
      ...(this.opts.minPowerW !== undefined ? { minPowerW: this.opts.minPowerW } : {}),
      energyWh: r.sessionEnergyWh,
      targetEnergyWh: target.energyWh ?? null,
      socPercent: r.socPercent ?? null,
      targetSocPercent: target.socPercent ?? null,
      batteryCapacityWh:
        this.opts.batteryCapacityWh ??
        (first && r.socPercent != null ? estimateCapacityWh(r.sessionEnergyWh - first.energyWh, first.soc, r.socPercent) : null),
      ...(this.opts.taperAbovePercent !== undefined ? { taperAbovePercent: this.opts.taperAbovePercent } : {}),
    });
  }
}
