import type { AddressInfo } from 'node:net';
import type { LoadedConfig } from './config/load.js';
import { parseListen } from './config/zod-helpers.js';
import { SystemClock } from './hal/clock.js';
import { createConnectorHardware, type GpioTestHooks } from './hal/factory.js';
import type { ConnectorHardware, HealthResult } from './hal/types.js';
import { createMeter } from './meter/factory.js';
import type { Logger } from './log.js';
import { openDb, type Db, type MigrationSet } from './store/db.js';
import { coreMigrations } from './store/core-migrations.js';
import { SessionStore } from './store/sessions.js';
import { Station, type ConnectorParts } from './evse/station.js';
import { ApiServer } from './api/server.js';
import { mountDashboard } from './api/dashboard/mount.js';
import type { StopReason } from './evse/station-api.js';
import { StallDetector } from './hal/stall-detector.js';
import { STALL_DETECTOR_INTERVAL_MS } from './config/schema.js';
import { startMqtt } from './telemetry/mqtt.js';
import { billingMigrations } from './billing/migrations.js';
import { BillingLedger, sessionCostColumns } from './billing/ledger.js';
import { LiveSessionInfo } from './billing/live.js';
import type { SyncEvent } from './hal/clock.js';

/** A part of the daemon started after the station (OCPP, MQTT...), stopped before it. */
export interface Service {
  stop(): Promise<void>;
}

export interface Daemon {
  station: Station;
  api: ApiServer;
  address: AddressInfo;
  db: Db;
  ledger: BillingLedger;
  live: LiveSessionInfo;
  /** For the systemd watchdog: is every control loop alive? */
  health(): HealthResult;
  /** Event-loop lag figures from the stall detector. */
  loopLag(): { p50: number; p99: number; max: number; stalls: number };
  /** Contactors open first, then sessions are closed with `reason`, then services and the store. */
  stop(reason?: StopReason): Promise<void>;
}

/** The migration sets of every module that keeps tables in the station database. */
export async function migrationSets(): Promise<MigrationSet[]> {
  const sets: MigrationSet[] = [coreMigrations, billingMigrations];
  const { ocppMigrations } = await import('./store/ocpp/migrations.js');
  sets.push(ocppMigrations);
  return sets;
}

/** The highest register value this station has recorded per connector, to continue a simulated meter. */
function lastKnownRegister(db: Db, connectorId: number): number {
  const row = db
    .prepare(`SELECT MAX(v) v FROM (
        SELECT MAX(COALESCE(meter_stop_wh, checkpoint_energy_wh, meter_start_wh)) v FROM sessions WHERE connector_id = ?
        UNION ALL SELECT MAX(energy_wh) FROM meter_samples WHERE connector_id = ?)`)
    .get(connectorId, connectorId) as { v: number | null };
  return row.v ?? 0;
}

export interface DaemonOptions {
  /** Test hooks for hardware.driver gpio (fake sysfs); production passes none. */
  gpio?: GpioTestHooks;
}

export async function startDaemon(loaded: LoadedConfig, log: Logger, opts: DaemonOptions = {}): Promise<Daemon> {
  const { config } = loaded;
  const started = performance.now();

  // The outputs are the first act: every board is built and driven safe (contactor open, pilot X1)
  // before the store is opened, migrated or anything else is loaded, so a bad database, a failed
  // migration or a slow SD card can never leave an output where a previous run left it.
  const boards: { cfg: (typeof config.connectors)[number]; hardware: ConnectorHardware }[] = [];
  const releaseBoards = async () => {
    for (const b of boards) b.hardware.safe();
    for (const b of boards) await b.hardware.close().catch(() => undefined);
  };
  try {
    for (const cfg of config.connectors) {
      const hardware = await createConnectorHardware(cfg, log, opts.gpio);
      hardware.safe();
      boards.push({ cfg, hardware });
    }
  } catch (err) {
    await releaseBoards();
    throw err;
  }

  let db: Db;
  try {
    db = openDb(loaded.dbFile, await migrationSets());
  } catch (err) {
    log.error({ err: (err as Error).message }, 'cannot open the store: outputs stay safe');
    await releaseBoards();
    throw err;
  }
  const clock = new SystemClock(config.clock.trust);
  const sessions = new SessionStore(db);
  // Installed before anything can start or recover a session: every session gets its tariff snapshot and cost.
  const ledger = new BillingLedger(sessions, config.tariff ?? null, { log: log.child({ module: 'billing' }) }).install();
  const services: Service[] = [];

  const parts: ConnectorParts[] = [];
  try {
    for (const { cfg, hardware } of boards) {
      const meter = await createMeter(cfg, hardware, { clock, log, lastKnownWh: lastKnownRegister(db, cfg.id) });
      parts.push({ cfg, hardware, meter });
    }
  } catch (err) {
    for (const p of parts) await p.meter.close().catch(() => undefined);
    await releaseBoards();
    clock.close();
    db.close();
    throw err;
  }

  const station = new Station({ config, parts, db, sessions, clock, log });
  const energyTargetWh = new Map(config.connectors.flatMap((c) => (c.energyTargetWh !== undefined ? [[c.id, c.energyTargetWh] as const] : [])));
  const live = new LiveSessionInfo(station, config.tariff ? ledger : null, { energyTargetWh });
  station.setSessionExtras((connectorId, sessionId) => live.extras(connectorId, sessionId));
  // The station repairs this boot's timestamps on the clock's sync (it listens first); then costs
  // that were computed from unsynced times (time-of-use windows) are computed again.
  clock.on('sync', (_ev: SyncEvent) => {
    const n = ledger.recomputeRepaired();
    if (n) log.info({ sessions: n }, 'costs recomputed after the clock was set');
  });

  if (config.ocpp) {
    // The OCPP module is loaded only when configured (it pulls in ws and the JSON schemas).
    const { startOcpp } = await import('./ocpp/index.js');
    const { createOcppRepositories } = await import('./store/ocpp/index.js');
    const repos = createOcppRepositories(db, { queueBounds: { maxMessages: config.ocpp.maxQueuedMessages, maxBytes: config.ocpp.maxQueueBytes } });
    services.push(await startOcpp({ config, station, repos, sessionHooks: sessions, log }));
  }

  if (config.mqtt) services.push(await startMqtt({ config, station, log: log.child({ module: 'mqtt' }), liveExtras: live.provider(), energyTargets: live.energyTargets() }));

  await station.start();

  // A blocked event loop means nothing time-critical ran: drive outputs safe at once, then let
  // the state machine latch the fault (it opens the contactor and keeps it open until unplug).
  const stall = new StallDetector({
    intervalMs: STALL_DETECTOR_INTERVAL_MS,
    thresholdMs: config.supervision.stallThresholdMs,
    onStall: (lagMs) => {
      for (const id of station.connectorIds()) station.hardware(id)?.safe();
      log.error({ lagMs: Math.round(lagMs) }, 'event loop stalled: outputs driven safe');
      for (const id of station.connectorIds()) station.reportStall(id);
    },
  });
  stall.start();

  const { host, port } = parseListen(config.api.listen);
  const api = new ApiServer({ station, log: log.child({ module: 'api' }), host, port, token: config.api.token, sessionColumns: sessionCostColumns(ledger), live, ledger });
  mountDashboard(api, station);
  let address: AddressInfo;
  try {
    address = await api.listen();
  } catch (err) {
    await station.shutdown('Other');
    db.close();
    throw new Error(`cannot listen on ${config.api.listen} (api.listen): ${(err as Error).message}`);
  }
  log.info({ station: config.station.id, connectors: config.connectors.length, startupMs: Math.round(performance.now() - started) }, 'evsed ready');

  let stopping: Promise<void> | undefined;
  return {
    station,
    api,
    address,
    db,
    ledger,
    live,
    health: () => station.health(),
    loopLag: () => stall.stats(),
    stop(reason: StopReason = 'Other') {
      stopping ??= (async () => {
        stall.stop();
        for (const id of station.connectorIds()) station.hardware(id)?.safe();
        await station.shutdown(reason);
        for (const s of services.reverse()) await s.stop().catch((err) => log.error({ err: (err as Error).message }, 'service stop failed'));
        await api.close();
        clock.close();
        db.close();
      })();
      return stopping;
    },
  };
}
