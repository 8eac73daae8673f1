import type { Db } from '../db.js';
import type { Stamp } from '../../hal/clock.js';

/**
 * The actions the durable queue holds (the table's CHECK constraint). An OCPP 2.0.1 charge point
 * would add 'TransactionEvent' with a migration and use the same queue, thinning and bounds.
 * Besides the transaction messages: the status notifications that must survive a restart and keep
 * their order (firmware, diagnostics, logs) and the critical security events.
 */
export type TxAction = 'StartTransaction' | 'StopTransaction' | 'MeterValues' | NotificationAction;
export type NotificationAction =
  | 'FirmwareStatusNotification'
  | 'SignedFirmwareStatusNotification'
  | 'DiagnosticsStatusNotification'
  | 'LogStatusNotification'
  | 'SecurityEventNotification';

export interface QueueRow {
  id: number;
  action: TxAction;
  sessionId: number | null;
  /** Payload with unresolved StampRefs and, for Stop/MeterValues, transactionId filled at send time. */
  payload: Record<string, unknown>;
  attempts: number;
  status: 'pending' | 'failed';
  lastError: string | null;
  createdWallMs: number;
  thinnable: boolean;
}

export interface QueueBounds {
  maxMessages: number;
  maxBytes: number;
}

export interface QueueStats {
  length: number;
  bytes: number;
  failed: number;
  oldestCreatedWallMs: number | null;
  thinned: number;
}

/**
 * The durable FIFO of transaction messages (StartTransaction, StopTransaction, MeterValues).
 *
 * Thinning rule (when an insert would pass maxMessages or maxBytes): among the pending
 * intermediate MeterValues (periodic and clock-aligned, never Start/Stop), delete every other one
 * oldest first (the 1st, 3rd, 5th, ...), and repeat until the queue is back under 90 % of both
 * bounds or nothing thinnable is left. Each pass halves the meter-value resolution of the backlog,
 * evenly over time. If nothing thinnable is left, a new intermediate MeterValues is not stored;
 * a Start or Stop is always stored, even beyond the bound. Every dropped message counts in `thinned`.
 */
export class TxQueue {
  private count = 0;
  private bytes = 0;
  /** The row being sent; never thinned under the sender's feet. */
  inflightId: number | null = null;
  private readonly st;

  constructor(private readonly db: Db, private readonly bounds: QueueBounds) {
    this.st = {
      insert: db.prepare(`INSERT INTO ocpp_queue (action, session_id, payload, bytes, thinnable, created_wall_ms,
        created_boot_id, created_mono_ms, created_quality) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      totals: db.prepare('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM ocpp_queue'),
      head: db.prepare("SELECT * FROM ocpp_queue WHERE status = 'pending' ORDER BY id LIMIT 1"),
      ofSession: db.prepare("SELECT id, payload, bytes FROM ocpp_queue WHERE action = ? AND session_id = ? AND status = 'pending' ORDER BY id"),
      setPayload: db.prepare('UPDATE ocpp_queue SET payload = ?, bytes = ? WHERE id = ?'),
      del: db.prepare('DELETE FROM ocpp_queue WHERE id = ? RETURNING bytes'),
      attempt: db.prepare('UPDATE ocpp_queue SET attempts = attempts + 1, last_error = ? WHERE id = ? RETURNING attempts'),
      fail: db.prepare("UPDATE ocpp_queue SET status = 'failed' WHERE id = ?"),
      thinnable: db.prepare("SELECT id, bytes FROM ocpp_queue WHERE thinnable = 1 AND status = 'pending' ORDER BY id").raw(),
      pending: db.prepare("SELECT count(*) AS n, min(created_wall_ms) AS oldest FROM ocpp_queue WHERE status = 'pending'"),
      failedCount: db.prepare("SELECT count(*) AS n FROM ocpp_queue WHERE status = 'failed'").pluck(),
      failedRows: db.prepare("SELECT * FROM ocpp_queue WHERE status = 'failed' ORDER BY id LIMIT ?"),
      getState: db.prepare('SELECT value FROM ocpp_state WHERE name = ?').pluck(),
      setState: db.prepare('INSERT OR REPLACE INTO ocpp_state (name, value) VALUES (?, ?)'),
    };
    this.resync();
  }

  /**
   * Stores a message (inside the caller's transaction when there is one, e.g. a session hook).
   * Returns its id, or null when it was an intermediate MeterValues dropped because the queue is full.
   */
  enqueue(action: TxAction, sessionId: number | null, payload: Record<string, unknown>, at: Stamp, thinnable = false): number | null {
    const text = JSON.stringify(payload);
    const size = Buffer.byteLength(text);
    return this.db.transaction(() => {
      if (this.over(1, size)) {
        this.resync();
        if (this.over(1, size)) this.thin();
        if (this.over(1, size) && thinnable) {
          this.addThinned(1);
          return null;
        }
      }
      const info = this.st.insert.run(action, sessionId, text, size, thinnable ? 1 : 0, Math.round(at.wallMs), at.bootId, at.monoMs, at.quality);
      this.count++;
      this.bytes += size;
      return Number(info.lastInsertRowid);
    })();
  }

  head(): QueueRow | undefined {
    const r = this.st.head.get() as Record<string, any> | undefined;
    return r ? toRow(r) : undefined;
  }

  /**
   * Rewrites the payload of a session's message that is still waiting (e.g. a corrected meterStop).
   * 'sent' when there is none left (delivered, or given up), 'inflight' when it is on the wire now.
   */
  amend(action: TxAction, sessionId: number, edit: (payload: Record<string, unknown>) => Record<string, unknown>): 'amended' | 'sent' | 'inflight' {
    return this.db.transaction(() => {
      const rows = this.st.ofSession.all(action, sessionId) as { id: number; payload: string; bytes: number }[];
      if (!rows.length) return 'sent' as const;
      if (rows.some((r) => r.id === this.inflightId)) return 'inflight' as const;
      for (const r of rows) {
        const text = JSON.stringify(edit(JSON.parse(r.payload) as Record<string, unknown>));
        const size = Buffer.byteLength(text);
        this.st.setPayload.run(text, size, r.id);
        this.bytes += size - r.bytes;
      }
      return 'amended' as const;
    })();
  }

  /** The CSMS answered: the message is done. `also` runs in the same transaction. */
  delivered(id: number, also?: () => void): void {
    this.db.transaction(() => {
      const r = this.st.del.get(id) as { bytes: number } | undefined;
      if (r) {
        this.count--;
        this.bytes -= r.bytes;
      }
      also?.();
    })();
  }

  /** The CSMS answered with a CALLERROR (or a reply that failed validation). */
  callError(id: number, error: string, maxAttempts: number): { attempts: number; gaveUp: boolean } {
    return this.db.transaction(() => {
      const r = this.st.attempt.get(error.slice(0, 500), id) as { attempts: number } | undefined;
      const attempts = r?.attempts ?? maxAttempts;
      const gaveUp = attempts >= maxAttempts;
      if (gaveUp) this.st.fail.run(id);
      return { attempts, gaveUp };
    })();
  }

  stats(): QueueStats {
    const p = this.st.pending.get() as { n: number; oldest: number | null };
    this.resync();
    return {
      length: p.n,
      bytes: this.bytes,
      failed: this.st.failedCount.get() as number,
      oldestCreatedWallMs: p.oldest,
      thinned: Number(this.st.getState.get('thinned') ?? 0),
    };
  }

  failed(limit = 50): QueueRow[] {
    return (this.st.failedRows.all(limit) as Record<string, any>[]).map(toRow);
  }

  private over(addCount: number, addBytes: number): boolean {
    return this.count + addCount > this.bounds.maxMessages || this.bytes + addBytes > this.bounds.maxBytes;
  }

  private resync(): void {
    const t = this.st.totals.get() as { n: number; b: number };
    this.count = t.n;
    this.bytes = t.b;
  }

  private thin(): void {
    const targetCount = Math.floor(this.bounds.maxMessages * 0.9);
    const targetBytes = Math.floor(this.bounds.maxBytes * 0.9);
    let dropped = 0;
    while (this.count > targetCount || this.bytes > targetBytes) {
      const rows = (this.st.thinnable.all() as [number, number][]).filter(([id]) => id !== this.inflightId);
      if (!rows.length) break;
      for (let i = 0; i < rows.length; i += 2) {
        const [id, bytes] = rows[i]!;
        this.st.del.get(id);
        this.count--;
        this.bytes -= bytes;
        dropped++;
      }
    }
    if (dropped) this.addThinned(dropped);
  }

  private addThinned(n: number): void {
    const cur = Number(this.st.getState.get('thinned') ?? 0);
    this.st.setState.run('thinned', String(cur + n));
  }
}

function toRow(r: Record<string, any>): QueueRow {
  return {
    id: r.id,
    action: r.action,
    sessionId: r.session_id,
    payload: JSON.parse(r.payload),
    attempts: r.attempts,
    status: r.status,
    lastError: r.last_error,
    createdWallMs: r.created_wall_ms,
    thinnable: r.thinnable === 1,
  };
}
