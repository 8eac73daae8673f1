import type { Db } from '../store/db.js';
import type { SessionRecord } from '../store/sessions.js';
import type { Stamp } from '../hal/clock.js';
import { stampRef } from './stamps.js';
import type { TxQueue } from './queue.js';
import type { SampledValue } from './meter-values.js';

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
 * Maps station sessions to CSMS transactions. StartTransaction/StopTransaction are enqueued from
 * the session store's hooks, i.e. inside the same SQLite transaction as the session write.
 * Stop and MeterValues rows carry the session id; their transactionId is filled in when sent,
 * from the StartTransaction.conf of that session (or -1 if that Start was given up, E16 §3.18).
 */
export class TxLedger {
  private readonly st;

  constructor(private readonly db: Db, private readonly queue: TxQueue) {
    this.st = {
      insert: db.prepare('INSERT OR IGNORE INTO ocpp_transactions (session_id, connector_id, id_tag, parent_id_tag) VALUES (?, ?, ?, ?)'),
      setParent: db.prepare('UPDATE ocpp_transactions SET parent_id_tag = ? WHERE session_id = ?'),
      get: db.prepare('SELECT * FROM ocpp_transactions WHERE session_id = ?'),
      byTxId: db.prepare("SELECT * FROM ocpp_transactions WHERE transaction_id = ? AND start_state = 'known' ORDER BY session_id DESC LIMIT 1"),
      markStop: db.prepare('UPDATE ocpp_transactions SET stop_queued = 1 WHERE session_id = ? AND stop_queued = 0'),
      known: db.prepare("UPDATE ocpp_transactions SET transaction_id = ?, start_state = 'known', id_tag_status = ? WHERE session_id = ?"),
      abandon: db.prepare("UPDATE ocpp_transactions SET start_state = 'abandoned', transaction_id = -1 WHERE session_id = ?"),
      stopRow: db.prepare('SELECT stop_boot_id, stop_mono_ms FROM sessions WHERE id = ?'),
    };
  }

  /** Session hook: runs inside the session-start transaction. */
  onStart(s: SessionRecord, idTag: string, parentIdTag?: string): void {
    if (this.st.insert.run(s.id, s.connectorId, idTag, parentIdTag ?? null).changes === 0) return;
    const at: Stamp = { wallMs: s.startWallMs, quality: s.startQuality, bootId: s.startBootId, monoMs: s.startMonoMs };
    this.queue.enqueue('StartTransaction', s.id, {
      connectorId: s.connectorId,
      idTag,
      meterStart: s.meterStartWh,
      timestamp: stampRef(at),
    }, at);
  }

  /**
   * Session hook: runs inside the session-stop transaction. Exactly one StopTransaction per session,
   * and only for sessions whose StartTransaction was queued.
   */
  onStop(s: SessionRecord, transactionData: unknown[] | undefined): boolean {
    if (this.st.markStop.run(s.id).changes === 0) return false;
    const extra = this.st.stopRow.get(s.id) as { stop_boot_id: string | null; stop_mono_ms: number | null } | undefined;
    const at: Stamp = {
      wallMs: s.stopWallMs ?? s.startWallMs,
      quality: s.stopQuality ?? 'unsynced',
      bootId: extra?.stop_boot_id ?? s.startBootId,
      monoMs: extra?.stop_mono_ms ?? s.startMonoMs,
    };
    const payload: Record<string, unknown> = {
      meterStop: s.meterStopWh ?? s.meterStartWh,
      timestamp: stampRef(at),
      reason: s.stopReason ?? 'Local',
    };
    if (s.stopIdTag) payload.idTag = s.stopIdTag.slice(0, 20);
    if (transactionData?.length) payload.transactionData = transactionData;
    this.queue.enqueue('StopTransaction', s.id, payload, at);
    return true;
  }

  /**
   * A provisional meterStart/meterStop of the session was replaced by the register (the meter
   * answered again): the StartTransaction/StopTransaction still waiting in the queue carry the
   * exact value, and so do the Transaction.Begin/End readings of the stop's transactionData.
   * Returns what could not be corrected because the CSMS has it already (or it is on the wire).
   */
  onCorrect(s: SessionRecord, before: SessionRecord): string[] {
    const late: string[] = [];
    const note = (what: string, r: 'amended' | 'sent' | 'inflight') => {
      if (r !== 'amended') late.push(`${what} (${r === 'sent' ? 'already delivered' : 'being sent'})`);
    };
    if (s.meterStartWh !== before.meterStartWh && this.get(s.id)) {
      note('meterStart', this.queue.amend('StartTransaction', s.id, (p) => ({ ...p, meterStart: s.meterStartWh })));
      if (this.get(s.id)?.stopQueued) note('Transaction.Begin', this.queue.amend('StopTransaction', s.id, (p) => withRegister(p, 'Transaction.Begin', s.meterStartWh)));
    }
    if (s.meterStopWh !== null && s.meterStopWh !== before.meterStopWh && this.get(s.id)?.stopQueued) {
      note('meterStop', this.queue.amend('StopTransaction', s.id, (p) => withRegister({ ...p, meterStop: s.meterStopWh }, 'Transaction.End', s.meterStopWh!)));
    }
    return late;
  }

  get(sessionId: number): TxRow | undefined {
    const r = this.st.get.get(sessionId) as Record<string, any> | undefined;
    return r ? toTx(r) : undefined;
  }

  bySessionOrNull(sessionId: number | null): TxRow | undefined {
    return sessionId === null ? undefined : this.get(sessionId);
  }

  byTransactionId(transactionId: number): TxRow | undefined {
    const r = this.st.byTxId.get(transactionId) as Record<string, any> | undefined;
    return r ? toTx(r) : undefined;
  }

  /** StartTransaction.conf arrived: atomically remove the queue row and record the id. */
  startAnswered(queueId: number, sessionId: number, transactionId: number, idTagStatus: string, parentIdTag?: string): void {
    this.queue.delivered(queueId, () => {
      this.st.known.run(transactionId, idTagStatus, sessionId);
      if (parentIdTag) this.st.setParent.run(parentIdTag, sessionId);
    });
  }

  abandonStart(sessionId: number): void {
    this.st.abandon.run(sessionId);
  }

  /** The transactionId to put in a Stop/MeterValues of this session now; undefined = no transaction. */
  transactionIdFor(sessionId: number | null): number | undefined {
    const t = this.bySessionOrNull(sessionId);
    if (!t) return undefined;
    if (t.startState === 'known' && t.transactionId !== null) return t.transactionId;
    // queued Starts are always ahead in the FIFO; reaching here means it was given up
    return -1;
  }
}

/** Clock-aligned readings kept per transaction for StopTransaction.transactionData (StopTxnAlignedData). */
export const STOP_TXN_ALIGNED_MAX = 200;

/**
 * The StopTxnAlignedData readings of running transactions, persisted (table ocpp_tx_aligned) so a
 * crash does not lose them. At most STOP_TXN_ALIGNED_MAX per transaction: beyond, every other one is
 * deleted (oldest first), which halves the resolution evenly, as the queue's thinning does.
 */
export class StopTxnAligned {
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

/** The phase-less energy register readings of one context in a StopTransaction's transactionData, set to `wh`. */
function withRegister(payload: Record<string, unknown>, context: 'Transaction.Begin' | 'Transaction.End', wh: number): Record<string, unknown> {
  const data = payload.transactionData as { timestamp: unknown; sampledValue: SampledValue[] }[] | undefined;
  if (!data) return payload;
  return {
    ...payload,
    transactionData: data.map((mv) => ({
      ...mv,
      sampledValue: mv.sampledValue.map((v) => (v.context === context && v.measurand === 'Energy.Active.Import.Register' && !v.phase ? { ...v, value: String(wh) } : v)),
    })),
  };
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
