import type { StationEvents, StationPort, StopReason } from '../evse/port.js';
import type { SessionLimitsConfig } from '../config/timers.js';
import type { Logger } from '../log.js';
import { Subscriptions } from '../util/subscriptions.js';
import { msToTimeLimit, reachedLimit, tighter, type StopConditions } from './stop-conditions.js';

export type TargetMode = 'estimate' | 'stop';
export const TARGET_MODES: readonly TargetMode[] = ['estimate', 'stop'];

export type LimitsStation = Pick<StationPort, 'on' | 'off' | 'clock' | 'sessionOn' | 'liveDurations' | 'vehicle' | 'stopSession'>;

/** The limits in force for a connector's running (or next) session. */
export interface EffectiveLimits {
  energyWh: number | null;
  durationS: number | null;
  socPercent: number | null;
  /** Whether the energy target ends the session (then it counts in energyWh above). */
  targetMode: TargetMode;
}

export interface SessionLimitsOptions {
  /** connectors[].sessionLimits */
  defaults: ReadonlyMap<number, SessionLimitsConfig>;
  /** connectors[].energyTargetStops */
  targetStops: ReadonlyMap<number, boolean>;
  /** The energy target (Wh) of the running session (billing's time-to-finish target), null = none. */
  energyTargetWh: (connectorId: number) => number | null;
  log?: Logger;
}

interface Running {
  sessionId: number;
  meterStartWh: number;
  registerWh: number | null;
  durationTimer?: { cancel(): void };
  stopping?: StopReason;
}

/**
 * The owner's stop conditions of each session: energy (Wh), duration (from the session's start,
 * monotonic clock) and state of charge (when the EV reports one), and the energy target when its
 * mode is `stop`. When one is reached the session ends with its reason (EnergyLimitReached,
 * TimeLimitReached, SOCLimitReached): a stop like any other (the offer is withdrawn, the contactor
 * opens, a held cable stays locked until its owner's tag or the unplug), not a pause. Checked on
 * every meter reading, and for the duration on a timer on the station clock.
 *
 * Values set through the API/MQTT are for the running session, or the next one when none runs;
 * when that session ends the connector's configured defaults apply again (as for the energy target).
 */
export class SessionLimits {
  private readonly set = new Map<number, { limits: StopConditions; targetMode?: TargetMode }>();
  private readonly running = new Map<number, Running>();
  private readonly subs = new Subscriptions();

  constructor(
    private readonly station: LimitsStation,
    private readonly o: SessionLimitsOptions,
  ) {
    const on = this.subs.events<StationEvents>(station);
    on('session-started', (rec) => {
      this.running.set(rec.connectorId, { sessionId: rec.id, meterStartWh: rec.meterStartWh, registerWh: null });
      this.schedule(rec.connectorId);
    });
    on('sample', (s) => {
      const r = this.current(s.connectorId);
      if (!r || s.sessionId !== r.sessionId) return;
      r.registerWh = s.energyWh;
      this.check(s.connectorId);
    });
    on('session-stopped', (rec) => {
      const r = this.running.get(rec.connectorId);
      r?.durationTimer?.cancel();
      this.running.delete(rec.connectorId);
      this.set.delete(rec.connectorId);
    });
  }

  stop(): void {
    this.subs.clear();
    for (const r of this.running.values()) r.durationTimer?.cancel();
  }

  /** The stop conditions set for this session alone (null removes one, also the configured default). */
  setLimits(connectorId: number, patch: StopConditions): void {
    const s = this.set.get(connectorId) ?? { limits: {} };
    s.limits = { ...s.limits, ...patch };
    this.set.set(connectorId, s);
    this.schedule(connectorId);
    this.check(connectorId);
  }

  setTargetMode(connectorId: number, mode: TargetMode): void {
    const s = this.set.get(connectorId) ?? { limits: {} };
    s.targetMode = mode;
    this.set.set(connectorId, s);
    this.check(connectorId);
  }

  targetMode(connectorId: number): TargetMode {
    return this.set.get(connectorId)?.targetMode ?? (this.o.targetStops.get(connectorId) ? 'stop' : 'estimate');
  }

  /** The limits as set (config default, or this session's value), without the target. */
  limits(connectorId: number): { energyWh: number | null; durationS: number | null; socPercent: number | null } {
    const d = this.o.defaults.get(connectorId) ?? {};
    const s = this.set.get(connectorId)?.limits ?? {};
    const pick = (k: keyof StopConditions) => (s[k] !== undefined ? s[k] : (d[k] ?? null));
    return { energyWh: pick('energyWh'), durationS: pick('durationS'), socPercent: pick('socPercent') };
  }

  effective(connectorId: number): EffectiveLimits {
    const l = this.limits(connectorId);
    const mode = this.targetMode(connectorId);
    const target = mode === 'stop' ? this.o.energyTargetWh(connectorId) : null;
    return { ...l, energyWh: tighter(l.energyWh, target), targetMode: mode };
  }

  /** Stop the running session if it reached a condition. Also called when the target changes. */
  check(connectorId: number): void {
    const r = this.current(connectorId);
    if (!r || r.stopping) return;
    const durations = this.station.liveDurations(connectorId);
    const reason = reachedLimit(this.effective(connectorId), {
      energyWh: r.registerWh === null ? 0 : Math.max(0, r.registerWh - r.meterStartWh),
      durationMs: durations?.durationMs ?? 0,
      socPercent: this.station.vehicle(connectorId).socPercent,
    });
    if (!reason) return;
    r.stopping = reason;
    r.durationTimer?.cancel();
    this.o.log?.info({ connectorId, sessionId: r.sessionId, reason, limits: this.effective(connectorId) }, 'session limit reached: ending the session');
    this.station.stopSession(connectorId, reason).then(
      (ok) => {
        if (!ok && this.current(connectorId) === r) r.stopping = undefined;
      },
      (err: Error) => {
        if (this.current(connectorId) === r) r.stopping = undefined;
        this.o.log?.error({ connectorId, err: err.message }, 'session limit: the stop failed');
      },
    );
  }

  /** The running session as this class follows it (also one that started before it was built). */
  private current(connectorId: number): Running | undefined {
    const rec = this.station.sessionOn(connectorId);
    if (!rec) return undefined;
    let r = this.running.get(connectorId);
    if (!r || r.sessionId !== rec.id) {
      r?.durationTimer?.cancel();
      r = { sessionId: rec.id, meterStartWh: rec.meterStartWh, registerWh: rec.checkpointEnergyWh };
      this.running.set(connectorId, r);
    }
    return r;
  }

  private schedule(connectorId: number): void {
    const r = this.current(connectorId);
    if (!r) return;
    r.durationTimer?.cancel();
    r.durationTimer = undefined;
    const ms = msToTimeLimit(this.effective(connectorId), this.station.liveDurations(connectorId)?.durationMs ?? 0);
    if (ms === null) return;
    r.durationTimer = this.station.clock.setTimeout(() => {
      this.check(connectorId);
      // Not reached yet (the duration is counted a little differently): look again when it is.
      if (!r.stopping && this.current(connectorId) === r) this.schedule(connectorId);
    }, ms);
  }
}
