import type { Db } from './db.js';
import type { FaultKind } from '../domain/types.js';
import type { Stamp } from '../hal/clock.js';

/** A fault that keeps a connector locked out across restarts until a technician clears it (FAULTS[kind].persisted). */
export interface Lockout {
  connectorId: number;
  kind: FaultKind;
  sinceWallMs: number;
  reason: string | null;
}

/** Table connector_lockouts (core migration 3). Every write commits at once (synchronous=FULL). */
export class LockoutStore {
  private readonly stmt;

  constructor(db: Db) {
    this.stmt = {
      list: db.prepare('SELECT connector_id, kind, since_wall_ms, reason FROM connector_lockouts ORDER BY connector_id, kind'),
      // The first record wins: a lockout restored at start keeps its original time.
      set: db.prepare('INSERT OR IGNORE INTO connector_lockouts (connector_id, kind, since_wall_ms, since_quality, reason) VALUES (?, ?, ?, ?, ?)'),
      clear: db.prepare('DELETE FROM connector_lockouts WHERE connector_id = ? AND kind = ?'),
    };
  }

  list(connectorId?: number): Lockout[] {
    const rows = this.stmt.list.all() as { connector_id: number; kind: FaultKind; since_wall_ms: number; reason: string | null }[];
    return rows
      .filter((r) => connectorId === undefined || r.connector_id === connectorId)
      .map((r) => ({ connectorId: r.connector_id, kind: r.kind, sinceWallMs: r.since_wall_ms, reason: r.reason }));
  }

  set(connectorId: number, kind: FaultKind, at: Stamp, reason: string | null = null): void {
    this.stmt.set.run(connectorId, kind, Math.round(at.wallMs), at.quality, reason);
  }

  clear(connectorId: number, kind: FaultKind): void {
    this.stmt.clear.run(connectorId, kind);
  }
}
