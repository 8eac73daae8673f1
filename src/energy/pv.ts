import { MIN_CURRENT_A } from '../domain/pwm.js';

/**
 * PV surplus charging, pure: every decision comes from `tick(input)` with the time passed in
 * (monotonic ms), so a fake clock drives it in tests and the PV-day bench.
 *
 * Surplus = export at the grid connection + what the EVs draw now (they would stop drawing it if
 * the station let them). Modes:
 * - off: no PV budget at all (the station charges as the other limits allow);
 * - pv: surplus only; start when the surplus reaches the start threshold for startDelayS, stop
 *   (suspend) when it stays below the stop threshold for stopDelayS; in between follow the surplus
 *   at no less than the IEC 61851 minimum (a short dip is bridged from the grid, as evcc does);
 * - minpv: the minimum current always, more when the surplus allows.
 * Automatic 1p/3p: 3p → 1p when the surplus stays below the 3-phase minimum (4.14 kW) for
 * phaseDownDelayS (in pv mode only while it is above the 1-phase minimum: below it the stop
 * timer decides); 1p → 3p when it stays above the 3-phase minimum plus a hysteresis for
 * phaseUpDelayS; at most maxSwitchesPerSession per session, minSwitchIntervalS apart.
 */

export type PvMode = 'off' | 'pv' | 'minpv';
export const PV_MODES = ['off', 'pv', 'minpv'] as const satisfies readonly PvMode[];
export type Phases = 1 | 3;

export interface PvSettings {
  /** Nominal voltage per phase (V) when converting between power and current. */
  voltageV: number;
  /** Subtracted from the default start and stop thresholds (W): start a little below the minimum power, taking that much from the grid. */
  allowanceW: number;
  /** Surplus needed to start (W); default the minimum power of the phases to start on, minus the allowance. */
  startThresholdW?: number;
  /** Surplus below which the stop timer runs (W); default the minimum power of the fewest phases available, minus the allowance. */
  stopThresholdW?: number;
  startDelayS: number;
  stopDelayS: number;
  phaseSwitching: 'auto' | 'off';
  /** 1p → 3p needs the 3-phase minimum plus this much (W). */
  phaseHysteresisW: number;
  phaseUpDelayS: number;
  phaseDownDelayS: number;
  minSwitchIntervalS: number;
  maxSwitchesPerSession: number;
}

export const DEFAULT_PV_SETTINGS: PvSettings = {
  voltageV: 230,
  allowanceW: 0,
  startDelayS: 60,
  stopDelayS: 180,
  phaseSwitching: 'auto',
  phaseHysteresisW: 500,
  phaseUpDelayS: 120,
  phaseDownDelayS: 180,
  minSwitchIntervalS: 600,
  maxSwitchesPerSession: 4,
};

export interface PvInput {
  nowMs: number;
  /** Grid power (W), import positive, export negative; null = no fresh reading. */
  gridW: number | null;
  /** What the EVs draw now (W). */
  evW: number;
  /** The phases the EV charges on now. */
  phases: Phases;
  /** A phase relay exists and may be used now. */
  switchable: boolean;
  /** An EV is plugged in with a session (nothing to start or switch for otherwise). */
  sessionActive: boolean;
}

export type PvState = 'off' | 'no-ev' | 'no-reading' | 'idle' | 'starting' | 'charging' | 'stopping' | 'minimum';

export interface PvDecision {
  mode: PvMode;
  state: PvState;
  /** Per-phase current for all EVs together (A); null = no PV budget (mode off); 0 = suspend. */
  budgetA: number | null;
  /** Ask the station to switch to this many phases (once; the caller reports the result). */
  phaseRequest: Phases | null;
  surplusW: number | null;
  /** Why, in words, for the status. */
  reason: string;
  /** Seconds until the running timer (start, stop, phase switch) fires; null = none. */
  timerS: number | null;
  switchesThisSession: number;
}

/** Minimum power to charge on n phases (W): 6 A on each. */
export function minPowerW(phases: Phases, voltageV: number): number {
  return MIN_CURRENT_A * voltageV * phases;
}

/** A condition that must hold for a while: the time it became true, or null. */
class Hold {
  private since: number | null = null;
  update(cond: boolean, nowMs: number): void {
    if (!cond) this.since = null;
    else this.since ??= nowMs;
  }
  held(nowMs: number, s: number): boolean {
    return this.since !== null && nowMs - this.since >= s * 1000;
  }
  remainingS(nowMs: number, s: number): number | null {
    return this.since === null ? null : Math.max(0, Math.ceil(s - (nowMs - this.since) / 1000));
  }
  reset(): void {
    this.since = null;
  }
}

export class PvController {
  private mode: PvMode;
  private charging = false;
  private readonly startHold = new Hold();
  private readonly stopHold = new Hold();
  private readonly upHold = new Hold();
  private readonly downHold = new Hold();
  private switches = 0;
  private lastSwitchMs: number | null = null;
  private wasSession = false;
  private pendingPhases: Phases | null = null;
  /** The relay answered NotSupported: never ask again. */
  private relayUnsupported = false;
  /** Charging started with a phase request still pending. */
  private startedBySwitch = false;

  constructor(
    private readonly s: PvSettings,
    mode: PvMode,
  ) {
    this.mode = mode;
  }

  getMode(): PvMode {
    return this.mode;
  }

  setMode(mode: PvMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.charging = false;
    this.resetTimers();
  }

  /** The station's answer to a phase request. */
  phaseSwitchEnded(result: 'Accepted' | 'Rejected' | 'NotSupported'): void {
    if (result === 'NotSupported') this.relayUnsupported = true;
    // A start that needed fewer phases did not get them: not started (the start delay runs again on the phases there are).
    if (result !== 'Accepted' && this.startedBySwitch) this.charging = false;
    this.startedBySwitch = false;
    this.pendingPhases = null;
  }

  tick(input: PvInput): PvDecision {
    const { nowMs } = input;
    if (input.sessionActive && !this.wasSession) {
      this.switches = 0;
      this.lastSwitchMs = null;
      this.charging = false;
      this.resetTimers();
    }
    this.wasSession = input.sessionActive;

    const base = { mode: this.mode, phaseRequest: null, timerS: null, switchesThisSession: this.switches };
    if (this.mode === 'off') return { ...base, state: 'off', budgetA: null, surplusW: null, reason: 'PV mode off' };
    const surplusW = input.gridW === null ? null : Math.round(input.evW - input.gridW);
    if (!input.sessionActive) {
      this.charging = false;
      this.resetTimers();
      return { ...base, state: 'no-ev', budgetA: this.mode === 'minpv' ? MIN_CURRENT_A : 0, surplusW, reason: 'no EV plugged in' };
    }
    if (surplusW === null) {
      // Not a cloud but a lost meter: nothing is known about the surplus, so no surplus is assumed (pv stops now, minpv keeps its minimum).
      this.charging = false;
      this.resetTimers();
      return this.mode === 'minpv'
        ? { ...base, state: 'no-reading', budgetA: MIN_CURRENT_A, surplusW, reason: 'no fresh grid reading: minimum current only' }
        : { ...base, state: 'no-reading', budgetA: 0, surplusW, reason: 'no fresh grid reading: no surplus assumed, suspended' };
    }

    if (this.pendingPhases === input.phases) this.pendingPhases = null;
    const phases = this.pendingPhases ?? input.phases;
    // Past the bound the phases in use are the phases for the rest of the session (thresholds included).
    const canSwitch = this.s.phaseSwitching === 'auto' && input.switchable && !this.relayUnsupported && this.switches < this.s.maxSwitchesPerSession;
    const p1 = minPowerW(1, this.s.voltageV);
    const p3 = minPowerW(3, this.s.voltageV);
    const fewest: Phases = canSwitch ? 1 : phases;
    const stopAt = this.s.stopThresholdW ?? minPowerW(fewest, this.s.voltageV) - this.s.allowanceW;

    if (this.mode === 'pv' && !this.charging) {
      // Start on 3 phases only if that fits; a switchable station starts on 1 phase otherwise.
      const startPhases: Phases = !canSwitch ? phases : surplusW >= p3 - this.s.allowanceW ? 3 : 1;
      const startAt = this.s.startThresholdW ?? minPowerW(startPhases, this.s.voltageV) - this.s.allowanceW;
      this.startHold.update(surplusW >= startAt, nowMs);
      if (!this.startHold.held(nowMs, this.s.startDelayS)) {
        const t = this.startHold.remainingS(nowMs, this.s.startDelayS);
        return { ...base, state: t === null ? 'idle' : 'starting', budgetA: 0, surplusW, timerS: t, reason: t === null ? `surplus ${surplusW} W below the start threshold ${Math.round(startAt)} W` : `surplus reached ${Math.round(startAt)} W: starting in ${t} s` };
      }
      this.charging = true;
      this.startHold.reset();
      this.stopHold.reset();
      const request = this.requestPhases(startPhases, phases, nowMs, canSwitch);
      this.startedBySwitch = request !== null;
      return this.follow(base, surplusW, request ?? phases, request, 'charging', `started: surplus ${surplusW} W`, null);
    }

    // Charging (pv) or minpv: follow the surplus, switch phases when it stays on the other side.
    if (this.mode === 'pv') {
      this.stopHold.update(surplusW < stopAt, nowMs);
      if (this.stopHold.held(nowMs, this.s.stopDelayS)) {
        this.charging = false;
        this.resetTimers();
        return { ...base, state: 'idle', budgetA: 0, surplusW, reason: `surplus below ${Math.round(stopAt)} W for ${this.s.stopDelayS} s: suspended` };
      }
    }
    let request: Phases | null = null;
    if (canSwitch && this.pendingPhases === null) {
      this.downHold.update(phases === 3 && surplusW < p3 - this.s.allowanceW && (this.mode === 'minpv' || surplusW >= p1 - this.s.allowanceW), nowMs);
      this.upHold.update(phases === 1 && surplusW >= p3 + this.s.phaseHysteresisW, nowMs);
      if (this.downHold.held(nowMs, this.s.phaseDownDelayS)) request = this.requestPhases(1, phases, nowMs, canSwitch);
      else if (this.upHold.held(nowMs, this.s.phaseUpDelayS)) request = this.requestPhases(3, phases, nowMs, canSwitch);
    } else {
      this.upHold.reset();
      this.downHold.reset();
    }
    const stopT = this.mode === 'pv' ? this.stopHold.remainingS(nowMs, this.s.stopDelayS) : null;
    const downT = this.downHold.remainingS(nowMs, this.s.phaseDownDelayS);
    const upT = this.upHold.remainingS(nowMs, this.s.phaseUpDelayS);
    const state: PvState = stopT !== null ? 'stopping' : this.mode === 'minpv' && surplusW < minPowerW(phases, this.s.voltageV) ? 'minimum' : 'charging';
    const reason =
      request !== null ? `switching to ${request} phase${request === 1 ? '' : 's'}: surplus ${surplusW} W`
      : stopT !== null ? `surplus ${surplusW} W below ${Math.round(stopAt)} W: stopping in ${stopT} s`
      : downT !== null ? `surplus ${surplusW} W below the 3-phase minimum: 1 phase in ${downT} s`
      : upT !== null ? `surplus ${surplusW} W above the 3-phase minimum: 3 phases in ${upT} s`
      : state === 'minimum' ? `surplus ${surplusW} W: minimum current from the grid`
      : `following the surplus ${surplusW} W`;
    return this.follow(base, surplusW, request ?? phases, request, state, reason, stopT ?? downT ?? upT);
  }

  private follow(base: { mode: PvMode; switchesThisSession: number }, surplusW: number, phases: Phases, request: Phases | null, state: PvState, reason: string, timerS: number | null): PvDecision {
    const a = Math.floor((surplusW / (this.s.voltageV * phases)) * 10) / 10;
    return { ...base, switchesThisSession: this.switches, state, budgetA: Math.max(MIN_CURRENT_A, a), phaseRequest: request, surplusW, reason, timerS };
  }

  /** A switch if it is needed and allowed now (counted when asked: a refused one must not be retried at once either). */
  private requestPhases(want: Phases, have: Phases, nowMs: number, canSwitch: boolean): Phases | null {
    if (want === have || !canSwitch) return null;
    if (this.switches >= this.s.maxSwitchesPerSession) return null;
    if (this.lastSwitchMs !== null && nowMs - this.lastSwitchMs < this.s.minSwitchIntervalS * 1000) return null;
    this.switches++;
    this.lastSwitchMs = nowMs;
    this.pendingPhases = want;
    this.upHold.reset();
    this.downHold.reset();
    return want;
  }

  private resetTimers(): void {
    this.startHold.reset();
    this.stopHold.reset();
    this.upHold.reset();
    this.downHold.reset();
  }
}
