import { EventEmitter } from 'node:events';
import { withTimeout, type Clock } from '../hal/clock.js';
import type { Meter, MeterSnapshot } from '../hal/types.js';
import type { Logger } from '../log.js';
import type { Service } from '../util/service.js';
import type { ConnectorView, StationPort } from '../evse/port.js';
import { phaseTriple, type SiteConfig } from '../config/site.js';
import { MeterPoller, type PollerStatus } from '../meter/poller.js';
import { signedCurrents, siteBudget, type EvDraw, type GridReading, type LoadDecision, type PhaseRotation } from './load-manager.js';

/** The station budget's source name (StationBudget.source) and the status section's name. */
export const SITE_BUDGET_SOURCE = 'site';

/** How long a grid reading waits for the connector meters' fresh readings (a dead connector meter must not hold the budget up). */
export const EV_READ_WAIT_MS = 500;

export interface LoadServiceOptions {
  station: Pick<StationPort, 'registerStatus' | 'connectorIds' | 'connectorView' | 'readMeter' | 'setBudget' | 'on' | 'off'>;
  site: SiteConfig;
  /** The grid meter (meter/factory.ts createGridMeter). */
  meter: Meter;
  /** connectors[].phaseRotation per connector id; absent = L1L2L3. */
  rotations: ReadonlyMap<number, PhaseRotation>;
  clock: Pick<Clock, 'monoMs' | 'setTimeout'>;
  log: Logger;
}

/** GET /api/status `site`, MQTT and the dashboard. */
export interface SiteStatus {
  fuseA: number;
  marginA: number;
  fallbackA: number[];
  /** Grid current per phase (signed, import positive); null without a usable reading. */
  gridA: number[] | null;
  houseA: number[] | null;
  evA: number[];
  /** What all EVs together may draw per phase now. */
  budgetA: number[];
  fallbackActive: boolean;
  fallbackReason: string | null;
  meter: { model: string; health: PollerStatus['health']; stale: boolean; ageS: number | null; lastError: string | null; misconfigured: string | null; reads: { ok: number; failed: number; rejected: number } };
}

/**
 * Load management, the running part: polls the grid meter (the meter module's poller: back-off,
 * staleness, plausibility), computes the site budget on every reading and every change of the
 * meter's health (stale, offline), and gives it to the station as the `site` budget, which the
 * core shares among the connectors. Events: 'decision' (LoadDecision) after every computation.
 */
export class LoadService extends EventEmitter<{ decision: [LoadDecision] }> implements Service {
  readonly poller: MeterPoller;
  private last: LoadDecision;
  private grid: GridReading | null = null;
  private running = false;
  /** Per connector the offer and the contactor as last seen, and when one of them last changed (monotonic ms). */
  private readonly drawn = new Map<number, string>();
  /** Connectors whose contactor is known open: their EV draws nothing, their meter is not read for a pair. */
  private readonly open = new Set<number>();
  /** The EVs' currents read together with the grid reading in use. */
  private evs: EvDraw[] = [];
  private drawChangedMono = -Infinity;
  /** Logged once per episode of fallback, not per reading. */
  private inFallback = false;

  constructor(private readonly o: LoadServiceOptions) {
    super();
    const g = o.site.gridMeter;
    this.poller = new MeterPoller(o.meter, {
      connectorId: 0,
      intervalMs: g.pollIntervalMs,
      staleAfterMs: g.staleAfterS * 1000,
      // A grid connection's energy register may count the whole house at the fuse.
      maxPowerW: ('maxPowerW' in g && g.maxPowerW) || Math.ceil(o.site.fuseA * 3 * 253 * 1.5),
      clock: o.clock,
      log: o.log,
    });
    this.last = this.compute();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.o.station.registerStatus(SITE_BUDGET_SOURCE, () => this.status());
    for (const id of this.o.station.connectorIds()) if (this.o.station.connectorView(id)?.contactorClosed === false) this.open.add(id);
    this.o.station.on('status', this.onStatus);
    this.poller.on('snapshot', this.onSnapshot);
    this.poller.on('health', this.onHealth);
    // No reading yet: the fallback applies until the first one.
    this.apply();
    this.poller.start();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.o.station.off('status', this.onStatus);
    this.poller.off('snapshot', this.onSnapshot);
    this.poller.off('health', this.onHealth);
    await this.poller.close();
  }

  decision(): LoadDecision {
    return this.last;
  }

  status(): SiteStatus {
    const d = this.last;
    const ps = this.poller.status();
    const latest = this.poller.latest();
    const round = (p: readonly number[] | null) => (p ? p.map((a) => Math.round(a * 100) / 100) : null);
    return {
      fuseA: this.o.site.fuseA,
      marginA: this.o.site.marginA,
      fallbackA: phaseTriple(this.o.site.fallbackA),
      gridA: round(d.gridA),
      houseA: round(d.houseA),
      evA: round(d.evA)!,
      budgetA: [...d.budgetA],
      fallbackActive: d.fallback !== null,
      fallbackReason: d.fallback,
      meter: {
        model: this.o.site.gridMeter.model,
        health: ps.health,
        stale: ps.stale,
        ageS: latest ? Math.round((this.o.clock.monoMs() - latest.monoMs) / 100) / 10 : null,
        lastError: ps.lastError ?? null,
        misconfigured: ps.misconfigured,
        reads: { ok: ps.okReads, failed: ps.failedReads, rejected: ps.rejectedReads },
      },
    };
  }

  /**
   * house = grid - EVs holds only for readings taken together: an EV meter read a second earlier
   * than the grid meter misses an EV that just started (the house would seem to jump by its
   * current, the budget drop to 0 and suspend it). So every grid reading is followed by a fresh
   * reading of the connector meters whose contactor may carry current (an open one carries none:
   * no bus traffic for idle connectors), waited for at most EV_READ_WAIT_MS; a meter that does
   * not answer in time counts as drawing nothing, which over-counts the house: safe. A pair of
   * readings between which an offer or a contactor changed is not used either (the EV's draw
   * jumped between the two: the house would seem to jump by the difference); the next reading is.
   */
  private readonly onSnapshot = (snap: MeterSnapshot): void => {
    const evs: EvDraw[] = [];
    const reads = this.o.station
      .connectorIds()
      .filter((id) => !this.open.has(id))
      .map((id) =>
        this.o.station.readMeter(id).then(
          (s) => void evs.push({ connectorId: id, currentA: s.currentA, rotation: this.o.rotations.get(id) ?? 'L1L2L3' }),
          () => undefined,
        ),
      );
    void withTimeout(Promise.all(reads), EV_READ_WAIT_MS, this.o.clock)
      .catch(() => undefined)
      .then(() => {
        // Readings may finish out of order (a slow connector meter): never replace a newer one.
        if (this.grid && this.grid.monoMs > snap.monoMs) return;
        if (this.drawChangedMono >= snap.monoMs) {
          this.o.log.debug({ gridMonoMs: snap.monoMs, changedMonoMs: this.drawChangedMono }, 'load management: an offer changed while the meters were read; waiting for the next reading');
          return;
        }
        this.grid = { currentA: signedCurrents(snap.currentA, snap.powerPhaseW), monoMs: snap.monoMs };
        this.evs = [...evs];
        this.apply();
      });
  };

  private readonly onStatus = (view: ConnectorView): void => {
    if (view.contactorClosed) this.open.delete(view.id);
    else this.open.add(view.id);
    const drawn = `${view.currentLimitA}/${view.contactorClosed}`;
    if (this.drawn.get(view.id) === drawn) return;
    this.drawn.set(view.id, drawn);
    this.drawChangedMono = this.o.clock.monoMs();
  };

  private readonly onHealth = (): void => this.apply();

  private meterFault(): string | null {
    const ps = this.poller.status();
    if (ps.misconfigured) return `grid meter misconfigured: ${ps.misconfigured}`;
    if (ps.health === 'offline') return `grid meter offline${ps.lastError ? `: ${ps.lastError}` : ''}`;
    return null;
  }

  private compute(): LoadDecision {
    const s = this.o.site;
    return siteBudget(
      { fuseA: s.fuseA, marginA: s.marginA, fallbackA: phaseTriple(s.fallbackA), staleAfterMs: s.gridMeter.staleAfterS * 1000 },
      { nowMs: this.o.clock.monoMs(), grid: this.grid, meterFault: this.meterFault(), evs: this.evs },
    );
  }

  private apply(): void {
    if (!this.running) return;
    const d = this.compute();
    this.last = d;
    if (d.fallback !== null && !this.inFallback) {
      this.inFallback = true;
      // At start there is no reading yet: expected, not a warning.
      const level = this.grid ? 'warn' : 'info';
      this.o.log[level]({ reason: d.fallback, budgetA: d.budgetA }, 'load management: no usable grid meter reading, the EVs share the fallback current');
    } else if (d.fallback === null && this.inFallback) {
      this.inFallback = false;
      this.o.log.info({ budgetA: d.budgetA, houseA: d.houseA }, 'load management: budget from the house load (grid meter reading)');
    }
    this.o.station.setBudget({ source: SITE_BUDGET_SOURCE, phaseA: d.budgetA });
    this.emit('decision', d);
  }
}
