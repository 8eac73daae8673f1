import type { Db } from '../store/db.js';
import type { Logger } from '../log.js';
import type { SessionRecord, SessionStore } from '../store/sessions.js';
import type { ExtraColumns } from '../store/export.js';
import type { Tariff } from './config.js';
import { formatMinor } from './money.js';
import { chargingEndIndex, computeCost, liveCost, type Cost, type MeterPoint } from './tariff.js';

/** A session's final cost as stored. */
export interface StoredCost extends Cost {
  sessionId: number;
  /** false when the session's start or stop time was taken before the clock was synced. */
  clockSynced: boolean;
  computedWallMs: number;
}

interface SampleRow {
  wall_ms: number;
  mono_ms: number;
  boot_id: string;
  energy_wh: number;
}

/**
 * Billing bound to the session store. `install()` registers hooks that run inside the session's
 * own transactions: at start the tariff in force is snapshotted, at stop the final cost is computed
 * from the session's samples under that snapshot and stored. No tariff configured = no snapshot =
 * no cost (costOf returns null), never a made-up zero.
 */
export class BillingLedger {
  /** Snapshots are immutable, so they are cached once read. */
  private readonly snapshots = new Map<number, Tariff>();

  private readonly now: () => number;
  private readonly log: Logger | undefined;

  constructor(
    private readonly store: SessionStore,
    private tariff: Tariff | null,
    opts: { now?: () => number; log?: Logger } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
  }

  /**
   * Register the start/stop hooks on the store (once). A billing failure never stops a session
   * from starting or stopping: it is logged and the session has no snapshot / no cost (visible
   * as null, and a cost can be recomputed later).
   */
  install(): this {
    this.store.addHooks({
      onStart: (s, db) => this.guard('snapshot the tariff', s, () => this.snapshot(s, db)),
      onStop: (s, db) => this.guard('compute the final cost', s, () => this.storeFinalCost(s, db)),
      // A provisional meter value replaced by the register: the final cost follows the corrected energy.
      onCorrect: (s, db) => this.guard('recompute the cost', s, () => this.storeFinalCost(s, db)),
    });
    return this;
  }

  private guard(what: string, s: SessionRecord, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log?.error({ err, sessionId: s.id }, `billing: could not ${what} of session ${s.id}: ${(err as Error).message}`);
    }
  }

  /** The tariff for sessions that start from now on; running and past sessions keep theirs. */
  setTariff(tariff: Tariff | null): void {
    this.tariff = tariff;
  }

  /** The tariff snapshotted with a session, or null if it started without one. */
  tariffOf(sessionId: number): Tariff | null {
    const cached = this.snapshots.get(sessionId);
    if (cached) return cached;
    const json = this.db.prepare('SELECT tariff_json FROM billing_session_tariffs WHERE session_id = ?').pluck().get(sessionId) as string | undefined;
    if (!json) return null; // not cached: the session may not exist yet
    const t = JSON.parse(json) as Tariff;
    this.snapshots.set(sessionId, t);
    return t;
  }

  /** The stored final cost of a completed session, or null (no tariff, or not completed). */
  costOf(sessionId: number): StoredCost | null {
    const r = this.db.prepare('SELECT * FROM billing_session_costs WHERE session_id = ?').get(sessionId) as Record<string, any> | undefined;
    return r ? toStoredCost(r) : null;
  }

  /**
   * The cost so far of an active session (or the stored cost of a completed one). `latest` is the
   * newest reading; `pluggedMs` the session's monotonic duration so far, if known.
   */
  liveCostFor(session: SessionRecord, latest: MeterPoint, pluggedMs?: number): Cost | null {
    if (session.status === 'completed') return this.costOf(session.id);
    const tariff = this.tariffOf(session.id);
    if (!tariff) return null;
    const samples = this.store.samples(session.id).map((s) => ({ wallMs: s.wallMs, energyWh: s.energyWh }));
    return liveCost(tariff, session, samples, latest, pluggedMs ?? Math.max(session.durationMs, latest.wallMs - session.startWallMs));
  }

  /**
   * Compute a completed session's cost again from its snapshot and samples (e.g. after the clock
   * was synced and its timestamps repaired). The snapshot is used, never the current tariff.
   */
  recompute(sessionId: number): StoredCost | null {
    const s = this.store.get(sessionId);
    if (!s || s.status !== 'completed') return null;
    this.db.transaction(() => this.storeFinalCost(s, this.db))();
    return this.costOf(sessionId);
  }

  /** Recompute the costs that were computed with unsynced times whose sessions are now synced. Returns how many. */
  recomputeRepaired(): number {
    const ids = this.db
      .prepare(`SELECT c.session_id FROM billing_session_costs c JOIN sessions s ON s.id = c.session_id
                WHERE c.clock_synced = 0 AND s.start_quality = 'synced' AND s.stop_quality = 'synced'`)
      .pluck()
      .all() as number[];
    for (const id of ids) this.recompute(id);
    return ids.length;
  }

  /** Names for tags (idTag → name) as stored through the API. */
  tagNames(): Map<string, string> {
    const rows = this.db.prepare('SELECT id_tag, name FROM billing_tag_names ORDER BY id_tag').all() as { id_tag: string; name: string }[];
    return new Map(rows.map((r) => [r.id_tag, r.name]));
  }

  /** Set (or with null/empty, remove) the name shown for a tag. */
  setTagName(idTag: string, name: string | null): void {
    const n = name?.trim();
    if (!n) {
      this.db.prepare('DELETE FROM billing_tag_names WHERE id_tag = ?').run(idTag);
      return;
    }
    if (n.length > 80) throw new Error('tag name must be at most 80 characters');
    this.db
      .prepare(`INSERT INTO billing_tag_names (id_tag, name, updated_wall_ms) VALUES (?, ?, ?)
                ON CONFLICT (id_tag) DO UPDATE SET name = excluded.name, updated_wall_ms = excluded.updated_wall_ms`)
      .run(idTag, n, this.now());
  }

  private get db(): Db {
    return this.store.db;
  }

  private snapshot(session: SessionRecord, db: Db): void {
    // Not cached here: if the start transaction rolls back, its id may be used again.
    if (!this.tariff) return;
    db.prepare('INSERT INTO billing_session_tariffs (session_id, tariff_json, snapshot_wall_ms) VALUES (?, ?, ?)').run(
      session.id,
      JSON.stringify(this.tariff),
      session.startWallMs,
    );
  }

  private storeFinalCost(session: SessionRecord, db: Db): void {
    const tariff = this.tariffOf(session.id);
    if (!tariff || session.stopWallMs === null || session.meterStopWh === null) return;
    const rows = db
      .prepare('SELECT wall_ms, mono_ms, boot_id, energy_wh FROM meter_samples WHERE session_id = ? ORDER BY id')
      .all(session.id) as SampleRow[];
    const samples = rows.map((r) => ({ wallMs: r.wall_ms, energyWh: r.energy_wh }));
    const cost = computeCost(tariff, {
      startWallMs: session.startWallMs,
      meterStartWh: session.meterStartWh,
      endWallMs: session.stopWallMs,
      meterEndWh: session.meterStopWh,
      samples,
      pluggedMs: session.durationMs,
      idleAfterChargingMs: this.idleAfterChargingMs(session, rows, db),
    });
    const synced = session.startQuality === 'synced' && session.stopQuality === 'synced';
    db.prepare(
      `INSERT INTO billing_session_costs (session_id, currency, exponent, energy_wh, net_minor, tax_minor, gross_minor, cost_json, clock_synced, computed_wall_ms)
       VALUES (@id, @currency, @exponent, @energyWh, @net, @tax, @gross, @json, @synced, @at)
       ON CONFLICT (session_id) DO UPDATE SET currency = excluded.currency, exponent = excluded.exponent, energy_wh = excluded.energy_wh,
         net_minor = excluded.net_minor, tax_minor = excluded.tax_minor, gross_minor = excluded.gross_minor, cost_json = excluded.cost_json,
         clock_synced = excluded.clock_synced, computed_wall_ms = excluded.computed_wall_ms`,
    ).run({
      id: session.id,
      currency: cost.currency,
      exponent: cost.exponent,
      energyWh: cost.energyWh,
      net: cost.net,
      tax: cost.tax,
      gross: cost.gross,
      json: JSON.stringify(cost),
      synced: synced ? 1 : 0,
      at: this.now(),
    });
  }

  /**
   * Plugged-in time after the first reading that already showed the final register value: the
   * session's duration (monotonic; for a session recovered after a power loss, up to its last
   * checkpoint) minus the time from start to that reading (monotonic when both lie in the same
   * boot, wall clock otherwise), within [0, duration].
   */
  private idleAfterChargingMs(session: SessionRecord, rows: SampleRow[], db: Db): number {
    const i = chargingEndIndex(
      { wallMs: session.startWallMs, energyWh: session.meterStartWh },
      rows.map((r) => ({ wallMs: r.wall_ms, energyWh: r.energy_wh })),
      { wallMs: session.stopWallMs!, energyWh: session.meterStopWh! },
    );
    if (i >= rows.length) return 0; // still drawing at the stop
    if (i < 0) return session.durationMs; // never drew
    const start = db.prepare('SELECT start_mono_ms, start_boot_id FROM sessions WHERE id = ?').get(session.id) as
      | { start_mono_ms: number; start_boot_id: string }
      | undefined;
    const r = rows[i]!;
    const toChargingEnd = start && start.start_boot_id === r.boot_id ? r.mono_ms - start.start_mono_ms : r.wall_ms - session.startWallMs;
    return Math.min(Math.max(0, Math.round(session.durationMs - toChargingEnd)), session.durationMs);
  }
}

/**
 * Cost columns for session exports (store/export.ts ExtraColumns): amounts as decimal text in
 * major units (exact, e.g. "5.59"), empty when the session has no final cost.
 */
export function sessionCostColumns(ledger: BillingLedger): ExtraColumns {
  return (s) => {
    const c = s.status === 'completed' ? ledger.costOf(s.id) : null;
    return {
      currency: c ? c.currency : null,
      costNet: c ? formatMinor(c.net, c.exponent) : null,
      costTax: c ? formatMinor(c.tax, c.exponent) : null,
      costTotal: c ? formatMinor(c.gross, c.exponent) : null,
    };
  };
}

function toStoredCost(r: Record<string, any>): StoredCost {
  const cost = JSON.parse(r.cost_json) as Cost;
  return { ...cost, sessionId: r.session_id, clockSynced: r.clock_synced === 1, computedWallMs: r.computed_wall_ms };
}
