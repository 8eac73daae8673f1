import type { SessionExtras, SessionExtrasProvider, StationEvents, StationPort } from '../evse/port.js';
import type { SessionStore } from '../store/sessions.js';
import { Subscriptions } from '../util/subscriptions.js';
import type { BillingLedger } from './ledger.js';
import { SessionEtaTracker, type EtaBasis, type EtaTarget } from './eta.js';
import { grossPricePerKWh } from './price-now.js';

/** Live cost and time to finish of a running session, as the station view, the API and MQTT show them. */
export interface LiveExtras extends SessionExtras {
  etaS: number | null;
  etaBasis: EtaBasis;
  socPercent: number | null;
  target: EtaTarget;
}

/** The energy target of a connector's running (or next) session, read and set over MQTT. */
export interface EnergyTargets {
  /** Wh; null = no target. */
  energyWh(connectorId: number): number | null;
  /** null removes the target (for this session also the connector's configured default). */
  setEnergyWh(connectorId: number, energyWh: number | null): void;
}

/** The sessions as live info reads them. */
export type LiveSessions = Pick<SessionStore, 'get'>;

/** A running session's cost is computed again at most this often (it reads the session's stored samples). */
const COST_EVERY_MS = 2000;

interface Running {
  sessionId: number;
  tracker: SessionEtaTracker;
  registerWh: number;
  cost?: { atMs: number; costMinor?: number; currency?: string };
}

/**
 * What the owner sees of a running session beyond the meter: its live cost (from the billing
 * ledger, cached so a busy status page does not recompute it) and the time to finish (from the
 * observed power and a target: an energy target from the connector's config
 * (connectors[].energyTargetWh), set through the API (POST /api/connectors/:id/target) or over
 * MQTT (session/target_energy/set), or 100 % SoC when the EV's state of charge is known). One
 * instance serves the API, MQTT and the dashboard.
 *
 * A target set through the API or MQTT is for the running session, or for the next one when none
 * runs; when that session ends the connector's configured default applies again.
 *
 * It works only from the readings it is sent and the session store, never from the station's
 * view: the view asks this class for its extras. `stop()` removes its listeners.
 */
export class LiveSessionInfo {
  private readonly running = new Map<number, Running>();
  /** Set through the API/MQTT for the running (or next) session; a null value removes the default too. */
  private readonly targets = new Map<number, EtaTarget>();
  /** connectors[].energyTargetWh */
  private readonly defaultEnergyWh: ReadonlyMap<number, number>;
  private readonly subs = new Subscriptions();

  constructor(
    private readonly station: StationPort,
    private readonly sessions: LiveSessions,
    private readonly ledger: BillingLedger | null,
    opts: { energyTargetWh?: ReadonlyMap<number, number> } = {},
  ) {
    this.defaultEnergyWh = opts.energyTargetWh ?? new Map();
    const on = this.subs.events<StationEvents>(station);
    on('sample', (s) => {
      const rec = s.sessionId === null ? undefined : sessions.get(s.sessionId);
      if (!rec) return;
      let r = this.running.get(s.connectorId);
      if (!r || r.sessionId !== rec.id) {
        const capacity = station.vehicle(s.connectorId).batteryCapacityWh;
        r = { sessionId: rec.id, tracker: new SessionEtaTracker({ batteryCapacityWh: capacity }), registerWh: s.energyWh };
        this.running.set(s.connectorId, r);
      }
      r.registerWh = s.energyWh;
      r.tracker.observe({
        monoMs: station.clock.monoMs(),
        powerW: s.powerW,
        sessionEnergyWh: Math.max(0, s.energyWh - rec.meterStartWh),
        socPercent: this.soc(s.connectorId),
      });
    });
    on('session-stopped', (rec) => {
      this.running.delete(rec.connectorId);
      this.targets.delete(rec.connectorId);
    });
  }

  /** Stop following the station (the daemon stops it with its services). */
  stop(): void {
    this.subs.clear();
  }

  /** Target for the running (or next) session on a connector; null values remove it. */
  setTarget(connectorId: number, target: EtaTarget): void {
    this.targets.set(connectorId, { ...this.targets.get(connectorId), ...target });
  }

  /** The energy target (Wh) in force for the running session on a connector, or the next one; null = none. */
  energyTargetWh(connectorId: number): number | null {
    const set = this.targets.get(connectorId);
    return set && set.energyWh !== undefined ? set.energyWh : (this.defaultEnergyWh.get(connectorId) ?? null);
  }

  /** For MQTT: read and set the energy target. */
  energyTargets(): EnergyTargets {
    return {
      energyWh: (connectorId) => this.energyTargetWh(connectorId),
      setEnergyWh: (connectorId, wh) => this.setTarget(connectorId, { energyWh: wh }),
    };
  }

  extras(connectorId: number, sessionId: number): LiveExtras {
    const soc = this.soc(connectorId);
    const target: EtaTarget = { socPercent: soc !== null ? 100 : null, ...this.targets.get(connectorId), energyWh: this.energyTargetWh(connectorId) };
    const r = this.running.get(connectorId);
    const current = r && r.sessionId === sessionId ? r : undefined;
    const eta = current ? current.tracker.estimate(target) : { etaS: null, basis: 'unknown' as const };
    const cost = this.cost(connectorId, sessionId, current);
    return { costMinor: cost?.costMinor, currency: cost?.currency, etaS: eta.etaS, etaBasis: eta.basis, socPercent: soc, target };
  }

  /**
   * The price now and what every session cost so far (stored final costs plus the running
   * sessions' live cost), in the current tariff's currency; null without a tariff.
   */
  stationCosts(): { currency: string; pricePerKWh: number; totalMinor: number } | null {
    const tariff = this.ledger?.currentTariff();
    if (!this.ledger || !tariff) return null;
    let totalMinor = this.ledger.totalGross(tariff.currency);
    for (const id of this.station.connectorIds()) {
      const rec = this.station.sessionOn(id);
      if (!rec) continue;
      const c = this.cost(id, rec.id, this.running.get(id)?.sessionId === rec.id ? this.running.get(id) : undefined);
      if (c?.costMinor !== undefined && c.currency === tariff.currency) totalMinor += c.costMinor;
    }
    return { currency: tariff.currency, pricePerKWh: grossPricePerKWh(tariff, this.station.clock.wallMs()), totalMinor };
  }

  /** For MQTT: the same numbers, for the running session and once for a session that just ended (its final cost). */
  provider(): SessionExtrasProvider {
    return (connectorId, sessionId) => this.extras(connectorId, sessionId);
  }

  private cost(connectorId: number, sessionId: number, r: Running | undefined): { costMinor?: number; currency?: string } | undefined {
    if (!this.ledger) return undefined;
    const now = this.station.clock.monoMs();
    if (r?.cost && now - r.cost.atMs < COST_EVERY_MS) return r.cost;
    const rec = this.sessions.get(sessionId);
    if (!rec) return undefined;
    const pluggedMs = rec.status === 'active' ? this.station.liveDurations(connectorId)?.durationMs : undefined;
    const c = this.ledger.liveCostFor(rec, { wallMs: this.station.clock.wallMs(), energyWh: r?.registerWh ?? rec.checkpointEnergyWh ?? rec.meterStartWh }, pluggedMs);
    const value = { atMs: now, ...(c ? { costMinor: c.gross, currency: c.currency } : {}) };
    if (r) r.cost = value;
    return value;
  }

  private soc(connectorId: number): number | null {
    return this.station.vehicle(connectorId).socPercent;
  }
}
