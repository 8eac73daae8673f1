import type { ConnectorView, PhaseCount, PhaseSwitchResult, StationPort } from '../evse/port.js';
import { join } from 'node:path';
import type { PvConfig } from '../config/pv.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Service } from '../util/service.js';
import type { GridPowerSource } from './grid-source.js';
import { PvController, type PvDecision, type PvMode, type PvSettings } from './pv.js';
import { PvModeFile } from './pv-mode-file.js';
import { MqttPowerSource } from './mqtt-power-source.js';
import { SiteGridPowerSource } from './site-grid-source.js';

/** What the API, MQTT and the dashboard may do with the PV logic. */
export interface PvControl {
  mode(): PvMode;
  setMode(mode: PvMode, by: string): void;
  status(): PvStatus;
  /** Called after every change of mode or state (MQTT republishes). */
  onChange(listener: () => void): () => void;
}

export interface PvStatus {
  mode: PvMode;
  state: PvDecision['state'];
  reason: string;
  surplusW: number | null;
  budgetA: number | null;
  timerS: number | null;
  phases: PhaseCount | null;
  switchesThisSession: number;
  source: Record<string, unknown>;
}

/** Ticks at least this often without a reading, so that a silent source goes stale on time. */
const IDLE_TICK_MS = 1000;
/** Measured current (A) above which a phase counts as drawn on (a 1-phase EV on a 3-phase connector). */
const DRAWING_A = 1;

export function pvSettings(cfg: PvConfig): PvSettings {
  const { mode: _m, source: _s, ...rest } = cfg;
  return rest;
}

/**
 * Runs the PV logic on the station clock: a tick on every grid reading (and at least once a
 * second), the station budget "pv" from its decision, phase requests to the station, and the
 * status section "pv".
 */
export class PvService implements Service, PvControl {
  private readonly controller: PvController;
  private readonly listeners = new Set<() => void>();
  private last: PvDecision;
  private lastBudget: number | null | undefined;
  private lastPhases: PhaseCount | null = null;
  private timer?: { cancel(): void };
  private unsubscribe?: () => void;
  private switching = false;
  private stopped = false;

  constructor(
    private readonly o: { station: StationPort; cfg: PvConfig; source: GridPowerSource; modeFile: PvModeFile; log: Logger },
  ) {
    const mode = o.modeFile.load() ?? o.cfg.mode;
    this.controller = new PvController(pvSettings(o.cfg), mode);
    this.last = { mode, state: mode === 'off' ? 'off' : 'idle', budgetA: null, phaseRequest: null, surplusW: null, reason: 'starting', timerS: null, switchesThisSession: 0 };
  }

  start(): this {
    this.o.station.registerStatus('pv', () => this.status());
    this.unsubscribe = this.o.source.onReading(() => this.tick());
    this.o.log.info({ mode: this.controller.getMode() }, 'PV surplus charging on');
    this.tick();
    return this;
  }

  mode(): PvMode {
    return this.controller.getMode();
  }

  setMode(mode: PvMode, by: string): void {
    if (mode !== this.controller.getMode()) {
      this.controller.setMode(mode);
      try {
        this.o.modeFile.save(mode);
      } catch (err) {
        this.o.log.error({ err: (err as Error).message, file: this.o.modeFile.path }, 'PV: cannot save the mode; it applies until the next restart');
      }
      this.o.log.info({ mode, by }, 'PV mode set');
    }
    this.tick();
  }

  status(): PvStatus {
    const d = this.last;
    return { mode: d.mode, state: d.state, reason: d.reason, surplusW: d.surplusW, budgetA: d.budgetA, timerS: d.timerS, phases: this.lastPhases, switchesThisSession: d.switchesThisSession, source: this.o.source.status(this.o.station.clock.monoMs()) };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.unsubscribe?.();
    this.o.station.clearBudget('pv');
    await this.o.source.close();
  }

  private tick(): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = this.o.station.clock.setTimeout(() => this.tick(), IDLE_TICK_MS);
    try {
      this.decide();
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'PV: tick failed');
    }
  }

  private decide(): void {
    const { station } = this.o;
    const nowMs = station.clock.monoMs();
    const charging = station.view().connectors.filter((c) => c.session !== null);
    const first = charging[0];
    const phases = first ? this.phasesOf(first) : null;
    this.lastPhases = phases?.active ?? null;
    const d = this.controller.tick({
      nowMs,
      gridW: this.o.source.latest(nowMs)?.powerW ?? null,
      evW: charging.reduce((sum, c) => sum + (!c.meter.stale && c.meter.powerW !== null ? Math.max(0, c.meter.powerW) : 0), 0),
      phases: phases?.active ?? 3,
      switchable: !!phases?.switchable && !this.switching,
      sessionActive: first !== undefined,
    });
    const changed = d.state !== this.last.state || d.mode !== this.last.mode || d.budgetA !== this.last.budgetA || d.reason !== this.last.reason;
    this.last = d;
    if (d.budgetA !== this.lastBudget) {
      if (d.budgetA === null) station.clearBudget('pv');
      else station.setBudget({ source: 'pv', phaseA: [d.budgetA, d.budgetA, d.budgetA] });
      this.lastBudget = d.budgetA;
    }
    if (d.phaseRequest !== null && first) this.switchPhases(first.id, d.phaseRequest);
    if (changed) for (const l of this.listeners) l();
  }

  private switchPhases(connectorId: number, phases: PhaseCount): void {
    this.switching = true;
    this.o.log.info({ connectorId, phases, reason: this.last.reason }, 'PV: phase switch requested');
    const done = (result: PhaseSwitchResult) => {
      this.switching = false;
      this.controller.phaseSwitchEnded(result);
      if (result !== 'Accepted') this.o.log.info({ connectorId, phases, result }, result === 'NotSupported' ? 'PV: no phase relay; automatic switching off' : 'PV: phase switch refused');
    };
    this.o.station.setPhases(connectorId, phases, 'pv').then(done, (err: Error) => {
      this.o.log.error({ connectorId, err: err.message }, 'PV: phase switch failed');
      done('Rejected');
    });
  }

  /**
   * The phases a connector charges on: what its relay connects (the configured phases without
   * one), narrowed to 1 when the EV measurably draws on one phase only.
   */
  private phasesOf(c: ConnectorView): { active: PhaseCount; switchable: boolean } {
    const { active, switchable } = c.phases;
    const a = c.meter.currentA;
    // A 1-phase EV on a 3-phase offer: it charges on one phase whatever the relay does.
    if (active === 3 && !c.meter.stale && a.length === 3 && a[0]! > DRAWING_A && a[1]! < DRAWING_A && a[2]! < DRAWING_A) return { active: 1, switchable: false };
    return { active, switchable };
  }
}

/**
 * The PV service of a config with a pv section: its grid power source and its mode file in the
 * storage directory (not started). With `source: site` the caller attaches load management's grid
 * meter poller to `site` once it runs.
 */
export function createPvService(o: { config: Config; station: StationPort; storageDir: string; log: Logger }): { pv: PvService; site?: SiteGridPowerSource } {
  const cfg = o.config.pv!;
  const site = cfg.source === 'site' ? new SiteGridPowerSource() : undefined;
  const source = cfg.source === 'site' ? site! : new MqttPowerSource({ cfg: cfg.source.mqtt, broker: o.config.mqtt, clientId: `evsed-${o.station.info.id}-pv`, monoMs: () => o.station.clock.monoMs(), log: o.log });
  return { pv: new PvService({ station: o.station, cfg, source, modeFile: new PvModeFile(join(o.storageDir, 'pv-mode.json')), log: o.log }), site };
}
