import type { StationPort } from '../../evse/port.js';
import type { Logger } from '../../log.js';
import type { QueueRow, TxQueue } from '../../store/ocpp/queue.js';
import type { OutboxProtocol } from '../outbox.js';
import type { TimeResolver } from '../stamps.js';
import type { TagAuthorization } from './authorization.js';
import type { KeyStore } from './key-store.js';
import type { TxLedger } from './ledger.js';
import type { StartTransactionConf, StopTransactionConf } from './messages.js';

/** The claim that suspends the energy of a session whose idTag the CSMS refused (StopTransactionOnInvalidId=false). */
export const INVALID_ID_CLAIM = 'ocpp:invalid-id';

export interface DeliveryDeps {
  station: Pick<StationPort, 'sessionOn' | 'holdLock' | 'stopSession' | 'setClaim'>;
  keys: KeyStore;
  queue: TxQueue;
  ledger: TxLedger;
  time: TimeResolver;
  tags: Pick<TagAuthorization, 'remember'>;
  /** auth.mode ocpp: tags are authorised over OCPP (the lock is held for the refused tag's owner). */
  authorizeTags: boolean;
  /** A session's StartTransaction.conf was recorded (a TxProfile can now name its transaction). */
  onTransactionKnown?(sessionId: number, transactionId: number): void;
  log: Logger;
}

/**
 * How OCPP 1.6 delivers its queued StartTransaction / StopTransaction / MeterValues: timestamps
 * resolved and the transactionId filled in at send time, the StartTransaction.conf recorded (and
 * acted on when its idTag is refused), attempts per TransactionMessageAttempts / RetryInterval.
 */
export class Delivery16 implements OutboxProtocol {
  constructor(private readonly d: DeliveryDeps) {}

  maxAttempts(): number {
    return this.d.keys.int('TransactionMessageAttempts');
  }

  retryIntervalMs(): number {
    return this.d.keys.int('TransactionMessageRetryInterval') * 1000;
  }

  /** The payload as sent now: timestamps resolved, transactionId from the session's StartTransaction.conf. */
  payloadFor(row: QueueRow): Record<string, unknown> {
    const { time, ledger } = this.d;
    const p = time.resolve(row.payload);
    if (row.action === 'StopTransaction') return { transactionId: ledger.transactionIdFor(row.sessionId) ?? -1, ...p };
    if (row.action === 'MeterValues') {
      const txId = ledger.transactionIdFor(row.sessionId);
      return txId === undefined ? p : { connectorId: p.connectorId, transactionId: txId, meterValue: p.meterValue };
    }
    return p;
  }

  answered(row: QueueRow, result: unknown): void {
    const { ledger, tags } = this.d;
    if (row.action === 'StartTransaction' && row.sessionId !== null) {
      const r = result as StartTransactionConf;
      ledger.startAnswered(row.id, row.sessionId, r.transactionId, r.idTagInfo.status, r.idTagInfo.parentIdTag);
      tags.remember(String(row.payload.idTag), r.idTagInfo);
      this.d.log.info({ sessionId: row.sessionId, transactionId: r.transactionId, idTagStatus: r.idTagInfo.status }, 'OCPP: StartTransaction accepted by the CSMS');
      if (r.idTagInfo.status !== 'Accepted') this.deauthorize(row.sessionId, Number(row.payload.connectorId));
      else this.d.onTransactionKnown?.(row.sessionId, r.transactionId);
      return;
    }
    this.d.queue.delivered(row.id);
    const info = (result as StopTransactionConf | undefined)?.idTagInfo;
    if (row.action === 'StopTransaction' && info && typeof row.payload.idTag === 'string') tags.remember(row.payload.idTag, info);
  }

  gaveUp(row: QueueRow): void {
    if (row.action === 'StartTransaction' && row.sessionId !== null) this.d.ledger.abandonStart(row.sessionId);
  }

  /**
   * StartTransaction.conf not Accepted for a session still running (E16 §3.5/§3.17):
   * StopTransactionOnInvalidId=true stops it (DeAuthorized) and, where the connector has a lock
   * and tags are authorised over OCPP, keeps the cable locked until the same tag (or one with the
   * same parentIdTag) is presented, or the CSMS sends UnlockConnector.
   */
  private deauthorize(sessionId: number, connectorId: number): void {
    const { station, keys, ledger } = this.d;
    if (station.sessionOn(connectorId)?.id !== sessionId) return;
    if (keys.bool('StopTransactionOnInvalidId')) {
      const tx = ledger.get(sessionId);
      if (this.d.authorizeTags && tx) station.holdLock(connectorId, { idTag: tx.idTag, ...(tx.parentIdTag ? { parentIdTag: tx.parentIdTag } : {}) });
      void station.stopSession(connectorId, 'DeAuthorized');
    } else {
      station.setClaim({ source: INVALID_ID_CLAIM, connectorId, maxA: 0 });
    }
  }
}
