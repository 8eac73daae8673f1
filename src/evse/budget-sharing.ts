import type { SharingConfig } from '../config/sharing.js';
import type { Clock } from '../hal/clock.js';
import type { Logger } from '../log.js';
import { Allocator, DEFAULT_SETTLE_MS, type Allocation, type ConnectorInput } from './allocator.js';
import { decide, type CurrentArbiter } from './current-arbiter.js';
import type { SharingView, StationBudget } from './port.js';

export interface BudgetSharingOptions {
  config: SharingConfig;
  arbiter: CurrentArbiter;
  clock: Pick<Clock, 'monoMs' | 'setTimeout'>;
  log: Logger;
  /** The connectors as they are now; capA is filled in here (the arbiter without the budgets' claims). */
  connectors: () => Omit<ConnectorInput, 'capA'>[];
  /** The arbiter's decision for a connector changed: offer it. */
  applyOffer: (connectorId: number) => void;
}

const PHASE_NAMES = ['L1', 'L2', 'L3'] as const;

/**
 * The station budgets (StationBudget) and their sharing among the connectors: the allocator's
 * allowance for each connector becomes a hard claim named after the budget that decided it, so the
 * arbiter, the status and the offer treat it like any other limit. `update()` runs it again; the
 * station calls it on every change that can move an allowance (budgets, claims, sessions, status,
 * meter samples), and a timer calls it when a held increase or a resume hold falls due.
 */
export class BudgetSharing {
  private readonly budgets = new Map<string, StationBudget>();
  private readonly allocator: Allocator;
  /** The claim source this module holds on each connector. */
  private readonly claimed = new Map<number, string>();
  private last: Allocation | null = null;
  private timer: { cancel(): void } | null = null;
  private running = false;
  private again = false;

  constructor(private readonly o: BudgetSharingOptions) {
    this.allocator = new Allocator({
      mode: o.config.mode,
      increaseIntervalMs: o.config.increaseIntervalS * 1000,
      minIncreaseA: 1,
      resumeMarginA: o.config.resumeMarginA,
      resumeHoldMs: o.config.resumeHoldS * 1000,
      settleMs: DEFAULT_SETTLE_MS,
    });
  }

  set(budget: StationBudget): void {
    const phaseA = [...budget.phaseA] as [number, number, number];
    if (phaseA.length !== 3 || phaseA.some((a) => !Number.isFinite(a))) throw new RangeError(`budget ${budget.source}: phaseA must be three finite currents (got ${JSON.stringify(budget.phaseA)})`);
    this.budgets.set(budget.source, { source: budget.source, phaseA });
    this.update();
  }

  clear(source: string): void {
    if (this.budgets.delete(source)) this.update();
  }

  list(): StationBudget[] {
    return [...this.budgets.values()].map((b) => ({ source: b.source, phaseA: [...b.phaseA] as [number, number, number] }));
  }

  /** Is this claim one of the allowances (so not a limit of the connector's own)? */
  isAllowance(source: string, connectorId: number): boolean {
    return this.claimed.get(connectorId) === source;
  }

  /** Share the budgets out again and offer what changed. Re-entrant calls (an offer changes a status) run once more after. */
  update(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        this.run();
      } while (this.again);
    } finally {
      this.running = false;
    }
  }

  view(): SharingView {
    const a = this.last;
    return {
      mode: this.o.config.mode,
      budgets: this.list(),
      phaseA: a ? (a.phaseA.map((x) => (Number.isFinite(x) ? x : null)) as SharingView['phaseA']) : [null, null, null],
      phaseSource: a ? (a.phaseSource.map((s) => s || null) as SharingView['phaseSource']) : [null, null, null],
      allowances: a
        ? a.allowances.map((x) => ({ connectorId: x.id, amps: x.amps, targetA: x.targetA, source: x.source, suspended: x.suspended, sitePhases: x.sitePhases.map((p) => PHASE_NAMES[p]) }))
        : [],
    };
  }

  dispose(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private run(): void {
    this.timer?.cancel();
    this.timer = null;
    if (!this.budgets.size) {
      this.last = null;
      this.allocator.reset();
      for (const [id, source] of [...this.claimed]) {
        this.claimed.delete(id);
        if (this.o.arbiter.clear(source, id)) this.o.applyOffer(id);
      }
      return;
    }
    const now = this.o.clock.monoMs();
    const inputs = this.o.connectors().map((c) => ({ ...c, capA: this.ownCap(c.id) }));
    const result = this.allocator.allocate(inputs, [...this.budgets.values()], now);
    const before = this.last;
    this.last = result;
    for (const a of result.allowances) {
      const prev = this.claimed.get(a.id);
      const prevAmps = before?.allowances.find((x) => x.id === a.id)?.amps;
      if (prev === a.source && prevAmps === a.amps) continue;
      if (prev !== undefined && prev !== a.source) this.o.arbiter.clear(prev, a.id);
      this.o.arbiter.set({ source: a.source, connectorId: a.id, maxA: a.amps });
      this.claimed.set(a.id, a.source);
      if (prevAmps !== undefined && a.amps !== prevAmps) {
        this.o.log.info({ connectorId: a.id, from: prevAmps, to: a.amps, target: a.targetA, source: a.source, suspended: a.suspended }, 'station budget: allowance changed');
      }
      this.o.applyOffer(a.id);
    }
    if (result.nextAtMs !== null) {
      this.timer = this.o.clock.setTimeout(() => {
        this.timer = null;
        this.update();
      }, Math.max(0, result.nextAtMs - now));
    }
  }

  /** Every claim on the connector but its allowance. */
  private ownCap(id: number): number {
    return decide(this.o.arbiter.list(id).filter((c) => !(c.connectorId === id && this.claimed.get(id) === c.source))).amps;
  }
}
