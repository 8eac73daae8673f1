import type { Db } from '../db.js';

/** The configuration key values the CSMS set (table ocpp_keys), persisted before the change is answered. */
export class KeyRepository {
  private readonly st;

  constructor(db: Db) {
    this.st = {
      all: db.prepare('SELECT key, value FROM ocpp_keys'),
      save: db.prepare('INSERT OR REPLACE INTO ocpp_keys (key, value) VALUES (?, ?)'),
    };
  }

  all(): { key: string; value: string }[] {
    return this.st.all.all() as { key: string; value: string }[];
  }

  save(key: string, value: string): void {
    this.st.save.run(key, value);
  }
}
