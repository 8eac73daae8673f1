import type { StationClock } from '../evse/port.js';
import type { Logger } from '../log.js';
import type { QueueRow, TxQueue } from '../store/ocpp/queue.js';
import type { Outcome } from './link.js';
import type { Timers } from './timers.js';

/**
 * What a protocol version decides about its queued transaction messages: the payload as sent now,
 * what an answer does, what giving up does, and the retry policy (1.6: TransactionMessageAttempts /
 * TransactionMessageRetryInterval; 2.0.1: MessageAttempts / MessageAttemptInterval of OCPPCommCtrlr).
 */
export interface OutboxProtocol {
  payloadFor(row: QueueRow): Record<string, unknown>;
  /** The CSMS answered: remove the row (queue.delivered, possibly with more in the same commit). */
  answered(row: QueueRow, result: unknown): void;
  /** The last attempt got a CALLERROR: the row stays in the store as failed. */
  gaveUp(row: QueueRow): void;
  maxAttempts(): number;
  retryIntervalMs(): number;
}

/** The connection as the outbox sees it: may it send now, and the one-call-at-a-time lane. */
export interface OutboxLink {
  /** Open and accepted by the CSMS (1.6: BootNotification Accepted). */
  online(): boolean;
  /** Checked again when the call's turn in the lane comes. */
  accepted(): boolean;
  call(action: string, payload: Record<string, unknown>, gate: () => boolean): Promise<Outcome>;
  noteOutcome(action: string, out: Outcome): void;
}

/**
 * Drains the durable queue in order, one call in flight, only while online. A CALLERROR counts an
 * attempt and delays the message by interval × attempts; after the last attempt it is given up. A
 * call that was not sent or whose outcome is unknown (drop, timeout) is sent again unchanged after
 * the reconnect and counts nothing.
 */
export class Outbox {
  private draining = false;
  private stopped = false;
  /** The drain under way, if any (stop() lets its call in flight finish). */
  private current?: Promise<void>;
  private readonly retryAt = new Map<number, number>();

  constructor(private readonly d: { queue: TxQueue; link: OutboxLink; protocol: OutboxProtocol; clock: StationClock; timers: Timers; log: Logger }) {}

  kick(delayMs = 0): void {
    if (delayMs > 0) {
      this.d.timers.set('outbox', delayMs, () => this.kick());
      return;
    }
    if (this.draining || this.stopped || !this.d.link.online()) return;
    this.draining = true;
    this.current = this.drain().finally(() => {
      this.draining = false;
      this.current = undefined;
    });
  }

  /**
   * Before a planned stop (reset, service stop): lets the queue drain while online, so the
   * StopTransaction of a session just ended goes out before the socket closes (S16 §5.14). Ends
   * when the queue is empty, the link is down, a message waits for a retry, or after `timeoutMs`.
   */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = this.d.clock.monoMs() + timeoutMs;
    while (!this.stopped && this.d.link.online() && this.d.queue.head()) {
      const head = this.d.queue.head()!;
      if ((this.retryAt.get(head.id) ?? 0) > this.d.clock.monoMs()) return;
      const left = deadline - this.d.clock.monoMs();
      if (left <= 0) return;
      this.kick();
      const current = this.current;
      if (!current) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([current.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
  }

  /**
   * Sends nothing more. A call already in flight gets up to `graceMs` for its answer: closing the
   * link under it would lose an answer the CSMS already gave, and the message would go again after
   * the restart (a StopTransaction twice).
   */
  async stop(graceMs = 0): Promise<void> {
    this.stopped = true;
    this.d.timers.cancel('outbox');
    const current = this.current;
    if (!current || graceMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([current.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  private async drain(): Promise<void> {
    const { queue, link, protocol, clock } = this.d;
    while (link.online() && !this.stopped) {
      const row = queue.head();
      if (!row) return;
      const wait = (this.retryAt.get(row.id) ?? 0) - clock.monoMs();
      if (wait > 0) {
        this.kick(wait);
        return;
      }
      const payload = protocol.payloadFor(row);
      queue.inflightId = row.id;
      const out = await link.call(row.action, payload, () => link.accepted());
      queue.inflightId = null;
      link.noteOutcome(row.action, out);
      if (out.kind === 'ok') {
        this.retryAt.delete(row.id);
        protocol.answered(row, out.result);
      } else if (out.kind === 'callerror') {
        const { attempts, gaveUp } = queue.callError(row.id, `${out.code}: ${out.message}`, protocol.maxAttempts());
        if (gaveUp) {
          this.retryAt.delete(row.id);
          this.d.log.error({ action: row.action, queueId: row.id, sessionId: row.sessionId, attempts }, 'OCPP: transaction message given up after the last attempt; kept in the store as failed');
          protocol.gaveUp(row);
        } else {
          this.retryAt.set(row.id, clock.monoMs() + protocol.retryIntervalMs() * attempts);
        }
      } else {
        return; // not sent or outcome unknown: the same payload goes again after the reconnect
      }
    }
  }
}
