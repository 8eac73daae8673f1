import type { Station } from '../evse/station.js';
import type { LiveExtras, LiveExtrasProvider } from '../telemetry/state.js';
import { ledgerExtras } from '../telemetry/extras.js';
import type { BillingLedger } from './ledger.js';
import { SessionEtaTracker, type EtaBasis, type EtaTarget } from './eta.js';

export interface SessionExtras extends LiveExtras {
  etaBasis: EtaBasis;
  socPercent: number | null;
  target: EtaTarget;
}

/**
 * What the owner sees of a running session beyond the meter: its live cost (from the billing
 * ledger, cached so a busy status page does not recompute it) and the time to finish (from the
 * observed power and a target: an energy target set through the API/MQTT, or 100 % SoC when the
 * EV's state of charge is known). One instance serves the API, MQTT and the dashboard.
 */
export class LiveSessionInfo {
  private readonly trackers = new Map<number, { sessionId: number; tracker: SessionEtaTracker }>();
  private readonly targets = new Map<number, EtaTarget>();
  private readonly cost: LiveExtrasProvider | null;

  constructor(private readonly station: Station, ledger: BillingLedger | null) {
    // Recomputing reads the session's stored samples: every 2 s keeps a busy status page cheap and the figure fresh.
    this.cost = ledger ? ledgerExtras({ ledger, station, costEveryMs: 2000 }) : null;
    station.on('sample', (s) => {
      const rec = s.sessionId === null ? undefined : station.sessions.get(s.sessionId);
      if (!rec) return;
      let t = this.trackers.get(s.connectorId);
      if (!t || t.sessionId !== rec.id) {
        const capacity = station.hardware(s.connectorId)?.batteryCapacityWh?.() ?? null;
        t = { sessionId: rec.id, tracker: new SessionEtaTracker({ batteryCapacityWh: capacity }) };
        this.trackers.set(s.connectorId, t);
      }
      t.tracker.observe({
        monoMs: station.clock.monoMs(),
        powerW: s.powerW,
        sessionEnergyWh: Math.max(0, s.energyWh - rec.meterStartWh),
        socPercent: this.soc(s.connectorId),
      });
    });
    station.on('session-stopped', (rec) => {
      this.trackers.delete(rec.connectorId);
      this.targets.delete(rec.connectorId);
    });
  }

  /** Target for the running (or next) session on a connector; null values remove it. */
  setTarget(connectorId: number, target: EtaTarget): void {
    this.targets.set(connectorId, { ...this.targets.get(connectorId), ...target });
  }

  extras(connectorId: number, sessionId: number): SessionExtras {
    const soc = this.soc(connectorId);
    const target: EtaTarget = { socPercent: soc !== null ? 100 : null, ...this.targets.get(connectorId) };
    const t = this.trackers.get(connectorId);
    const eta = t && t.sessionId === sessionId ? t.tracker.estimate(target) : { etaS: null, basis: 'unknown' as const };
    const cost = this.cost?.(connectorId, sessionId);
    return { costMinor: cost?.costMinor, currency: cost?.currency, etaS: eta.etaS, etaBasis: eta.basis, socPercent: soc, target };
  }

  /** For MQTT: the same numbers in its shape. */
  provider(): LiveExtrasProvider {
    return (connectorId, sessionId) => this.extras(connectorId, sessionId);
  }

  private soc(connectorId: number): number | null {
    return this.station.hardware(connectorId)?.socPercent?.() ?? null;
  }
}
