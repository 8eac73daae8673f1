import { MIN_CURRENT_A } from '../domain/pwm.js';
import type { PhaseRotation } from '../config/sharing.js';
import type { StationBudget } from './port.js';

/**
 * Shares the station budgets (per-phase bounds on what all connectors draw together) out among the
 * connectors: pure logic, time passed in. Each call takes the connectors as they are now and
 * returns each one's allowance (whole A, 0 = suspended) and the budget that decided it.
 *
 * - The tightest budget per site phase wins. A connector loads the site phases its phases in use
 *   are wired to (connectors[].phaseRotation); an EV that measurably draws on fewer phases (a
 *   1-phase EV on a 3-phase connector) loads only those.
 * - fair: an equal share per phase among the connectors that want current (max-min fair: what a
 *   connector cannot use goes to the others); priority: higher priority first, equal share within.
 *   An EV that draws measurably less than offered (settled, per the meter) keeps what it draws
 *   plus a headroom; the rest is redistributed.
 * - A connector that cannot get 6 A is suspended (0 A, the EV sees X1) so the others can charge:
 *   the lowest priority first, then one that was not charging, then the latest to arrive.
 * - A decrease applies at once (the fuse comes first). An increase at most once per
 *   increaseIntervalMs per connector and by at least minIncreaseA. A suspended connector resumes
 *   only when it can get 6 A + resumeMarginA for resumeHoldMs without interruption.
 * The sum of the allowances on each site phase never exceeds the budget: every allowance is at
 * most its target and the targets fit.
 */

export type SitePhase = 0 | 1 | 2;

export interface SharingSettings {
  mode: 'fair' | 'priority';
  increaseIntervalMs: number;
  minIncreaseA: number;
  resumeMarginA: number;
  resumeHoldMs: number;
  /** How long an allowance must have stood before the EV's draw is judged against it (PWM hold + EV reaction). */
  settleMs: number;
}

export const DEFAULT_SETTLE_MS = 15_000;

export interface ConnectorInput {
  id: number;
  /** The connector's own bound (A): every claim on it but the station budgets'. */
  capA: number;
  /** A session runs and may draw: not stopping, paused, faulted or unavailable, an EV plugged in. */
  wants: boolean;
  /** Phases the connector offers on now. */
  phases: 1 | 3;
  rotation: PhaseRotation;
  priority: number;
  /** Currents measured on the connector's L1, L2, L3 (A); null when the meter is stale or unread. */
  measuredA: readonly number[] | null;
}

export interface Allowance {
  id: number;
  /** Whole A; 0 = no current. */
  amps: number;
  /** The budget that bounds this connector (the tightest on the phases it loads). */
  source: string;
  /** It wants current but cannot get 6 A: suspended for want of current (resumes with hysteresis). */
  suspended: boolean;
  /** What it would get now without the increase interval and the resume hold. */
  targetA: number;
  /** The site phases it loads. */
  sitePhases: SitePhase[];
}

export interface Allocation {
  /** The effective budget per site phase (the tightest), and which source set it. */
  phaseA: [number, number, number];
  phaseSource: [string, string, string];
  allowances: Allowance[];
  /** When to allocate again for a held increase or a resume hold (same time base as `now`); null = not needed. */
  nextAtMs: number | null;
}

/** Site phases of connector phases L1, L2, L3 for each rotation. */
const ROTATION: Record<PhaseRotation, readonly [SitePhase, SitePhase, SitePhase]> = {
  L1L2L3: [0, 1, 2],
  L2L3L1: [1, 2, 0],
  L3L1L2: [2, 0, 1],
};

/** An EV is drawing when some phase carries this much; a phase carrying less than IDLE_PHASE_A then is not loaded. */
const DRAWING_A = 2;
const IDLE_PHASE_A = 0.5;
/** Drawing within this of the offer is using it all (it might take more). */
const USING_OFFER_A = 1;
/** An EV that draws less keeps what it draws plus this. Above USING_OFFER_A, so the cut is stable. */
const HEADROOM_A = 2;
const EPS = 1e-9;

interface ConnectorState {
  amps: number;
  lastChangeMs: number;
  suspended: boolean;
  resumeSinceMs: number | null;
  /** What the EV was last judged to use (A); Infinity = all it is offered. */
  demandA: number;
  wantingSinceMs: number;
}

interface Candidate {
  id: number;
  sitePhases: SitePhase[];
  demand: number;
  priority: number;
  allowed: boolean;
  drawing: boolean;
  since: number;
  floor: number;
}

/** The site phases a connector loads now. */
export function sitePhasesOf(c: Pick<ConnectorInput, 'phases' | 'rotation' | 'measuredA'>): SitePhase[] {
  const map = ROTATION[c.rotation];
  let own = c.phases === 1 ? [0] : [0, 1, 2];
  const m = c.measuredA;
  if (m && Math.max(...own.map((k) => m[k] ?? 0)) >= DRAWING_A) own = own.filter((k) => (m[k] ?? 0) >= IDLE_PHASE_A);
  return own.map((k) => map[k]!);
}

/** The tightest budget per site phase, and its source ('' where there is none). */
export function tightest(budgets: readonly StationBudget[]): { phaseA: [number, number, number]; source: [string, string, string] } {
  const phaseA: [number, number, number] = [Infinity, Infinity, Infinity];
  const source: [string, string, string] = ['', '', ''];
  for (const b of budgets) {
    for (const p of [0, 1, 2] as const) {
      const a = Math.max(0, b.phaseA[p]);
      if (a < phaseA[p]) {
        phaseA[p] = a;
        source[p] = b.source;
      }
    }
  }
  return { phaseA, source };
}

export class Allocator {
  private readonly state = new Map<number, ConnectorState>();

  constructor(private readonly s: SharingSettings) {}

  /** Forget every connector (no budget any more): the next allocation starts afresh. */
  reset(): void {
    this.state.clear();
  }

  allocate(connectors: readonly ConnectorInput[], budgets: readonly StationBudget[], now: number): Allocation {
    const { phaseA, source } = tightest(budgets);
    const out: Allowance[] = [];
    const cands: Candidate[] = [];
    const suspendedCands: Candidate[] = [];
    for (const c of connectors) {
      const sitePhases = sitePhasesOf(c);
      const cap = Math.floor(Math.min(c.capA, 80));
      if (!c.wants || cap < MIN_CURRENT_A) {
        if (!c.wants) this.state.delete(c.id);
        else {
          const st = this.state.get(c.id);
          if (st) Object.assign(st, { amps: 0, suspended: false, resumeSinceMs: null });
        }
        continue;
      }
      let st = this.state.get(c.id);
      if (!st) {
        st = { amps: 0, lastChangeMs: now, suspended: false, resumeSinceMs: null, demandA: Infinity, wantingSinceMs: now };
        this.state.set(c.id, st);
      }
      this.judgeDemand(st, c, cap, now);
      const cand: Candidate = {
        id: c.id,
        sitePhases,
        demand: Math.min(cap, st.demandA),
        priority: c.priority,
        allowed: st.amps > 0,
        drawing: st.demandA > MIN_CURRENT_A,
        since: st.wantingSinceMs,
        floor: MIN_CURRENT_A,
      };
      if (st.suspended) suspendedCands.push(cand);
      else cands.push(cand);
    }

    // Would a suspended connector get 6 A + margin beside the others? Only then does its hold run.
    if (suspendedCands.length) {
      const trial = this.share([...cands, ...suspendedCands.map((c) => ({ ...c, floor: MIN_CURRENT_A + this.s.resumeMarginA }))], phaseA);
      for (const c of suspendedCands) {
        const st = this.state.get(c.id)!;
        if ((trial.get(c.id) ?? 0) > 0) {
          st.resumeSinceMs ??= now;
          if (now - st.resumeSinceMs >= this.s.resumeHoldMs) {
            st.suspended = false;
            st.resumeSinceMs = null;
            cands.push(c);
          }
        } else st.resumeSinceMs = null;
      }
    }
    const targets = this.share(cands, phaseA);
    // What the targets leave per phase: a connector is bound by the phase it exhausts.
    const left = [...phaseA];
    for (const c of cands) for (const p of c.sitePhases) left[p]! -= targets.get(c.id) ?? 0;
    let nextAtMs: number | null = null;
    const at = (t: number) => (nextAtMs = nextAtMs === null ? t : Math.min(nextAtMs, t));
    for (const c of connectors) {
      const sitePhases = sitePhasesOf(c);
      const src = sourceFor(sitePhases, left, phaseA, source);
      const st = this.state.get(c.id);
      if (!st || !c.wants) {
        out.push({ id: c.id, amps: 0, source: src, suspended: false, targetA: 0, sitePhases });
        continue;
      }
      const isCand = cands.some((x) => x.id === c.id);
      const target = targets.get(c.id) ?? 0;
      if (isCand && target === 0) {
        st.suspended = true; // cannot get 6 A: suspended for want of current
        st.resumeSinceMs = null;
        st.demandA = Infinity; // what it draws is unknown until it charges again
      }
      if (st.suspended && st.resumeSinceMs !== null) at(st.resumeSinceMs + this.s.resumeHoldMs);
      this.step(st, target, now, at);
      out.push({ id: c.id, amps: st.amps, source: src, suspended: st.suspended, targetA: target, sitePhases });
    }
    return { phaseA, phaseSource: source, allowances: out, nextAtMs };
  }

  /** Decreases at once; increases from a standing offer only after the interval and by the minimum step. */
  private step(st: ConnectorState, target: number, now: number, at: (t: number) => void): void {
    if (target < st.amps) {
      st.amps = target;
      st.lastChangeMs = now;
    } else if (target > st.amps) {
      if (st.amps === 0) {
        // A first offer (or a resume after the hold) is no PWM change: X1 to PWM.
        st.amps = target;
        st.lastChangeMs = now;
      } else if (target - st.amps >= this.s.minIncreaseA) {
        const due = st.lastChangeMs + this.s.increaseIntervalMs;
        if (now >= due) {
          st.amps = target;
          st.lastChangeMs = now;
        } else at(due);
      }
    }
  }

  /**
   * Once the allowance has stood for settleMs, the meter says whether the EV uses it: drawing
   * within USING_OFFER_A of it means it may want more; drawing less, it keeps its draw plus
   * HEADROOM_A (at least 6 A) until it draws close to that again.
   */
  private judgeDemand(st: ConnectorState, c: ConnectorInput, cap: number, now: number): void {
    if (st.amps <= 0 || c.measuredA === null || now - st.lastChangeMs < this.s.settleMs) return;
    const drawn = Math.max(0, ...c.measuredA);
    const offered = Math.min(st.amps, cap);
    st.demandA = drawn >= offered - USING_OFFER_A ? Infinity : Math.max(MIN_CURRENT_A, Math.ceil(drawn + HEADROOM_A));
  }

  /**
   * Targets in whole A: fill (per priority group in priority mode), then drop the least preferred
   * connector below its floor and fill again, until everyone left gets at least its floor.
   */
  private share(cands: Candidate[], phaseA: readonly number[]): Map<number, number> {
    let active = [...cands].sort(preferred);
    for (;;) {
      const x = this.fill(active, phaseA);
      const below = active.filter((c) => (x.get(c.id) ?? 0) < c.floor);
      if (!below.length) return x;
      const drop = below[below.length - 1]!;
      active = active.filter((c) => c !== drop);
    }
  }

  private fill(active: Candidate[], phaseA: readonly number[]): Map<number, number> {
    const rem = [...phaseA];
    const x = new Map<number, number>();
    const groups = this.s.mode === 'priority' ? groupByPriority(active) : [active];
    for (const g of groups) {
      const real = waterFill(g, rem);
      g.forEach((c, i) => {
        const a = Math.floor(real[i]! + EPS);
        x.set(c.id, a);
        for (const p of c.sitePhases) rem[p]! -= a;
      });
      // Whole amps left over by rounding down go one at a time, the most preferred first.
      for (let more = true; more; ) {
        more = false;
        for (const c of g) {
          const a = x.get(c.id)!;
          if (a + 1 <= c.demand && c.sitePhases.every((p) => rem[p]! >= 1 - EPS)) {
            x.set(c.id, a + 1);
            for (const p of c.sitePhases) rem[p]! -= 1;
            more = true;
          }
        }
      }
    }
    return x;
  }
}

/** Max-min fair shares (real A) of `cands` within `rem` per site phase, each at most its demand. */
function waterFill(cands: readonly Candidate[], rem: readonly number[]): number[] {
  const left = [...rem];
  const x = cands.map(() => 0);
  const open = new Set(cands.map((_, i) => i).filter((i) => cands[i]!.demand > 0 && cands[i]!.sitePhases.every((p) => left[p]! > EPS)));
  while (open.size) {
    const count = [0, 0, 0];
    for (const i of open) for (const p of cands[i]!.sitePhases) count[p]!++;
    let step = Infinity;
    for (const p of [0, 1, 2]) if (count[p]! > 0) step = Math.min(step, left[p]! / count[p]!);
    for (const i of open) step = Math.min(step, cands[i]!.demand - x[i]!);
    if (!Number.isFinite(step)) step = 0;
    for (const i of open) {
      x[i]! += step;
      for (const p of cands[i]!.sitePhases) left[p]! -= step;
    }
    for (const i of [...open]) {
      if (x[i]! >= cands[i]!.demand - EPS || cands[i]!.sitePhases.some((p) => left[p]! <= EPS)) open.delete(i);
    }
  }
  return x;
}

function groupByPriority(cands: Candidate[]): Candidate[][] {
  const by = new Map<number, Candidate[]>();
  for (const c of cands) by.set(c.priority, [...(by.get(c.priority) ?? []), c]);
  return [...by.keys()].sort((a, b) => b - a).map((k) => by.get(k)!);
}

/** Who keeps current first: higher priority, already charging, drawing (not idle), earlier, lower id. */
function preferred(a: Candidate, b: Candidate): number {
  return b.priority - a.priority || Number(b.allowed) - Number(a.allowed) || Number(b.drawing) - Number(a.drawing) || a.since - b.since || a.id - b.id;
}

/** The source of the phase a connector exhausts (least left; then the tightest budget). */
function sourceFor(sitePhases: readonly SitePhase[], left: readonly number[], phaseA: readonly number[], source: readonly string[]): string {
  let best: SitePhase | undefined;
  for (const p of sitePhases) {
    if (best === undefined || left[p]! < left[best]! - EPS || (Math.abs(left[p]! - left[best]!) <= EPS && phaseA[p]! < phaseA[best]!)) best = p;
  }
  return best === undefined ? '' : source[best]!;
}
