import type { Db } from '../db.js';

/** ChangeAvailability as the CSMS left it (table ocpp_availability), restored at start. */
export class AvailabilityRepository {
  private readonly st;

  constructor(private readonly db: Db) {
    this.st = {
      all: db.prepare('SELECT connector_id, available FROM ocpp_availability ORDER BY connector_id'),
      clear: db.prepare('DELETE FROM ocpp_availability'),
      put: db.prepare('INSERT OR REPLACE INTO ocpp_availability (connector_id, available) VALUES (?, ?)'),
    };
  }

  /** Connector 0 (the whole station) first, then each connector's own later change. */
  all(): { connectorId: number; available: boolean }[] {
    return (this.st.all.all() as { connector_id: number; available: number }[]).map((r) => ({ connectorId: r.connector_id, available: r.available === 1 }));
  }

  /** A change of connector 0 replaces every connector's own row. */
  save(connectorId: number, available: boolean): void {
    this.db.transaction(() => {
      if (connectorId === 0) this.st.clear.run();
      this.st.put.run(connectorId, available ? 1 : 0);
    })();
  }
}
