import type { MigrationSet } from '../db.js';

/**
 * Billing tables, beside core's sessions:
 *  - billing_session_tariffs: the tariff in force when the session started (normalised JSON, see
 *    config.ts Tariff). Written once in the session's start transaction; triggers refuse any
 *    UPDATE (version 1) and DELETE (version 2), so a later tariff change can never rewrite what a
 *    past session cost. Sessions are never deleted (the store has no delete path), so neither are
 *    their snapshots; a start that rolls back takes its snapshot with it (no DELETE involved).
 *  - billing_session_costs: the final cost, integer minor units + currency + the itemisation JSON
 *    (tariff.ts Cost). Written in the stop transaction; recomputed only from the snapshot.
 *  - billing_tag_names: idTag → name for reports (set through the API; config names are the fallback).
 *    The idTag is case-insensitive like every idTag (COLLATE NOCASE since version 3). Since
 *    version 4 it is also the owner's tag list (issue 16): a row with in_list = 1 is a tag the
 *    local auth mode accepts (besides the config's), with its expiry, parentIdTag and enabled flag;
 *    a row with in_list = 0 only names a tag.
 */
export const billingMigrations: MigrationSet = {
  module: 'billing',
  migrations: [
    {
      version: 1,
      name: 'tariff snapshots, session costs, tag names',
      up: (db) => {
        db.exec(`
          CREATE TABLE billing_session_tariffs (
            session_id INTEGER PRIMARY KEY REFERENCES sessions (id),
            tariff_json TEXT NOT NULL,
            snapshot_wall_ms INTEGER NOT NULL
          );
          CREATE TRIGGER billing_session_tariffs_immutable BEFORE UPDATE ON billing_session_tariffs
          BEGIN
            SELECT RAISE(ABORT, 'a session''s tariff snapshot is history and cannot be changed');
          END;

          CREATE TABLE billing_session_costs (
            session_id INTEGER PRIMARY KEY REFERENCES sessions (id),
            currency TEXT NOT NULL,
            exponent INTEGER NOT NULL,
            energy_wh INTEGER NOT NULL,
            net_minor INTEGER NOT NULL,
            tax_minor INTEGER NOT NULL,
            gross_minor INTEGER NOT NULL,
            cost_json TEXT NOT NULL,
            -- 0 when a start/stop time was not yet NTP-synced: the time-of-use split may be off
            clock_synced INTEGER NOT NULL,
            computed_wall_ms INTEGER NOT NULL
          );

          CREATE TABLE billing_tag_names (
            id_tag TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            updated_wall_ms INTEGER NOT NULL
          );
        `);
      },
    },
    {
      version: 2,
      name: 'tariff snapshots cannot be deleted',
      up: (db) => {
        db.exec(`
          CREATE TRIGGER billing_session_tariffs_undeletable BEFORE DELETE ON billing_session_tariffs
          BEGIN
            SELECT RAISE(ABORT, 'a session''s tariff snapshot is history and cannot be deleted');
          END;
        `);
      },
    },
    {
      version: 3,
      name: 'tag names are case-insensitive',
      up: (db) => {
        // Names stored under spellings that now fold together: the latest one stays.
        db.exec(`
          CREATE TABLE billing_tag_names_v3 (
            id_tag TEXT PRIMARY KEY COLLATE NOCASE,
            name TEXT NOT NULL,
            updated_wall_ms INTEGER NOT NULL
          );
          INSERT OR REPLACE INTO billing_tag_names_v3 (id_tag, name, updated_wall_ms)
            SELECT id_tag, name, updated_wall_ms FROM billing_tag_names ORDER BY updated_wall_ms, rowid;
          DROP TABLE billing_tag_names;
          ALTER TABLE billing_tag_names_v3 RENAME TO billing_tag_names;
        `);
      },
    },
    {
      version: 4,
      name: 'the owner tag list: membership, expiry, parent, enabled',
      up: (db) => {
        db.exec(`
          ALTER TABLE billing_tag_names ADD COLUMN in_list INTEGER NOT NULL DEFAULT 0 CHECK (in_list IN (0, 1));
          ALTER TABLE billing_tag_names ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1));
          ALTER TABLE billing_tag_names ADD COLUMN expiry_wall_ms INTEGER;
          ALTER TABLE billing_tag_names ADD COLUMN parent_id_tag TEXT COLLATE NOCASE;
        `);
      },
    },
  ],
};
