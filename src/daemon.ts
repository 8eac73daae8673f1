import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { LoadedConfig } from './config/load.js';
import { parseListen } from './config/zod-helpers.js';
import { SystemClock } from './hal/clock.js';
import { createConnectorHardware, type GpioTestHooks } from './hal/factory.js';
import { SafetyCore } from './hal/safety-core/core.js';
import type { ConnectorHardware, HealthResult, Meter } from './hal/types.js';
import { createGridMeter, createMeter } from './meter/factory.js';
import { LoadService } from './energy/load-service.js';
import { logSecrets, type Logger } from './log.js';
import { openDb, type Db, type MigrationSet } from './store/db.js';
import { coreMigrations } from './store/core-migrations.js';
import { SessionStore } from './store/sessions.js';
import { LockoutStore } from './store/lockouts.js';
import { ReservationStore } from './store/reservations.js';
import { StoreFileWatch } from './store/file-watch.js';
import { Station, type ConnectorParts } from './evse/station.js';
import { ApiServer } from './api/server.js';
import { mountDashboard } from './api/dashboard/mount.js';
import { mountStationPage } from './api/dashboard/station-routes.js';
import { mountSimSite } from './api/sim-site.js';
import { SimGridMeter } from './sim/grid-meter.js';
import { mountPvRoutes } from './api/pv-routes.js';
import type { StationPort, StopReason } from './evse/port.js';
import { StallDetector } from './hal/stall-detector.js';
import { STALL_DETECTOR_INTERVAL_MS } from './config/schema.js';
import { startMqtt } from './telemetry/mqtt.js';
import { pageUrl } from './telemetry/discovery.js';
import { billingMigrations } from './store/billing/migrations.js';
import { BillingRecords } from './store/billing/records.js';
import { TagNameRepository } from './store/billing/tag-names.js';
import { StationStatsRepository } from './store/stats.js';
import { BillingLedger, sessionCostColumns } from './billing/ledger.js';
import { LiveSessionInfo } from './billing/live.js';
import type { SyncEvent } from './hal/clock.js';
import type { Service } from './util/service.js';
import { startOwnerControls, type OwnerControls } from './energy/owner.js';
import { energyMigrations, EnergySettingsRepository } from './store/energy/settings.js';
import { stationReaders } from './config/readers.js';
import { ReaderService } from './panel/readers.js';
import { mountReaderRoutes } from './api/readers.js';
import { createPvService } from './energy/pv-service.js';
import { createSignals } from './hal/signals/factory.js';
import { StatusSignals } from './panel/signals.js';
import { OwnerTagsAuthorizer } from './panel/owner-tags.js';
import { TagLearner } from './panel/learn.js';
import { mountTagRoutes } from './api/tags.js';
import { sameIdTag } from './domain/tags.js';
import type { ExtraColumns } from './store/export.js';
import { releaseInstallerFor } from './maintenance/release/index.js';
import { startStandaloneProof } from './maintenance/release/trial-proof.js';
import { DiagnosticsCollector } from './maintenance/diagnostics/archive.js';
import { stationProviders } from './maintenance/diagnostics/providers.js';
import { StoreDiagnostics } from './store/diagnostics.js';

export interface Daemon {
  station: StationPort;
  api: ApiServer;
  address: AddressInfo;
  db: Db;
  ledger: BillingLedger;
  live: LiveSessionInfo;
  /** Owner limits, charging timers, "charge now" (src/energy). */
  owner: OwnerControls;
  /** Every output safe at once (signals, fatal errors): synchronous. */
  safeOutputs(): void;
  /** The session store (tests and benchmarks read what was recorded). */
  sessions: SessionStore;
  /** The board driver of a connector (under its safety core; the worker proxy where the core runs in a thread). */
  hardware(connectorId: number): ConnectorHardware | undefined;
  /** The connector's hardware as the station sees it: the safety core in front of the board. */
  safetyCore(connectorId: number): ConnectorHardware | undefined;
  /** A connector's meter, for tests that make the simulated meter fail. */
  meter(connectorId: number): Meter | undefined;
  /** Load management (`site:` in the config); undefined without a site section. */
  load?: LoadService;
  /** The grid meter of `site:` (tests make the simulated one step or fail). */
  gridMeter?: Meter;
  /** For the systemd watchdog: is every control loop alive? */
  health(): HealthResult;
  /** The card readers at the station (their cards go to presentTag). */
  readers: ReaderService;
  /** Learn mode: the next card at a reader becomes a tag of the owner's list. */
  learner: TagLearner;
  /** The status light and buzzer (config signals:); undefined without the section or when they could not be opened. */
  signals?: StatusSignals;
  /** Event-loop lag figures from the stall detector. */
  loopLag(): { p50: number; p99: number; max: number; stalls: number };
  /** Contactors open (under load: X1, then open once the EV is in B or at the stop timeout), then sessions are closed with `reason`, then services and the store. */
  stop(reason?: StopReason): Promise<void>;
  /**
   * The daemon needs a restart (`evsed run` stops it with reason Reboot and starts it again): its
   * database file was lost under it and has been written back to its path, which only a new
   * connection opens.
   */
  onRestart(handler: (why: string) => void): void;
  /**
   * The daemon must end its process (`evsed run` stops it and exits; systemd starts the unit again):
   * a firmware update switched `current` to a new release, whose code only a new process runs.
   */
  onExit(handler: (why: string) => void): void;
}

/** The migration sets of every module that keeps tables in the station database. */
export async function migrationSets(): Promise<MigrationSet[]> {
  const sets: MigrationSet[] = [coreMigrations, billingMigrations, energyMigrations];
  const { ocppMigrations } = await import('./store/ocpp/migrations.js');
  sets.push(ocppMigrations);
  return sets;
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
      const hardware = await createConnectorHardware(cfg, { log, stateDir: loaded.storageDir, gpio: opts.gpio });
      hardware.safe();
      boards.push({ cfg, hardware });
    }
  } catch (err) {
    await releaseBoards();
    throw err;
  }

  // The outputs are safe: start loading the OCPP module (ws, the JSON schemas, the charge point) now,
  // beside opening the store and the meters, rather than after them. A load failure surfaces where it is awaited.
  const ocppModules = config.ocpp ? Promise.all([import('./ocpp/index.js'), import('./store/ocpp/index.js')]) : undefined;
  ocppModules?.catch(() => undefined);

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
  const ledger = new BillingLedger(sessions, new BillingRecords(db), config.tariff ?? null, { log: log.child({ module: 'billing' }) }).install();
  const services: Service[] = [];

  const parts: ConnectorParts[] = [];
  let gridMeter: Meter | undefined;
  try {
    for (const { cfg, hardware } of boards) {
      const meter = await createMeter(cfg, boardOf(hardware), { clock, log, lastKnownWh: sessions.lastKnownRegister(cfg.id) });
      parts.push({ cfg, hardware, meter });
    }
    // On the same RS-485 line as a connector meter, the grid meter shares its bus object.
    if (config.site) {
      const connectors = boards.map((b) => ({ hardware: boardOf(b.hardware), rotation: b.cfg.phaseRotation }));
      gridMeter = await createGridMeter(config.site.gridMeter, connectors, { clock, log });
    }
  } catch (err) {
    for (const p of parts) await p.meter.close().catch(() => undefined);
    await gridMeter?.close().catch(() => undefined);
    await releaseBoards();
    clock.close();
    db.close();
    throw err;
  }

  const station = new Station({ config, parts, sessions, lockouts: new LockoutStore(db), reservations: new ReservationStore(db), clock, log });
  const energyTargetWh = new Map(config.connectors.flatMap((c) => (c.energyTargetWh !== undefined ? [[c.id, c.energyTargetWh] as const] : [])));
  const live = new LiveSessionInfo(station, sessions, config.tariff ? ledger : null, { energyTargetWh });
  const settings = new EnergySettingsRepository(db);
  const owner = startOwnerControls(station, config, {
    energyTargetWh: (id) => live.energyTargetWh(id),
    timerStore: { load: () => settings.get('timers'), save: (timers) => settings.set('timers', timers) },
    log: log.child({ module: 'energy' }),
  });
  station.setSessionExtras((connectorId, sessionId) => {
    const x = live.extras(connectorId, sessionId);
    const { targetMode, ...more } = owner.extras(connectorId);
    return { ...x, target: { ...x.target, mode: targetMode }, ...more };
  });
  // The station repairs this boot's timestamps on the clock's sync (it listens first); then costs
  // that were computed from unsynced times (time-of-use windows) are computed again.
  clock.on('sync', (_ev: SyncEvent) => {
    const n = ledger.recomputeRepaired();
    if (n) log.info({ sessions: n }, 'costs recomputed after the clock was set');
  });

  // The releases side by side under update.root (firmware updates, the trial of a new release)
  const releases = releaseInstallerFor(loaded);
  if (config.ocpp && ocppModules) {
    // The OCPP module is loaded only when configured (it pulls in ws and the JSON schemas).
    const [{ startOcpp }, { createOcppRepositories }] = await ocppModules;
    const repos = createOcppRepositories(db, { queueBounds: { maxMessages: config.ocpp.maxQueuedMessages, maxBytes: config.ocpp.maxQueueBytes } });
    // GetDiagnostics / GetLog: the archive of this station (journal or log.file, config redacted, versions, store, queues)
    const collector = new DiagnosticsCollector(stationProviders({ config, store: new StoreDiagnostics(db), scrub: (t) => logSecrets.scrub(t), storageDir: loaded.storageDir }));
    const diagnostics = { build: collector.build.bind(collector), dir: join(loaded.storageDir, 'diagnostics') };
    // UpdateFirmware / SignedUpdateFirmware: bundles into storage.dir, installed beside the running release;
    // the process then exits so that the service manager starts the new `current`
    const firmware = {
      installer: releases,
      dir: join(loaded.storageDir, 'firmware'),
      restart: (why: string) => (exitHandler ? exitHandler(why) : log.error({ why }, 'a restart into the new release is due but nothing can restart the daemon')),
    };
    services.push(await startOcpp({ config, station, repos, sessionHooks: sessions, storageDir: loaded.storageDir, log, diagnostics, firmware }));
  }

  // Load management starts after the station (below); MQTT reads its status once it runs.
  let load: LoadService | undefined;
  const site = config.site ? () => load?.status() : undefined;
  const readers = new ReaderService({ station, readers: stationReaders(config), log: log.child({ module: 'readers' }) });
  const pvParts = config.pv ? createPvService({ config, station, storageDir: loaded.storageDir, log: log.child({ module: 'pv' }) }) : undefined;
  const pv = pvParts?.pv;
  if (pv) services.push(pv);

  // The owner's tag list (names, learn mode, CSV import) beside the config's tags: in auth mode
  // local both authorise, the config first (panel/owner-tags.ts).
  const tagNames = new TagNameRepository(db);
  if (config.auth.mode === 'local') {
    station.setAuthorizer(new OwnerTagsAuthorizer({ configTags: config.auth.tags, lookup: (t) => tagNames.get(t), sessionTag: (id) => sessions.get(id)?.idTag, wallMs: () => clock.wallMs() }));
  }
  const learner = new TagLearner({ station, readers, tags: tagNames, auth: config.auth, log: log.child({ module: 'learn' }) });

  // The API's port is known once it listens (after MQTT starts): the page's URL for Home Assistant follows then.
  let apiPort: number | undefined;
  if (config.mqtt) {
    services.push(
      await startMqtt({
        config, station, log: log.child({ module: 'mqtt' }), liveExtras: live.provider(), energyTargets: live.energyTargets(), owner, readers, site, pv, learner,
        tagName: (idTag) => tagNameOf(idTag, tagNames, config.auth.tags),
        costs: () => live.stationCosts(),
        configurationUrl: () => (apiPort === undefined ? undefined : pageUrl(config.api, apiPort, hostname())),
        latestSession: (id) => sessions.latestOn(id),
      }),
    );
  }

  // The light and buzzer are not safety parts: one that cannot be opened is logged, and the station runs without it.
  let signals: StatusSignals | undefined;
  if (config.signals) {
    try {
      const { light, buzzer } = await createSignals(config.signals, clock);
      signals = new StatusSignals({ station, cfg: config.signals, light, buzzer, readers, log: log.child({ module: 'signals' }) });
      const s = signals;
      station.registerStatus('signals', () => s.status());
    } catch (err) {
      log.error({ err: (err as Error).message }, 'signals: cannot open the status light or buzzer; the station runs without them');
    }
  }

  await station.start();
  signals?.start();
  // After the station: a card read at once has a station to go to. A reader that is absent is a
  // reader fault (retried), never a reason not to start.
  await readers.start();
  pv?.start();

  // Load management starts after the station: its first budget (the fallback until the grid meter
  // answers) is shared among connectors that exist.
  if (config.site && gridMeter) {
    const rotations = new Map(config.connectors.map((c) => [c.id, c.phaseRotation] as const));
    load = new LoadService({ station, site: config.site, meter: gridMeter, rotations, clock, log: log.child({ module: 'load' }) });
    load.start();
    services.push(load);
    // pv.source site: the PV logic reads the same grid meter (its total power).
    pvParts?.site?.attach(load.poller);
  }

  let restartHandler: ((why: string) => void) | undefined;
  let exitHandler: ((why: string) => void) | undefined;
  const storeWatch = new StoreFileWatch({
    db,
    file: loaded.dbFile,
    clock,
    log: log.child({ module: 'store' }),
    onLost: () => station.storeLost(),
    onRestored: () => restartHandler?.('the database file was lost under the running daemon and has been restored from its open connection'),
  });
  station.registerStatus('store', () => storeWatch.status());
  storeWatch.start();

  // A blocked main loop matters only to boards whose safety decisions run on it (the simulator, a
  // gpio board in-process under test): their outputs go safe at once and 'stall' is latched. A
  // safety core in its own thread (or a pilot board) keeps sampling and deciding: charging goes on.
  const stall = new StallDetector({
    intervalMs: STALL_DETECTOR_INTERVAL_MS,
    thresholdMs: config.supervision.stallThresholdMs,
    onStall: (lagMs) => {
      const exposed = boards.filter((b) => !b.hardware.safetyOffMainLoop);
      if (!exposed.length) {
        log.warn({ lagMs: Math.round(lagMs) }, 'main event loop stalled; the safety cores run in their own threads, charging goes on');
        return;
      }
      for (const b of exposed) b.hardware.latch?.('stall');
      for (const b of exposed) b.hardware.safe();
      log.error({ lagMs: Math.round(lagMs), connectors: exposed.map((b) => b.cfg.id) }, 'event loop stalled: outputs driven safe');
      for (const b of exposed) station.reportStall(b.cfg.id);
    },
  });

  const { host, port } = parseListen(config.api.listen);
  const api = new ApiServer({
    station,
    sessions,
    log: log.child({ module: 'api' }),
    host,
    port,
    token: config.api.token,
    ...(config.api.passwordHash ? { signIn: { passwordHash: config.api.passwordHash, ...config.api.signIn } } : {}),
    allowedHosts: config.api.allowedHosts,
    sessionColumns: withTagNames(sessionCostColumns(ledger), tagNames, config.auth.tags),
    live,
    tagNames,
    owner,
  });
  mountTagRoutes(api, { tags: tagNames, learner, stationId: config.station.id });
  mountDashboard(api, station, new StationStatsRepository(db));
  mountStationPage(api, {
    station,
    sessions,
    ledger,
    stationId: config.station.id,
    // As `evsed report` reads them (cli/commands/report.ts): the page's report is the CLI's.
    reportTimeZone: config.tariff?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    reportNames: () => {
      const names = new Map(config.auth.tags.flatMap((t) => (t.name ? [[t.idTag, t.name] as const] : [])));
      for (const [tag, name] of tagNames.all()) names.set(tag, name);
      return names;
    },
    ratings: new Map(config.connectors.map((c) => [c.id, c.maxCurrentA])),
  });
  mountReaderRoutes(api, readers);
  if (gridMeter instanceof SimGridMeter) mountSimSite(api, gridMeter);
  if (pv) mountPvRoutes(api, pv);
  let address: AddressInfo;
  try {
    address = await api.listen();
    apiPort = address.port;
  } catch (err) {
    await readers.stop();
    owner.stop();
    signals?.stop();
    await station.shutdown('Other');
    await storeWatch.beforeClose();
    db.close();
    storeWatch.afterClose();
    throw new Error(`cannot listen on ${config.api.listen} (api.listen): ${(err as Error).message}`);
  }
  // Started once the start-up work is done: its first reading would count that work as a stall.
  stall.start();
  // A release on trial without OCPP proves itself by healthy control loops (with OCPP the firmware job confirms on BootNotification Accepted).
  const trialProof = config.ocpp
    ? undefined
    : startStandaloneProof({
        installer: releases,
        proofS: config.update.standaloneProofS,
        health: () => station.health(),
        clock,
        log: log.child({ module: 'update' }),
      });
  log.info({ station: config.station.id, connectors: config.connectors.length, startupMs: Math.round(performance.now() - started) }, 'evsed ready');

  let stopping: Promise<void> | undefined;
  return {
    station,
    api,
    address,
    db,
    ledger,
    live,
    owner,
    sessions,
    readers,
    learner,
    signals,
    safeOutputs: () => station.safe(),
    hardware: (id) => {
      const hw = boards.find((b) => b.cfg.id === id)?.hardware;
      return hw && boardOf(hw);
    },
    safetyCore: (id) => boards.find((b) => b.cfg.id === id)?.hardware,
    meter: (id) => parts.find((p) => p.cfg.id === id)?.meter,
    load,
    gridMeter,
    health: () => station.health(),
    loopLag: () => stall.stats(),
    stop(reason: StopReason = 'Other') {
      stopping ??= (async () => {
        // No card may start anything while the station shuts down.
        learner.cancel();
        trialProof?.stop();
        await readers.stop();
        // Not safe() first: under load the EV is told to stop (X1) before the contactor opens
        // (Connector.shutdown). The stall detector keeps watching until the contactors are open.
        await station.shutdown(reason);
        signals?.stop();
        stall.stop();
        for (const s of services.reverse()) await s.stop().catch((err) => log.error({ err: (err as Error).message }, 'service stop failed'));
        live.stop();
        owner.stop();
        await api.close();
        await storeWatch.beforeClose();
        clock.close();
        db.close();
        storeWatch.afterClose();
      })();
      return stopping;
    },
    onRestart(handler) {
      restartHandler = handler;
    },
    onExit(handler) {
      exitHandler = handler;
    },
  };
}

/** The session columns with the tag's name (the owner's name, else the config's) after the idTag. */
function withTagNames(columns: ExtraColumns, names: TagNameRepository, configTags: LoadedConfig['config']['auth']['tags']): ExtraColumns {
  return (s) => ({ tagName: s.idTag === null ? null : tagNameOf(s.idTag, names, configTags), ...columns(s) });
}

/** A tag's name: the owner's, else the config's, else null. */
function tagNameOf(idTag: string, names: TagNameRepository, configTags: LoadedConfig['config']['auth']['tags']): string | null {
  return names.get(idTag)?.name ?? configTags.find((t) => sameIdTag(t.idTag, idTag))?.name ?? null;
}

/** The board driver under a connector's in-process safety core (a sim meter measures the sim EV on it). */
function boardOf(hw: ConnectorHardware): ConnectorHardware {
  return hw instanceof SafetyCore ? hw.inner : hw;
}
