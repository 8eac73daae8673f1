import type { BillingLedger } from '../billing/ledger.js';
import type { Station } from '../evse/station.js';
import type { LiveExtras, LiveExtrasProvider } from './state.js';

export interface LedgerExtrasOptions {
  ledger: BillingLedger;
  station: Station;
  /** Time to finish in seconds (null = unknown), from whatever knows the target; absent = unknown. */
  etaS?: (connectorId: number, sessionId: number) => number | null;
  /** A running session's cost is recomputed at most this often (it reads the session's samples). Default 10 s. */
  costEveryMs?: number;
}

/**
 * A LiveExtrasProvider backed by the billing ledger: the live cost of a running session (gross,
 * minor units) and the stored final cost of a completed one.
 */
export function ledgerExtras(o: LedgerExtrasOptions): LiveExtrasProvider {
  const every = o.costEveryMs ?? 10_000;
  // Per connector: the running session's last computed cost.
  const cache = new Map<number, { sessionId: number; atMs: number; value: { costMinor?: number; currency?: string } }>();
  return (connectorId, sessionId): LiveExtras | undefined => {
    const rec = o.station.sessions.get(sessionId);
    if (!rec) return undefined;
    const now = performance.now();
    let cost = cache.get(connectorId);
    if (rec.status === 'completed' || !cost || cost.sessionId !== sessionId || now - cost.atMs >= every) {
      const view = o.station.connectorView(connectorId);
      const energyWh = view.meter.energyWh ?? rec.checkpointEnergyWh ?? rec.meterStartWh;
      const c = o.ledger.liveCostFor(rec, { wallMs: o.station.clock.wallMs(), energyWh }, (view.session?.durationS ?? 0) * 1000 || undefined);
      cost = { sessionId, atMs: now, value: c ? { costMinor: c.gross, currency: c.currency } : {} };
      if (rec.status === 'completed') cache.delete(connectorId);
      else cache.set(connectorId, cost);
    }
    return { ...cost.value, etaS: o.etaS ? o.etaS(connectorId, sessionId) : null };
  };
}
