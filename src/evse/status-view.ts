import { isoSeconds, type Clock } from '../hal/clock.js';
import type { Logger } from '../log.js';
import { wholeSeconds } from '../store/sessions.js';
import type { Connector } from './connector.js';
import type { ConnectorView, Reservation, ReservationView, SessionExtras, SessionExtrasProvider, StationInfo, StationView } from './port.js';
import type { Decision } from './current-arbiter.js';
import type { SmSnapshot } from './state-machine.js';

/** The read model of the station (GET /api/status, SSE, MQTT, OCPP status): a projection of the connectors. */
export class StatusView {
  private extrasProvider?: SessionExtrasProvider;
  private keptFor: (connectorId: number) => Reservation | undefined = () => undefined;
  private readonly startedMono: number;

  constructor(private readonly info: StationInfo, private readonly clock: Clock, private readonly log: Logger) {
    this.startedMono = clock.monoMs();
  }

  setSessionExtras(p: SessionExtrasProvider): void {
    this.extrasProvider = p;
  }

  /** The reservation each connector is kept for now (Reservations.keptFor). */
  setReservations(keptFor: (connectorId: number) => Reservation | undefined): void {
    this.keptFor = keptFor;
  }

  station(connectors: ConnectorView[]): StationView {
    return {
      ...this.info,
      clock: { wall: isoSeconds(this.clock.wallMs()), quality: this.clock.quality() },
      uptimeS: Math.floor((this.clock.monoMs() - this.startedMono) / 1000),
      connectors,
    };
  }

  connector(c: Connector, decision: Decision): ConnectorView {
    const snap = c.snapshot();
    const { latest: m, fresh: live, status: st } = c.meter();
    const rec = c.session();
    const d = c.liveDurations();
    // The register may be shown while stale (flagged); instantaneous values only while fresh.
    const energyWh = m && rec ? Math.max(0, m.energyImportWh - rec.meterStartWh) : 0;
    const x = rec ? this.extras(c.id, rec.id) : undefined;
    return {
      id: c.id,
      status: snap.status,
      reservation: reservationView(this.keptFor(c.id)),
      pilot: snap.pilot,
      diodeOk: snap.diodeOk,
      pilotOutput: snap.output,
      contactorClosed: snap.contactor,
      currentLimitA: offeredA(snap),
      limitSource: decision.source,
      phases: c.phases(),
      faults: snap.faults,
      available: snap.available,
      paused: snap.paused,
      meter: {
        energyWh: m?.energyImportWh ?? null,
        powerW: live ? live.powerW : null,
        voltageV: live ? live.voltageV : [],
        currentA: live ? live.currentA : [],
        powerPhaseW: live ? live.powerPhaseW : [],
        frequencyHz: live ? (live.frequencyHz ?? null) : null,
        health: st.health,
        stale: st.stale,
        ageS: m ? Math.round((this.clock.monoMs() - m.monoMs) / 100) / 10 : null,
        reads: { ok: st.okReads, failed: st.failedReads, rejected: st.rejectedReads, consecutiveFailures: st.failures, errors: st.errorCounts, lastError: st.lastError ?? null },
      },
      session: rec
        ? {
            id: rec.id,
            uid: rec.uid,
            idTag: rec.idTag,
            authSource: rec.authSource,
            startedAt: isoSeconds(rec.startWallMs),
            startedAtQuality: rec.startQuality,
            meterStartWh: rec.meterStartWh,
            meterStartProvisional: rec.meterStartProvisional,
            energyWh,
            ...wholeSeconds(d),
            cost: x?.costMinor !== undefined && x.currency ? { currency: x.currency, grossMinor: x.costMinor } : null,
            etaS: x?.etaS ?? null,
            etaBasis: x?.etaBasis ?? 'unknown',
            socPercent: x?.socPercent ?? c.vehicle().socPercent,
            target: { energyWh: x?.target?.energyWh ?? null, socPercent: x?.target?.socPercent ?? null, ...(x?.target?.mode ? { mode: x.target.mode } : {}) },
            ...(x?.limits ? { limits: x.limits } : {}),
            ...(x?.chargeNow !== undefined ? { chargeNow: x.chargeNow } : {}),
          }
        : null,
    };
  }

  private extras(connectorId: number, sessionId: number): SessionExtras | undefined {
    try {
      return this.extrasProvider?.(connectorId, sessionId);
    } catch (err) {
      this.log.debug({ err: (err as Error).message, connectorId }, 'session extras failed');
      return undefined;
    }
  }
}

/** The current offered to the EV now (A): the offer while the pilot carries PWM, else 0. */
export function offeredA(snap: Pick<SmSnapshot, 'output' | 'offerA'>): number {
  return snap.output.mode === 'pwm' ? snap.offerA : 0;
}

function reservationView(r: Reservation | undefined): ReservationView | null {
  if (!r) return null;
  return { reservationId: r.reservationId, idTag: r.idTag, parentIdTag: r.parentIdTag ?? null, expiresAt: isoSeconds(r.expiresAtMs), station: r.connectorId === 0 };
}
