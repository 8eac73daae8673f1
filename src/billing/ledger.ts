import type { Logger } from '../log.js';
import type { SessionRecord, SessionStore, StoredSample } from '../store/sessions.js';
import type { ExtraColumns } from '../store/export.js';
import type { BillingRecords, CostRow } from '../store/billing/records.js';
import type { Tariff } from '../config/tariff.js';
import { formatMinor } from '../domain/money.js';
import { chargingEndIndex, computeCost, liveCost, type Cost, type MeterPoint } from './tariff.js';

/** A session's final cost as stored. */
export interface StoredCost extends Cost {
  sessionId: number;
  /** false when the session's start or stop time was taken before the clock was synced. */
  clockSynced: boolean;
  computedWallMs: number;
}

/** What the ledger needs of the session store: its hooks and the sessions and samples it prices. */
export type LedgerSessions = Pick<SessionStore, 'addHooks' | 'get' | 'samples'>;

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
    private readonly store: LedgerSessions,
    private readonly records: BillingRecords,
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
      // The hooks run in the session's transaction; the records share its connection.
      onStart: (s) => this.guard('snapshot the tariff', s, () => this.snapshot(s)),
      onStop: (s) => this.guard('compute the final cost', s, () => this.storeFinalCost(s)),
      // A provisional meter value replaced by the register: the final cost follows the corrected energy.
      onCorrect: (s) => this.guard('recompute the cost', s, () => this.storeFinalCost(s)),
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

  /** The tariff for sessions that start now (null: none). */
  currentTariff(): Tariff | null {
    return this.tariff;
  }

  /** The stored gross cost of every completed session in a currency (minor units). */
  totalGross(currency: string): number {
    return this.records.grossTotal(currency);
  }

  /** The tariff snapshotted with a session, or null if it started without one. */
  tariffOf(sessionId: number): Tariff | null {
    const cached = this.snapshots.get(sessionId);
    if (cached) return cached;
    const json = this.records.tariffJson(sessionId);
    if (!json) return null; // not cached: the session may not exist yet
    const t = JSON.parse(json) as Tariff;
    this.snapshots.set(sessionId, t);
    return t;
  }

  /** The stored final cost of a completed session, or null (no tariff, or not completed). */
  costOf(sessionId: number): StoredCost | null {
    const r = this.records.cost(sessionId);
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
    this.records.transaction(() => this.storeFinalCost(s));
    return this.costOf(sessionId);
  }

  /** Recompute the costs that were computed with unsynced times whose sessions are now synced. Returns how many. */
  recomputeRepaired(): number {
    const ids = this.records.costsToRepair();
    for (const id of ids) this.recompute(id);
    return ids.length;
  }

  private snapshot(session: SessionRecord): void {
    // Not cached here: if the start transaction rolls back, its id may be used again.
    if (!this.tariff) return;
    this.records.insertTariff(session.id, JSON.stringify(this.tariff), session.startWallMs);
  }

  private storeFinalCost(session: SessionRecord): void {
    const tariff = this.tariffOf(session.id);
    if (!tariff || session.stopWallMs === null || session.meterStopWh === null) return;
    const rows = this.store.samples(session.id);
    const samples = rows.map((r) => ({ wallMs: r.wallMs, energyWh: r.energyWh }));
    const cost = computeCost(tariff, {
      startWallMs: session.startWallMs,
      meterStartWh: session.meterStartWh,
      endWallMs: session.stopWallMs,
      meterEndWh: session.meterStopWh,
      samples,
      pluggedMs: session.durationMs,
      idleAfterChargingMs: idleAfterChargingMs(session, rows),
    });
    const synced = session.startQuality === 'synced' && session.stopQuality === 'synced';
    this.records.upsertCost({
      sessionId: session.id,
      currency: cost.currency,
      exponent: cost.exponent,
      energyWh: cost.energyWh,
      netMinor: cost.net,
      taxMinor: cost.tax,
      grossMinor: cost.gross,
      costJson: JSON.stringify(cost),
      clockSynced: synced,
      computedWallMs: this.now(),
    });
  }
}

/**
 * Plugged-in time after the first reading that already showed the final register value: the
 * session's duration (monotonic; for a session recovered after a power loss, up to its last
 * checkpoint) minus the time from start to that reading (monotonic when both lie in the same
 * boot, wall clock otherwise), within [0, duration].
 */
function idleAfterChargingMs(session: SessionRecord, rows: StoredSample[]): number {
  const i = chargingEndIndex(
    { wallMs: session.startWallMs, energyWh: session.meterStartWh },
    rows,
    { wallMs: session.stopWallMs!, energyWh: session.meterStopWh! },
  );
  if (i >= rows.length) return 0; // still drawing at the stop
  if (i < 0) return session.durationMs; // never drew
  const r = rows[i]!;
  const toChargingEnd = session.startBootId === r.bootId ? r.monoMs - session.startMonoMs : r.wallMs - session.startWallMs;
  return Math.min(Math.max(0, Math.round(session.durationMs - toChargingEnd)), session.durationMs);
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

function toStoredCost(r: CostRow): StoredCost {
  const cost = JSON.parse(r.costJson) as Cost;
  return { ...cost, sessionId: r.sessionId, clockSynced: r.clockSynced, computedWallMs: r.computedWallMs };
}
