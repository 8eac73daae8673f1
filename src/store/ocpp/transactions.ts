import type { Db } from '../db.js';
import type { TxQueue } from './queue.js';

export type StartState = 'queued' | 'known' | 'abandoned';

export interface TxRow {
  sessionId: number;
  connectorId: number;
  idTag: string;
  parentIdTag: string | null;
  transactionId: number | null;
  startState: StartState;
  stopQueued: boolean;
}

/**
 * The station sessions known to OCPP (table ocpp_transactions): the idTag and parentIdTag a
 * session started with, its CSMS transactionId once StartTransaction was answered, and whether
 * its StopTransaction is queued. Writes from session hooks run inside the session's own commit.
 */
export class TransactionRepository {
  private readonly st;

  constructor(db: Db, private readonly queue: TxQueue) {
    this.st = {
      insert: db.prepare('INSERT OR IGNORE INTO ocpp_transactions (session_id, connector_id, id_tag, parent_id_tag) VALUES (?, ?, ?, ?)'),
      setParent: db.prepare('UPDATE ocpp_transactions SET parent_id_tag = ? WHERE session_id = ?'),
      get: db.prepare('SELECT * FROM ocpp_transactions WHERE session_id = ?'),
      byTxId: db.prepare("SELECT * FROM ocpp_transactions WHERE transaction_id = ? AND start_state = 'known' ORDER BY session_id DESC LIMIT 1"),
      markStop: db.prepare('UPDATE ocpp_transactions SET stop_queued = 1 WHERE session_id = ? AND stop_queued = 0'),
      known: db.prepare("UPDATE ocpp_transactions SET transaction_id = ?, start_state = 'known', id_tag_status = ? WHERE session_id = ?"),
      abandon: db.prepare("UPDATE ocpp_transactions SET start_state = 'abandoned', transaction_id = -1 WHERE session_id = ?"),
    };
  }

  /** false when the session is known already (a hook that runs twice adds nothing). */
  insert(sessionId: number, connectorId: number, idTag: string, parentIdTag: string | undefined): boolean {
    return this.st.insert.run(sessionId, connectorId, idTag, parentIdTag ?? null).changes > 0;
  }

  /** Marks the StopTransaction queued; false when it was already (exactly one per session) or the session is unknown. */
  markStopQueued(sessionId: number): boolean {
    return this.st.markStop.run(sessionId).changes > 0;
  }

  get(sessionId: number): TxRow | undefined {
    const r = this.st.get.get(sessionId) as Record<string, any> | undefined;
    return r ? toTx(r) : undefined;
  }

  byTransactionId(transactionId: number): TxRow | undefined {
    const r = this.st.byTxId.get(transactionId) as Record<string, any> | undefined;
    return r ? toTx(r) : undefined;
  }

  /** The CSMS answered the Start: atomically remove its queue row and record the transaction id. */
  startAnswered(queueId: number, sessionId: number, transactionId: number, idTagStatus: string, parentIdTag?: string): void {
    this.queue.delivered(queueId, () => {
      this.st.known.run(transactionId, idTagStatus, sessionId);
      if (parentIdTag) this.st.setParent.run(parentIdTag, sessionId);
    });
  }

  abandonStart(sessionId: number): void {
    this.st.abandon.run(sessionId);
  }
}

function toTx(r: Record<string, any>): TxRow {
  return {
    sessionId: r.session_id,
    connectorId: r.connector_id,
    idTag: r.id_tag,
    parentIdTag: r.parent_id_tag ?? null,
    transactionId: r.transaction_id,
    startState: r.start_state,
    stopQueued: r.stop_queued === 1,
  };
}

/** Clock-aligned readings kept per transaction for StopTransaction.transactionData (StopTxnAlignedData). */
export const STOP_TXN_ALIGNED_MAX = 200;

/**
 * The StopTxnAlignedData readings of running transactions, persisted (table ocpp_tx_aligned) so a
 * crash does not lose them. At most STOP_TXN_ALIGNED_MAX per transaction: beyond, every other one is
 * deleted (oldest first), which halves the resolution evenly, as the queue's thinning does.
 */
export class AlignedReadingRepository {
  private readonly st;

  constructor(private readonly db: Db) {
    this.st = {
      insert: db.prepare('INSERT INTO ocpp_tx_aligned (session_id, meter_value) VALUES (?, ?)'),
      ids: db.prepare('SELECT id FROM ocpp_tx_aligned WHERE session_id = ? ORDER BY id').pluck(),
      del: db.prepare('DELETE FROM ocpp_tx_aligned WHERE id = ?'),
      values: db.prepare('SELECT meter_value FROM ocpp_tx_aligned WHERE session_id = ? ORDER BY id').pluck(),
      delSession: db.prepare('DELETE FROM ocpp_tx_aligned WHERE session_id = ?'),
    };
  }

  keep(sessionId: number, meterValue: unknown): void {
    this.db.transaction(() => {
      this.st.insert.run(sessionId, JSON.stringify(meterValue));
      const ids = this.st.ids.all(sessionId) as number[];
      if (ids.length <= STOP_TXN_ALIGNED_MAX) return;
      for (let i = 0; i < ids.length - 1; i += 2) this.st.del.run(ids[i]);
    })();
  }

  /** The session's readings, oldest first, removed from the store (call inside the session-stop commit). */
  take(sessionId: number): unknown[] {
    const values = (this.st.values.all(sessionId) as string[]).map((j) => JSON.parse(j) as unknown);
    if (values.length) this.st.delSession.run(sessionId);
    return values;
  }
}
