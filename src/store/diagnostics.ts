import type { Db } from './db.js';

export interface QueueCount {
  action: string;
  status: string;
  count: number;
  bytes: number;
}

/** What a diagnostics archive reads from the station database: its integrity and the state of the durable queue. */
export class StoreDiagnostics {
  private readonly st;

  constructor(private readonly db: Db) {
    this.st = {
      queue: db.prepare('SELECT action, status, count(*) AS count, coalesce(sum(bytes), 0) AS bytes FROM ocpp_queue GROUP BY action, status ORDER BY action, status'),
    };
  }

  /** PRAGMA quick_check: ['ok'] for a sound database, else the problems SQLite found (at most 100). */
  quickCheck(): string[] {
    return (this.db.pragma('quick_check(100)') as { quick_check: string }[]).map((r) => r.quick_check);
  }

  /** Messages in the durable queue per action and state (pending, failed). */
  queueCounts(): QueueCount[] {
    return this.st.queue.all() as QueueCount[];
  }
}
