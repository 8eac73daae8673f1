import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';

/** A session's final cost as stored (billing_session_costs); `costJson` is the itemisation as written. */
export interface CostRow {
  sessionId: number;
  currency: string;
  exponent: number;
  energyWh: number;
  netMinor: number;
  taxMinor: number;
  grossMinor: number;
  costJson: string;
  clockSynced: boolean;
  computedWallMs: number;
}

/**
 * The billing tables of a session (store/billing/migrations.ts): its tariff snapshot and its final
 * cost. Statements are prepared on first use, so a store opened read-only without the billing
 * tables can still be read by the parts that need none.
 * Every write made from a session hook runs inside the session's own transaction (same connection).
 */
export class BillingRecords {
  private stmt?: Record<'tariffJson' | 'insertTariff' | 'cost' | 'upsertCost' | 'costsToRepair' | 'grossTotal', Statement>;

  constructor(private readonly db: Db) {}

  private statements() {
    this.stmt ??= {
      tariffJson: this.db.prepare('SELECT tariff_json FROM billing_session_tariffs WHERE session_id = ?').pluck(),
      insertTariff: this.db.prepare('INSERT INTO billing_session_tariffs (session_id, tariff_json, snapshot_wall_ms) VALUES (?, ?, ?)'),
      cost: this.db.prepare('SELECT * FROM billing_session_costs WHERE session_id = ?'),
      upsertCost: this.db.prepare(
        `INSERT INTO billing_session_costs (session_id, currency, exponent, energy_wh, net_minor, tax_minor, gross_minor, cost_json, clock_synced, computed_wall_ms)
         VALUES (@sessionId, @currency, @exponent, @energyWh, @netMinor, @taxMinor, @grossMinor, @costJson, @clockSynced, @computedWallMs)
         ON CONFLICT (session_id) DO UPDATE SET currency = excluded.currency, exponent = excluded.exponent, energy_wh = excluded.energy_wh,
           net_minor = excluded.net_minor, tax_minor = excluded.tax_minor, gross_minor = excluded.gross_minor, cost_json = excluded.cost_json,
           clock_synced = excluded.clock_synced, computed_wall_ms = excluded.computed_wall_ms`,
      ),
      costsToRepair: this.db
        .prepare(
          `SELECT c.session_id FROM billing_session_costs c JOIN sessions s ON s.id = c.session_id
           WHERE c.clock_synced = 0 AND s.start_quality = 'synced' AND s.stop_quality = 'synced'`,
        )
        .pluck(),
      grossTotal: this.db.prepare('SELECT COALESCE(SUM(gross_minor), 0) FROM billing_session_costs WHERE currency = ?').pluck(),
    };
    return this.stmt;
  }

  tariffJson(sessionId: number): string | undefined {
    return this.statements().tariffJson.get(sessionId) as string | undefined;
  }

  insertTariff(sessionId: number, tariffJson: string, snapshotWallMs: number): void {
    this.statements().insertTariff.run(sessionId, tariffJson, snapshotWallMs);
  }

  cost(sessionId: number): CostRow | undefined {
    const r = this.statements().cost.get(sessionId) as Record<string, any> | undefined;
    return r
      ? {
          sessionId: r.session_id,
          currency: r.currency,
          exponent: r.exponent,
          energyWh: r.energy_wh,
          netMinor: r.net_minor,
          taxMinor: r.tax_minor,
          grossMinor: r.gross_minor,
          costJson: r.cost_json,
          clockSynced: r.clock_synced === 1,
          computedWallMs: r.computed_wall_ms,
        }
      : undefined;
  }

  upsertCost(c: CostRow): void {
    this.statements().upsertCost.run({ ...c, clockSynced: c.clockSynced ? 1 : 0 });
  }

  /** The gross cost of every costed session in a currency (minor units). */
  grossTotal(currency: string): number {
    return Number(this.statements().grossTotal.get(currency));
  }

  /** Sessions whose cost was computed from unsynced times but whose start and stop are synced now. */
  costsToRepair(): number[] {
    return this.statements().costsToRepair.all() as number[];
  }

  /** Runs `fn` in one transaction (nested inside a running one as a savepoint). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
