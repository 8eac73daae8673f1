import type { MigrationSet } from '../db.js';

/**
 * OCPP tables. Timestamps inside queued payloads are stored unresolved (see src/ocpp/stamps.ts) so events
 * recorded before the clock was set are sent with corrected times.
 */
export const ocppMigrations: MigrationSet = {
  module: 'ocpp',
  migrations: [
    {
      version: 1,
      name: 'transaction queue, transactions, keys, availability, auth cache, local list',
      up: (db) => {
        db.exec(`
          -- Durable transaction messages, delivered in id order. A row is deleted when the CSMS answered it;
          -- a row given up after TransactionMessageAttempts CALLERRORs stays with status 'failed'.
          CREATE TABLE ocpp_queue (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            action TEXT NOT NULL CHECK (action IN ('StartTransaction', 'StopTransaction', 'MeterValues')),
            session_id INTEGER,
            payload TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            -- 1 = intermediate MeterValues that may be thinned when the queue is full
            thinnable INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            created_wall_ms INTEGER NOT NULL,
            created_boot_id TEXT NOT NULL,
            created_mono_ms REAL NOT NULL,
            created_quality TEXT NOT NULL
          );
          CREATE INDEX ocpp_queue_pending ON ocpp_queue (status, id);

          -- One row per station session known to OCPP: the CSMS transactionId once StartTransaction was answered.
          CREATE TABLE ocpp_transactions (
            session_id INTEGER PRIMARY KEY,
            connector_id INTEGER NOT NULL,
            id_tag TEXT NOT NULL,
            transaction_id INTEGER,
            -- 'queued' until answered, 'known' with transaction_id, 'abandoned' when StartTransaction was given up (-1)
            start_state TEXT NOT NULL DEFAULT 'queued',
            stop_queued INTEGER NOT NULL DEFAULT 0,
            id_tag_status TEXT
          );
          CREATE INDEX ocpp_transactions_txid ON ocpp_transactions (transaction_id);

          -- wall = mono + offset for a boot whose clock was set later (from clock 'sync' events)
          CREATE TABLE ocpp_clock_offsets (boot_id TEXT PRIMARY KEY, mono_to_wall_ms INTEGER NOT NULL);

          CREATE TABLE ocpp_keys (key TEXT PRIMARY KEY, value TEXT NOT NULL);
          CREATE TABLE ocpp_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
          CREATE TABLE ocpp_availability (connector_id INTEGER PRIMARY KEY, available INTEGER NOT NULL);

          CREATE TABLE ocpp_auth_cache (
            id_tag TEXT PRIMARY KEY COLLATE NOCASE,
            status TEXT NOT NULL,
            expiry_ms INTEGER,
            parent_id_tag TEXT,
            updated_wall_ms INTEGER NOT NULL
          );
          CREATE TABLE ocpp_local_list (
            id_tag TEXT PRIMARY KEY COLLATE NOCASE,
            status TEXT NOT NULL,
            expiry_ms INTEGER,
            parent_id_tag TEXT
          );
        `);
      },
    },
    {
      version: 2,
      name: 'parent id tag of each transaction',
      up: (db) => {
        // The session's parentIdTag (Authorize.conf, cache, local list; StartTransaction.conf wins):
        // another tag of the same parent may stop the transaction.
        db.exec('ALTER TABLE ocpp_transactions ADD COLUMN parent_id_tag TEXT');
      },
    },
    {
      version: 3,
      name: 'clock-aligned readings for StopTransaction.transactionData',
      up: (db) => {
        // StopTxnAlignedData: one MeterValue (unresolved StampRefs) per ClockAlignedDataInterval of a
        // running transaction; taken into its StopTransaction (and deleted) in the session-stop commit.
        db.exec(`
          CREATE TABLE ocpp_tx_aligned (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL,
            meter_value TEXT NOT NULL
          );
          CREATE INDEX ocpp_tx_aligned_session ON ocpp_tx_aligned (session_id, id);
        `);
      },
    },
    {
      version: 4,
      name: 'installed charging profiles',
      up: (db) => {
        // OCPP 1.6 Smart Charging profiles as installed (E16 §3.37: they survive a reboot). The whole list
        // is rewritten on each change; the indexed columns mirror the JSON for queries and checks.
        db.exec(`
          CREATE TABLE ocpp_charging_profiles (
            position INTEGER PRIMARY KEY,
            profile_id INTEGER NOT NULL UNIQUE,
            connector_id INTEGER NOT NULL CHECK (connector_id >= 0),
            purpose TEXT NOT NULL,
            stack_level INTEGER NOT NULL,
            transaction_id INTEGER,
            profile TEXT NOT NULL
          );
        `);
      },
    },
    {
      version: 5,
      name: 'the durable queue also carries the status notifications of firmware, diagnostics, logs and security events',
      up: (db) => {
        // Issue 14: FirmwareStatusNotification & co. must survive a restart and go out in order, like
        // transaction messages. SQLite cannot change a CHECK constraint in place: the table is rebuilt
        // (ids kept, so the order and AUTOINCREMENT carry over). One migration for all five actions,
        // so the firmware, diagnostics and security parts do not each rebuild the table.
        db.exec(`
          CREATE TABLE ocpp_queue_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            action TEXT NOT NULL CHECK (action IN ('StartTransaction', 'StopTransaction', 'MeterValues',
              'FirmwareStatusNotification', 'SignedFirmwareStatusNotification', 'DiagnosticsStatusNotification',
              'LogStatusNotification', 'SecurityEventNotification')),
            session_id INTEGER,
            payload TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            thinnable INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            created_wall_ms INTEGER NOT NULL,
            created_boot_id TEXT NOT NULL,
            created_mono_ms REAL NOT NULL,
            created_quality TEXT NOT NULL
          );
          INSERT INTO ocpp_queue_new SELECT id, action, session_id, payload, bytes, thinnable, status, attempts, last_error,
            created_wall_ms, created_boot_id, created_mono_ms, created_quality FROM ocpp_queue;
          DROP TABLE ocpp_queue;
          ALTER TABLE ocpp_queue_new RENAME TO ocpp_queue;
          CREATE INDEX ocpp_queue_pending ON ocpp_queue (status, id);
        `);
      },
    },
  ],
};
