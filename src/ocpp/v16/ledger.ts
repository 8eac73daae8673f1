import type { SessionRecord } from '../../store/sessions.js';
import type { Stamp } from '../../hal/clock.js';
import type { TxQueue } from '../../store/ocpp/queue.js';
import type { TransactionRepository, TxRow } from '../../store/ocpp/transactions.js';
import { sessionStartStamp, sessionStopStamp, stampRef } from '../stamps.js';
import type { SampledValue } from './sampled-values.js';

/** OCPP 1.6 StopTransaction reasons (S16 §7.36). */
const REASONS_16 = new Set(['Local', 'Remote', 'EVDisconnected', 'PowerLoss', 'Reboot', 'SoftReset', 'HardReset', 'DeAuthorized', 'EmergencyStop', 'UnlockCommand', 'Other']);

/**
 * A station stop reason as OCPP 1.6 can say it. The owner's stop conditions (EnergyLimitReached,
 * TimeLimitReached, SOCLimitReached, 2.0.1's names) have no 1.6 reason: they go as `Other`, not
 * `Local`, which 1.6 defines as a stop on request of the user at the charge point (a tag, a
 * button) and a CSMS records as the driver's act; nobody acted when a limit was reached. The
 * exact reason stays in the station's history and API.
 */
export function stopReason16(reason: string | null): string {
  if (reason === null) return 'Local';
  return REASONS_16.has(reason) ? reason : 'Other';
}

/**
 * Maps station sessions to CSMS transactions. StartTransaction/StopTransaction are enqueued from
 * the session store's hooks, i.e. inside the same SQLite transaction as the session write.
 * Stop and MeterValues rows carry the session id; their transactionId is filled in when sent,
 * from the StartTransaction.conf of that session (or -1 if that Start was given up, E16 §3.18).
 */
export class TxLedger {
  constructor(private readonly repo: TransactionRepository, private readonly queue: TxQueue) {}

  /** Session hook: runs inside the session-start transaction. */
  onStart(s: SessionRecord, idTag: string, parentIdTag?: string): void {
    if (!this.repo.insert(s.id, s.connectorId, idTag, parentIdTag)) return;
    const at = sessionStartStamp(s);
    this.queue.enqueue('StartTransaction', s.id, {
      connectorId: s.connectorId,
      idTag,
      meterStart: s.meterStartWh,
      timestamp: stampRef(at),
      // The reservation this session used: the CSMS learns it has ended (S16 §5.13).
      ...(s.reservationId !== null ? { reservationId: s.reservationId } : {}),
    }, at);
  }

  /**
   * Session hook: runs inside the session-stop transaction. Exactly one StopTransaction per session,
   * and only for sessions whose StartTransaction was queued.
   */
  onStop(s: SessionRecord, transactionData: unknown[] | undefined): boolean {
    if (!this.repo.markStopQueued(s.id)) return false;
    const at = sessionStopStamp(s);
    const payload: Record<string, unknown> = {
      meterStop: s.meterStopWh ?? s.meterStartWh,
      timestamp: stampRef(at),
      reason: stopReason16(s.stopReason),
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
    const tx = this.get(s.id);
    if (!tx) return late;
    if (s.meterStartWh !== before.meterStartWh) {
      note('meterStart', this.queue.amend('StartTransaction', s.id, (p) => ({ ...p, meterStart: s.meterStartWh })));
      if (tx.stopQueued) note('Transaction.Begin', this.queue.amend('StopTransaction', s.id, (p) => withRegister(p, 'Transaction.Begin', s.meterStartWh)));
    }
    if (s.meterStopWh !== null && s.meterStopWh !== before.meterStopWh && tx.stopQueued) {
      note('meterStop', this.queue.amend('StopTransaction', s.id, (p) => withRegister({ ...p, meterStop: s.meterStopWh }, 'Transaction.End', s.meterStopWh!)));
    }
    return late;
  }

  get(sessionId: number): TxRow | undefined {
    return this.repo.get(sessionId);
  }

  byTransactionId(transactionId: number): TxRow | undefined {
    return this.repo.byTransactionId(transactionId);
  }

  /** StartTransaction.conf arrived: atomically remove the queue row and record the id. */
  startAnswered(queueId: number, sessionId: number, transactionId: number, idTagStatus: string, parentIdTag?: string): void {
    this.repo.startAnswered(queueId, sessionId, transactionId, idTagStatus, parentIdTag);
  }

  abandonStart(sessionId: number): void {
    this.repo.abandonStart(sessionId);
  }

  /** The transactionId to put in a Stop/MeterValues of this session now; undefined = no transaction. */
  transactionIdFor(sessionId: number | null): number | undefined {
    const t = sessionId === null ? undefined : this.get(sessionId);
    if (!t) return undefined;
    if (t.startState === 'known' && t.transactionId !== null) return t.transactionId;
    // queued Starts are always ahead in the FIFO; reaching here means it was given up
    return -1;
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
