import type { Db } from './db.js';

/** A stored reservation (table reservations, core migration 4). */
export interface StoredReservation {
  reservationId: number;
  /** 0 = the station: any connector. */
  connectorId: number;
  idTag: string;
  parentIdTag: string | null;
  /** When it ends, in the reserver's wall-clock time (ms since the epoch). */
  expiryWallMs: number;
  createdWallMs: number;
}

/** The reservations in force, so they survive a restart. Every write commits at once (synchronous=FULL). */
export class ReservationStore {
  private readonly stmt;

  constructor(db: Db) {
    this.stmt = {
      list: db.prepare('SELECT * FROM reservations ORDER BY reservation_id'),
      // The same reservationId replaces the reservation (OCPP ReserveNow).
      put: db.prepare(`INSERT OR REPLACE INTO reservations (reservation_id, connector_id, id_tag, parent_id_tag, expiry_wall_ms, created_wall_ms)
        VALUES (@reservationId, @connectorId, @idTag, @parentIdTag, @expiryWallMs, @createdWallMs)`),
      remove: db.prepare('DELETE FROM reservations WHERE reservation_id = ?'),
    };
  }

  list(): StoredReservation[] {
    return (this.stmt.list.all() as Record<string, any>[]).map((r) => ({
      reservationId: r.reservation_id,
      connectorId: r.connector_id,
      idTag: r.id_tag,
      parentIdTag: r.parent_id_tag,
      expiryWallMs: r.expiry_wall_ms,
      createdWallMs: r.created_wall_ms,
    }));
  }

  put(r: StoredReservation): void {
    this.stmt.put.run({ ...r, expiryWallMs: Math.round(r.expiryWallMs), createdWallMs: Math.round(r.createdWallMs) });
  }

  remove(reservationId: number): void {
    this.stmt.remove.run(reservationId);
  }
}
