import type { Clock } from '../hal/clock.js';
import type { Logger } from '../log.js';
import type { ReservationStore } from '../store/reservations.js';
import type { Reservation, ReservationEnd, ReserveResult } from './port.js';
import { requiredOn, reserveResult, showsReserved, usableOn, type Occupancy } from './reservation-rules.js';

export interface ReservationsDeps {
  clock: Pick<Clock, 'monoMs' | 'wallMs' | 'setTimeout'>;
  store: ReservationStore;
  /** Every connector as the rules see it now. */
  occupancy(): Occupancy[];
  /** Reservations a tag waiting for its plug on some connector will use: they need no free connector kept. */
  claimed(): number[];
  /** A reservation was taken, replaced or ended: the connectors' Reserved flags are due again. */
  changed(r: Reservation, ended: ReservationEnd | null): void;
  log: Logger;
}

/** The longest a timer waits in one go (a day; Node's own limit is about 24.8 days). */
const MAX_TIMER_MS = 24 * 3_600_000;

interface Held {
  r: Reservation;
  timer: { cancel(): void };
}

/**
 * The reservations in force, kept in the store so they survive a restart.
 *
 * Expiry runs on the monotonic clock: when a reservation is taken (or restored at start) its end
 * becomes a monotonic deadline, now + (expiresAtMs - wall clock now). A jump of the wall clock
 * afterwards (an NTP step, someone setting the date) neither shortens nor lengthens it. The Pi has
 * no RTC, so at start (and whenever the clock was not yet trustworthy) the wall clock may be off:
 * when it becomes trustworthy (the clock's 'sync': NTP or the CSMS's time) every deadline is
 * derived again from the reserver's expiry time. A reservation that expired while the station was
 * off ends at start, before the first status is reported; one judged by a clock that was still
 * behind ends at the sync.
 */
export class Reservations {
  private readonly held = new Map<number, Held>();

  constructor(private readonly d: ReservationsDeps) {}

  list(): Reservation[] {
    return [...this.held.values()].map((h) => h.r);
  }

  /** Restore the stored reservations (at start, before the connectors report a status). */
  restore(knownConnector: (id: number) => boolean): void {
    for (const s of this.d.store.list()) {
      const r: Reservation = { reservationId: s.reservationId, connectorId: s.connectorId, idTag: s.idTag, expiresAtMs: s.expiryWallMs, ...(s.parentIdTag ? { parentIdTag: s.parentIdTag } : {}) };
      if (s.connectorId !== 0 && !knownConnector(s.connectorId)) {
        this.d.log.warn({ reservationId: r.reservationId, connectorId: r.connectorId }, 'stored reservation of a connector this station no longer has: dropped');
        this.d.store.remove(r.reservationId);
        continue;
      }
      if (r.expiresAtMs <= this.d.clock.wallMs()) {
        this.d.log.info({ reservationId: r.reservationId, connectorId: r.connectorId, expiresAt: new Date(r.expiresAtMs).toISOString() }, 'reservation expired while the station was off: ended');
        this.d.store.remove(r.reservationId);
        continue;
      }
      this.hold(r);
      this.d.log.info({ reservationId: r.reservationId, connectorId: r.connectorId, idTag: r.idTag, expiresAt: new Date(r.expiresAtMs).toISOString() }, 'reservation restored');
    }
  }

  /** A new reservation, or one replacing the one with its reservationId. */
  reserve(r: Reservation): ReserveResult {
    if (r.expiresAtMs <= this.d.clock.wallMs()) {
      this.d.log.info({ reservationId: r.reservationId }, 'reservation refused: its expiry time has passed');
      return 'Rejected';
    }
    const result = reserveResult(r, this.list(), this.d.occupancy());
    if (result !== 'Accepted') {
      this.d.log.info({ reservationId: r.reservationId, connectorId: r.connectorId, result }, 'reservation refused');
      return result;
    }
    const old = this.held.get(r.reservationId);
    if (old) this.drop(old, 'replaced', false);
    this.d.store.put({ reservationId: r.reservationId, connectorId: r.connectorId, idTag: r.idTag, parentIdTag: r.parentIdTag ?? null, expiryWallMs: r.expiresAtMs, createdWallMs: this.d.clock.wallMs() });
    this.hold(r);
    this.d.log.info({ reservationId: r.reservationId, connectorId: r.connectorId, idTag: r.idTag, expiresAt: new Date(r.expiresAtMs).toISOString(), replaced: !!old }, 'reservation accepted');
    this.d.changed(r, null);
    return 'Accepted';
  }

  cancel(reservationId: number): boolean {
    const h = this.held.get(reservationId);
    if (!h) return false;
    this.drop(h, 'cancelled');
    return true;
  }

  /** A session started with this reservation: it has done its job. */
  used(reservationId: number): void {
    const h = this.held.get(reservationId);
    if (h) this.drop(h, 'used');
  }

  /** The reservations a tag must match to use the connector now (null: anyone may). */
  requiredOn(connectorId: number): Reservation[] | null {
    return requiredOn(connectorId, this.unclaimed(), this.d.occupancy());
  }

  /** The reservations a session on the connector may use: its own and the station's. */
  usableOn(connectorId: number): Reservation[] {
    return usableOn(connectorId, this.list());
  }

  /** The reservation a connector is kept for now (its Reserved status), or undefined. */
  keptFor(connectorId: number): Reservation | undefined {
    const occ = this.d.occupancy();
    const c = occ.find((x) => x.id === connectorId);
    const open = this.unclaimed();
    if (!c || !showsReserved(c, open, occ)) return undefined;
    return requiredOn(connectorId, open, occ)?.[0];
  }

  /** The reservations no authorised tag is on its way to use. */
  private unclaimed(): Reservation[] {
    const claimed = new Set(this.d.claimed());
    return this.list().filter((r) => !claimed.has(r.reservationId));
  }

  /**
   * A connector became Faulted or Unavailable: its reservation ends; a station reservation ends
   * when no connector is left that could serve it.
   */
  connectorsChanged(): void {
    const occ = this.d.occupancy();
    for (const h of [...this.held.values()]) {
      const on = h.r.connectorId === 0 ? occ : occ.filter((c) => c.id === h.r.connectorId);
      if (!on.length) continue;
      if (on.every((c) => !c.available)) this.drop(h, 'unavailable');
      else if (on.every((c) => !c.available || c.faulted)) this.drop(h, 'faulted');
    }
  }

  /** The wall clock became trustworthy: every deadline again from the reserver's expiry time. */
  clockSynced(): void {
    for (const h of [...this.held.values()]) {
      h.timer.cancel();
      this.held.delete(h.r.reservationId);
      this.hold(h.r);
    }
  }

  stop(): void {
    for (const h of this.held.values()) h.timer.cancel();
  }

  private hold(r: Reservation): void {
    const deadlineMono = this.d.clock.monoMs() + Math.max(0, r.expiresAtMs - this.d.clock.wallMs());
    this.arm(r, deadlineMono);
  }

  /** A timer to the monotonic deadline, in steps a timer can wait (Node fires one longer than 2^31-1 ms at once). */
  private arm(r: Reservation, deadlineMono: number): void {
    const left = Math.max(0, deadlineMono - this.d.clock.monoMs());
    const timer = this.d.clock.setTimeout(() => {
      const h = this.held.get(r.reservationId);
      if (h?.r !== r) return;
      if (left > MAX_TIMER_MS) this.arm(r, deadlineMono);
      else this.drop(h, 'expired');
    }, Math.min(left, MAX_TIMER_MS));
    this.held.set(r.reservationId, { r, timer });
  }

  private drop(h: Held, why: ReservationEnd, announce = true): void {
    h.timer.cancel();
    this.held.delete(h.r.reservationId);
    if (why !== 'replaced') this.d.store.remove(h.r.reservationId);
    this.d.log.info({ reservationId: h.r.reservationId, connectorId: h.r.connectorId, idTag: h.r.idTag, why }, `reservation ended: ${why}`);
    if (announce) this.d.changed(h.r, why);
  }
}
