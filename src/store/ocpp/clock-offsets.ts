import type { Db } from '../db.js';

/** Per boot, the offset that turns a monotonic reading into wall time once the clock was set (table ocpp_clock_offsets). */
export class ClockOffsetRepository {
  private readonly st;

  constructor(db: Db) {
    this.st = {
      all: db.prepare('SELECT boot_id, mono_to_wall_ms FROM ocpp_clock_offsets'),
      save: db.prepare('INSERT OR REPLACE INTO ocpp_clock_offsets (boot_id, mono_to_wall_ms) VALUES (?, ?)'),
    };
  }

  all(): Map<string, number> {
    return new Map((this.st.all.all() as { boot_id: string; mono_to_wall_ms: number }[]).map((r) => [r.boot_id, r.mono_to_wall_ms]));
  }

  save(bootId: string, monoToWallMs: number): void {
    this.st.save.run(bootId, monoToWallMs);
  }
}
