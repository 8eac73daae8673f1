import type { MigrationSet } from './db.js';

/**
 * Core tables: boots (one row per daemon start, to repair timestamps taken before the clock was
 * set), sessions and meter samples; connector lockouts (faults only a technician clears). Timestamps are stored as (wall ms, quality, boot id, mono ms).
 */
export const coreMigrations: MigrationSet = {
  module: 'core',
  migrations: [
    {
      version: 1,
      name: 'boots, sessions, meter samples',
      up: (db) => {
        db.exec(`
          CREATE TABLE boots (
            id TEXT PRIMARY KEY,
            started_wall_ms INTEGER NOT NULL,
            started_quality TEXT NOT NULL,
            -- set when the wall clock became trustworthy during this boot: wall = mono + offset
            mono_to_wall_ms INTEGER,
            synced_by TEXT
          );

          CREATE TABLE sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            uid TEXT NOT NULL UNIQUE,
            connector_id INTEGER NOT NULL,
            id_tag TEXT,
            auth_source TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('active', 'completed')),
            start_wall_ms INTEGER NOT NULL,
            start_quality TEXT NOT NULL,
            start_boot_id TEXT NOT NULL,
            start_mono_ms REAL NOT NULL,
            meter_start_wh INTEGER NOT NULL,
            -- last durable progress, for recovery after a crash or power loss
            checkpoint_wall_ms INTEGER,
            checkpoint_quality TEXT,
            checkpoint_boot_id TEXT,
            checkpoint_mono_ms REAL,
            checkpoint_energy_wh INTEGER,
            duration_ms INTEGER NOT NULL DEFAULT 0,
            charging_ms INTEGER NOT NULL DEFAULT 0,
            idle_ms INTEGER NOT NULL DEFAULT 0,
            meter_gap_ms INTEGER NOT NULL DEFAULT 0,
            stop_wall_ms INTEGER,
            stop_quality TEXT,
            stop_boot_id TEXT,
            stop_mono_ms REAL,
            meter_stop_wh INTEGER,
            energy_wh INTEGER,
            stop_reason TEXT,
            stop_id_tag TEXT,
            recovered INTEGER NOT NULL DEFAULT 0
          );
          CREATE INDEX sessions_start ON sessions (start_wall_ms);
          CREATE INDEX sessions_active ON sessions (status) WHERE status = 'active';

          CREATE TABLE meter_samples (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            connector_id INTEGER NOT NULL,
            session_id INTEGER REFERENCES sessions (id),
            wall_ms INTEGER NOT NULL,
            quality TEXT NOT NULL,
            boot_id TEXT NOT NULL,
            mono_ms REAL NOT NULL,
            energy_wh INTEGER NOT NULL,
            power_w REAL NOT NULL,
            -- per-phase [V, A, W] triples as JSON, L1 first
            phases TEXT
          );
          CREATE INDEX meter_samples_session ON meter_samples (session_id, wall_ms);
          CREATE INDEX meter_samples_connector ON meter_samples (connector_id, id);
        `);
      },
    },
    {
      version: 2,
      name: 'provisional meter start/stop flags',
      up: (db) => {
        // 1 = the register was not readable at that moment: the value is the meter's last good
        // register (an undercount if energy flowed while it was unreadable) until corrected from the
        // meter, which is only exact while the contactor stayed open (see Connector).
        db.exec(`
          ALTER TABLE sessions ADD COLUMN meter_start_provisional INTEGER NOT NULL DEFAULT 0;
          ALTER TABLE sessions ADD COLUMN meter_stop_provisional INTEGER NOT NULL DEFAULT 0;
        `);
      },
    },
    {
      version: 3,
      name: 'connector lockouts (welded contactor survives a restart)',
      up: (db) => {
        db.exec(`
          -- Faults that only a technician may clear (a welded contactor): kept across restarts, so a
          -- crash, a watchdog restart or a power cut never clears them. Deleted by clear-faults.
          CREATE TABLE connector_lockouts (
            connector_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            since_wall_ms INTEGER NOT NULL,
            since_quality TEXT NOT NULL,
            reason TEXT,
            PRIMARY KEY (connector_id, kind)
          );
        `);
      },
    },
    {
      version: 4,
      name: 'reservations (survive a restart), and the reservation a session used',
      up: (db) => {
        db.exec(`
          -- A connector (or the station: connector_id 0) reserved for one tag until expiry_wall_ms
          -- (the reserver's wall-clock time, e.g. OCPP ReserveNow.expiryDate). Deleted when it ends.
          CREATE TABLE reservations (
            reservation_id INTEGER PRIMARY KEY,
            connector_id INTEGER NOT NULL,
            id_tag TEXT NOT NULL COLLATE NOCASE,
            parent_id_tag TEXT COLLATE NOCASE,
            expiry_wall_ms INTEGER NOT NULL,
            created_wall_ms INTEGER NOT NULL
          );
          ALTER TABLE sessions ADD COLUMN reservation_id INTEGER;
        `);
      },
    },
  ],
};
