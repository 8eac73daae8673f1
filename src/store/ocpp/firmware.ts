import type { Db } from '../db.js';

/**
 * The one firmware job (OCPP UpdateFirmware / SignedUpdateFirmware) as JSON in ocpp_state, and the
 * counter that names its files. Saved in the same commit as the status notification it queues, so
 * a restart finds the job and its messages in agreement.
 */
export class FirmwareJobRepository {
  private readonly st;

  constructor(private readonly db: Db) {
    this.st = {
      get: db.prepare('SELECT value FROM ocpp_state WHERE name = ?').pluck(),
      set: db.prepare('INSERT OR REPLACE INTO ocpp_state (name, value) VALUES (?, ?)'),
      del: db.prepare('DELETE FROM ocpp_state WHERE name = ?'),
    };
  }

  load(): unknown {
    const v = this.st.get.get('firmware_job') as string | undefined;
    return v === undefined ? undefined : JSON.parse(v);
  }

  /** Stores the job (none: removes it); `also` runs in the same transaction (e.g. queueing its notification). */
  save(job: object | null, also?: () => void): void {
    this.db.transaction(() => {
      if (job) this.st.set.run('firmware_job', JSON.stringify(job));
      else this.st.del.run('firmware_job');
      also?.();
    })();
  }

  /** A new job id (never reused, across restarts). */
  nextId(): number {
    const n = Number(this.st.get.get('firmware_job_seq') ?? 0) + 1;
    this.st.set.run('firmware_job_seq', String(n));
    return n;
  }
}
