import type { Statement } from 'better-sqlite3';
import type { Db, MigrationSet } from '../db.js';

/**
 * Owner settings changed at run time that must survive a restart (the charging timers set through
 * the API): one JSON value per key, in energy_settings. The energy module validates what it reads.
 */
export const energyMigrations: MigrationSet = {
  module: 'energy',
  migrations: [
    {
      version: 1,
      name: 'owner settings (charging timers set at run time)',
      up: (db) => {
        db.exec(`
          CREATE TABLE energy_settings (
            key TEXT PRIMARY KEY,
            value_json TEXT NOT NULL,
            updated_wall_ms INTEGER NOT NULL
          );
        `);
      },
    },
  ],
};

export class EnergySettingsRepository {
  private stmt?: { get: Statement; put: Statement; remove: Statement };

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  private statements() {
    this.stmt ??= {
      get: this.db.prepare('SELECT value_json FROM energy_settings WHERE key = ?'),
      put: this.db.prepare(`INSERT INTO energy_settings (key, value_json, updated_wall_ms) VALUES (?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json, updated_wall_ms = excluded.updated_wall_ms`),
      remove: this.db.prepare('DELETE FROM energy_settings WHERE key = ?'),
    };
    return this.stmt;
  }

  /** The stored value, or undefined when none (or it is not JSON). */
  get(key: string): unknown {
    const row = this.statements().get.get(key) as { value_json: string } | undefined;
    if (!row) return undefined;
    try {
      return JSON.parse(row.value_json) as unknown;
    } catch {
      return undefined;
    }
  }

  /** null removes the key. */
  set(key: string, value: unknown): void {
    if (value === null || value === undefined) this.statements().remove.run(key);
    else this.statements().put.run(key, JSON.stringify(value), this.now());
  }
}
