import type { Db } from '../db.js';
import type { Stamp } from '../../hal/clock.js';

export interface SecurityLogEntry {
  id: number;
  type: string;
  techInfo: string | null;
  critical: boolean;
  at: Stamp;
}

/** Entries kept in the security log; the oldest go first (the whitepaper leaves the size to the station). */
export const SECURITY_LOG_MAX_ENTRIES = 5000;

/** The local security log (table ocpp_security_log): bounded, oldest dropped. */
export class SecurityLogRepository {
  private readonly st;

  constructor(db: Db, private readonly maxEntries = SECURITY_LOG_MAX_ENTRIES) {
    this.st = {
      add: db.prepare('INSERT INTO ocpp_security_log (type, tech_info, critical, wall_ms, boot_id, mono_ms, quality) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      trim: db.prepare('DELETE FROM ocpp_security_log WHERE id <= (SELECT max(id) FROM ocpp_security_log) - ?'),
      all: db.prepare('SELECT * FROM ocpp_security_log ORDER BY id'),
      clear: db.prepare('DELETE FROM ocpp_security_log'),
    };
  }

  add(type: string, techInfo: string | undefined, critical: boolean, at: Stamp): void {
    this.st.add.run(type, techInfo ?? null, critical ? 1 : 0, Math.round(at.wallMs), at.bootId, at.monoMs, at.quality);
    this.st.trim.run(this.maxEntries);
  }

  /** Every entry, oldest first (at most maxEntries). */
  all(): SecurityLogEntry[] {
    return (this.st.all.all() as Record<string, any>[]).map((r) => ({
      id: r.id,
      type: r.type,
      techInfo: r.tech_info,
      critical: r.critical === 1,
      at: { wallMs: r.wall_ms, bootId: r.boot_id, monoMs: r.mono_ms, quality: r.quality },
    }));
  }

  clear(): void {
    this.st.clear.run();
  }
}
