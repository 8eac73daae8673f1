import type { StationPort } from '../evse/port.js';
import { chargingTimersSchema, type ChargingTimer } from '../config/timers.js';
import type { Logger } from '../log.js';
import { timerState, type TimerState } from './timers.js';

export const TIMER_SOURCE = 'timer';
/** Above the PV logic's and OCPP TxDefault's preferences, below "charge now" (20). */
export const TIMER_PRIORITY = 10;
/**
 * The timers look again at least this often, whatever the next boundary: a wall clock set or
 * slewed without a 'sync' event (an RTC-less Pi's first NTP step is one) is followed within it.
 */
export const RECHECK_MS = 60_000;

export type TimerStation = Pick<StationPort, 'clock' | 'connectorIds' | 'setClaim' | 'clearClaim'>;

/** Where timers set at run time are kept (src/store/owner-settings.ts). */
export interface TimerStore {
  load(): unknown;
  /** null: back to the config's timers. */
  save(timers: readonly ChargingTimer[] | null): void;
}

export interface TimersStatus {
  timeZone: string;
  /** config: from the config file; api: set at run time (kept across restarts). */
  source: 'config' | 'api';
  timers: readonly ChargingTimer[];
  connectors: { id: number; applies: boolean; open: boolean; maxA: number | null; until: string | null }[];
}

/**
 * Drives the charging timers' claims: outside every window that applies to a connector, the
 * preference { source 'timer', maxA 0, priority 10 } suspends it (SuspendedEVSE); inside one,
 * none (or the window's maxA). The state is computed (timers.ts, pure) at each window boundary on
 * the station clock's timers, at least every RECHECK_MS, and at once when the clock is set
 * ('sync': an RTC-less Pi starts in 1970 and learns the time later).
 */
export class ChargingTimers {
  private list: readonly ChargingTimer[];
  private source: 'config' | 'api' = 'config';
  private timer?: { cancel(): void };
  private readonly applied = new Map<number, number | undefined>();
  private readonly onSync = () => this.evaluate();
  private running = false;

  constructor(
    private readonly station: TimerStation,
    private readonly o: { timers: readonly ChargingTimer[]; timeZone: string; store?: TimerStore; log?: Logger },
  ) {
    this.list = o.timers;
    const stored = o.store?.load();
    if (stored !== undefined && stored !== null) {
      const parsed = chargingTimersSchema.safeParse(stored);
      if (parsed.success) {
        this.list = parsed.data;
        this.source = 'api';
      } else o.log?.warn({ err: parsed.error.message }, 'stored charging timers are not valid: the config\'s apply');
    }
  }

  start(): void {
    this.running = true;
    this.station.clock.on('sync', this.onSync);
    this.evaluate();
  }

  stop(): void {
    this.running = false;
    this.station.clock.off('sync', this.onSync);
    this.timer?.cancel();
  }

  timers(): readonly ChargingTimer[] {
    return this.list;
  }

  /** Replace the timers at run time (kept in the store); null returns to the config's. */
  set(timers: readonly ChargingTimer[] | null): void {
    this.o.store?.save(timers);
    this.list = timers ?? this.o.timers;
    this.source = timers ? 'api' : 'config';
    this.evaluate();
  }

  state(connectorId: number): TimerState {
    return timerState(this.list, connectorId, this.station.clock.wallMs(), this.o.timeZone);
  }

  status(): TimersStatus {
    return {
      timeZone: this.o.timeZone,
      source: this.source,
      timers: this.list,
      connectors: this.station.connectorIds().map((id) => {
        const s = this.state(id);
        return { id, applies: s.applies, open: s.open, maxA: s.maxA ?? null, until: s.untilMs === null ? null : new Date(s.untilMs).toISOString() };
      }),
    };
  }

  /** Apply the timers' claims now and wait for the next boundary. */
  evaluate(): void {
    if (!this.running) return;
    this.timer?.cancel();
    const now = this.station.clock.wallMs();
    let next = now + RECHECK_MS;
    for (const id of this.station.connectorIds()) {
      const s = timerState(this.list, id, now, this.o.timeZone);
      if (s.nextChangeMs !== null) next = Math.min(next, s.nextChangeMs);
      if (this.applied.has(id) && this.applied.get(id) === s.maxA) continue;
      this.applied.set(id, s.maxA);
      if (s.maxA === undefined) this.station.clearClaim(TIMER_SOURCE, id);
      else this.station.setClaim({ source: TIMER_SOURCE, connectorId: id, maxA: s.maxA, priority: TIMER_PRIORITY });
      this.o.log?.info({ connectorId: id, open: s.open, maxA: s.maxA ?? null, until: s.untilMs === null ? null : new Date(s.untilMs).toISOString() }, s.applies ? (s.open ? 'charging timer: window open' : 'charging timer: outside every window, charging waits') : 'charging timer: none applies');
    }
    this.timer = this.station.clock.setTimeout(() => this.evaluate(), Math.max(0, next - now));
  }
}
