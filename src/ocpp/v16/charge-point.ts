import type { StationEvents, StationPort } from '../../evse/port.js';
import type { SyncEvent } from '../../hal/clock.js';
import type { Logger } from '../../log.js';
import type { OcppRepositories } from '../../store/ocpp/index.js';
import { Subscriptions } from '../../util/subscriptions.js';
import type { OcppConfig } from '../../config/ocpp.js';
import { redactUrlPassword } from '../../config/secrets.js';
import { Link } from '../link.js';
import { Outbox } from '../outbox.js';
import type { SessionHookRegistrar } from '../port.js';
import { TimeResolver } from '../stamps.js';
import { Timers } from '../timers.js';
import { TagAuthorization } from './authorization.js';
import { restoreAvailability } from './availability.js';
import { toOcpp16CallError } from './call-errors.js';
import { Delivery16, INVALID_ID_CLAIM } from './delivery.js';
import { registerHandlers, type HandlerContext } from './handlers/index.js';
import { SecurityEventLog } from './security/event-log.js';
import { CertificateStore } from './security/cert-store.js';
import { SecurityExtension } from './security/extension.js';
import { KeyStore } from './key-store.js';
import { TxLedger } from './ledger.js';
import { Lifecycle, type BootStatus } from './lifecycle.js';
import type { AuthorizeConf, AuthorizeReq, IdTagInfo } from './messages.js';
import { MeterValuesReporter } from './meter-values.js';
import { StatusReporter } from './status.js';
import { SmartCharging } from './smart-charging/controller.js';
import type { ReleaseInstaller } from '../../maintenance/release/types.js';
import { download as transferDownload, type DownloadRequest, type DownloadResult } from '../../maintenance/transfer/index.js';
import { DEFAULT_FIRMWARE_MAX_BYTES, FirmwareUpdater, type FirmwareNotification } from './firmware/updater.js';
import type { ManufacturerRoots } from './firmware/signature.js';
import type { ArchiveRequest, ArchiveResult } from '../../maintenance/diagnostics/archive.js';
import { upload as transferUpload, type UploadRequest } from '../../maintenance/transfer/index.js';
import { DiagnosticsUploads, type StatusAction } from './diagnostics/uploads.js';

/** On stop, how long a transaction message already sent may take to be answered before the link closes. */
const STOP_IN_FLIGHT_GRACE_MS = 2000;
/** On stop, how long the queue may drain before the link closes (what is left goes after the restart). */
const STOP_SETTLE_MS = 5000;

export interface ChargePointDeps {
  station: StationPort;
  repos: OcppRepositories;
  sessionHooks: SessionHookRegistrar;
  ocpp: OcppConfig;
  /** idTag recorded for sessions started without a tag (auth.mode free) */
  freeIdTag: string;
  /**
   * auth.mode ocpp: tags presented at the reader are authorised by the CSMS, the cache and the local
   * list. With mode local or free the station keeps its own authorisation and only reports.
   */
  authorizeTags: boolean;
  /** phases per connector id (for ConnectorPhaseRotation) */
  phases: Map<number, 1 | 3>;
  /** The highest configured connector maximum (A): what GetCompositeSchedule says where no profile limits. */
  connectorMaxA?: number;
  /** storage.dir: the certificate store lives under it (`certificates/`); without it nothing can be installed. */
  storageDir?: string;
  /** Firmware updates (UpdateFirmware, SignedUpdateFirmware); without it they are answered NotSupported. */
  firmware?: FirmwareDeps;
  /** GetDiagnostics and GetLog; without it they are answered NotSupported. */
  diagnostics?: DiagnosticsDeps;
  log: Logger;
}

export interface FirmwareDeps {
  installer: ReleaseInstaller;
  /** The installed ManufacturerRootCertificates (none: plain UpdateFirmware is allowed); default: the security extension's certificate store. */
  roots?: ManufacturerRoots;
  /** Where bundles are downloaded (in storage.dir: a download resumes after a restart). */
  dir: string;
  /** The largest bundle downloaded; default DEFAULT_FIRMWARE_MAX_BYTES. */
  maxBytes?: number;
  /** Restarts the process so that the activated release starts (the charge point is stopped first by whoever restarts). */
  restart(why: string): void;
  /** The transfer (default: maintenance/transfer download). */
  download?: (req: DownloadRequest) => Promise<DownloadResult>;
}

export interface DiagnosticsDeps {
  /** Builds the archive (maintenance/diagnostics DiagnosticsCollector). */
  build(req: ArchiveRequest): Promise<ArchiveResult>;
  /** Where archives are made (in storage.dir). */
  dir: string;
  /** The transfer (default: maintenance/transfer upload). */
  upload?: (req: UploadRequest) => Promise<void>;
  /** The security log's lines of a window (GetLog SecurityLog); the security extension provides it. */
  securityLog?: (from?: Date, to?: Date) => string[];
}

/**
 * The OCPP 1.6J charge point, put together from its parts: the Lifecycle (boot gate, heartbeat,
 * clock), the Outbox over the durable queue with the 1.6 Delivery policy, StatusNotification,
 * MeterValues, tag authorisation, and one typed handler per CSMS action (handlers/).
 *
 * Protocol-neutral below it (src/ocpp/): the Link (WebSocket, one call in flight, back-off), the
 * Outbox (draining, retries), TimeResolver and Timers; src/store/ocpp/: the repositories. An OCPP
 * 2.0.1 charge point would sit in src/ocpp/v201/ beside this one, built by startOcpp from the same
 * StationPort, repositories and session hooks: its own Lifecycle (BootNotification + device model
 * variables instead of KeyStore), a TransactionEvent ledger enqueueing into the same TxQueue (a
 * migration adds the action), an OutboxProtocol with MessageAttempts/MessageAttemptInterval and
 * seqNo/offline marking, its StatusNotification per EVSE/connector, and its own handler table.
 */
export class ChargePoint {
  readonly keys: KeyStore;
  readonly queue;
  readonly ledger: TxLedger;
  readonly auth;
  readonly link: Link;
  private readonly time: TimeResolver;
  private readonly timers: Timers;
  private readonly lifecycle: Lifecycle;
  private readonly outbox: Outbox;
  private readonly statusReporter: StatusReporter;
  private readonly meterValues: MeterValuesReporter;
  private readonly tags: TagAuthorization;
  readonly smartCharging: SmartCharging;
  /** Security events: the local security log, and SecurityEventNotification through the durable queue. */
  readonly security: SecurityEventLog;
  /** The security extension: profile raises with fallback, certificates, SignCertificate. */
  readonly securityExtension: SecurityExtension;
  /** The firmware job, when the station has a release installer. */
  readonly firmware?: FirmwareUpdater;
  /** GetDiagnostics / GetLog uploads, when the station has a diagnostics collector. */
  readonly diagnostics?: DiagnosticsUploads;
  private readonly subs = new Subscriptions();

  constructor(private readonly d: ChargePointDeps) {
    const st = d.station;
    const repos = d.repos;
    this.queue = repos.queue;
    this.auth = repos.auth;
    this.timers = new Timers(st.clock);
    this.keys = new KeyStore(repos.keys, {
      connectorIds: st.connectorIds(),
      phases: d.phases,
      securityProfile: d.ocpp.securityProfile,
      cableLock: st.connectorIds().some((id) => st.hasLock(id)),
      phaseSwitching: st.connectorIds().some((id) => st.connectorView(id)?.phases?.switchable === true),
    }, d.ocpp.keys);
    this.ledger = new TxLedger(repos.transactions, this.queue);
    this.time = new TimeResolver(repos.clockOffsets);
    this.security = new SecurityEventLog({ repo: repos.securityLog, queue: this.queue, clock: st.clock, time: this.time, kick: () => this.outbox?.kick(), log: d.log });
    const key = this.keys.get('AuthorizationKey');
    const certificates = d.storageDir ? new CertificateStore(d.storageDir) : undefined;
    this.link = new Link({
      url: d.ocpp.url,
      identity: st.info.id,
      securityProfile: this.keys.int('SecurityProfile'),
      // built after the link: the first options are computed before it exists (connectLoop reads them again)
      tls: () => (this.securityExtension as SecurityExtension | undefined)?.tlsMaterial() ?? {},
      password: key ? Buffer.from(key, 'hex') : d.ocpp.password,
      caFile: d.ocpp.caFile,
      clientCert: d.ocpp.clientCert,
      clientKey: d.ocpp.clientKey,
      callTimeoutMs: d.ocpp.callTimeoutS * 1000,
      pingIntervalS: this.keys.int('WebSocketPingInterval'),
      reconnectMinMs: d.ocpp.reconnectMinS * 1000,
      reconnectMaxMs: d.ocpp.reconnectMaxS * 1000,
      protocol: 'ocpp1.6',
      // ocpp-rpc answers framing errors with OCPP 2.0.1 codes; a 1.6 CSMS only knows those of OCPP-J 1.6 §4.2.3.
      rewriteOutgoing: toOcpp16CallError,
      clock: st.clock,
      log: d.log,
    });
    this.lifecycle = new Lifecycle({
      link: this.link, info: st.info, clock: st.clock, keys: this.keys, timers: this.timers, log: d.log,
      firmwareVersion: () => {
        const v = d.firmware?.installer.currentVersion();
        return v && v !== 'dev' ? v : undefined;
      },
      onOnline: async (gen) => {
        await this.statusReporter.sendAll(gen);
        await this.firmware?.online();
        this.outbox.kick();
      },
    });
    const lc = this.lifecycle;
    this.securityExtension = new SecurityExtension({
      link: this.link, keys: this.keys, store: certificates, events: this.security, info: st.info, clock: st.clock, log: d.log,
      config: { caFile: d.ocpp.caFile, clientCert: d.ocpp.clientCert, clientKey: d.ocpp.clientKey, password: d.ocpp.password },
      send: (action, payload) => lc.send(action, payload),
    });
    this.tags = new TagAuthorization({ auth: this.auth, keys: this.keys, clock: st.clock, online: () => lc.online, ask: (t) => this.askAuthorize(t),
      conflict: (idTag, listed, csms) => {
        d.log.warn({ idTag, listed, csms }, 'OCPP: the CSMS contradicts the local authorisation list (LocalListConflict)');
        if (lc.online) void this.statusReporter.sendLocalListConflict();
      },
    });
    this.outbox = new Outbox({
      queue: this.queue,
      link: { online: () => lc.online, accepted: () => lc.bootStatus === 'Accepted', call: (a, p, g) => this.link.call(a, p, g), noteOutcome: (a, o) => lc.noteOutcome(a, o) },
      protocol: new Delivery16({
        station: st, keys: this.keys, queue: this.queue, ledger: this.ledger, time: this.time, tags: this.tags, authorizeTags: d.authorizeTags, log: d.log,
        onTransactionKnown: (sessionId, transactionId) => this.smartCharging.transactionKnown(sessionId, transactionId),
      }),
      clock: st.clock,
      timers: this.timers,
      log: d.log,
    });
    this.smartCharging = new SmartCharging({
      station: st, store: repos.chargingProfiles, keys: this.keys, phases: d.phases, timers: this.timers, log: d.log, connectorMaxA: d.connectorMaxA ?? 32,
      transactionIdOf: (sessionId) => this.ledger.transactionIdFor(sessionId),
    });
    this.statusReporter = new StatusReporter(st, lc);
    if (d.firmware) this.firmware = this.firmwareUpdater(d.firmware);
    if (d.diagnostics) this.diagnostics = this.diagnosticsUploads(d.diagnostics);
    this.meterValues = new MeterValuesReporter({
      station: st, keys: this.keys, queue: this.queue, ledger: this.ledger, alignedReadings: repos.alignedReadings,
      timers: this.timers, session: lc, kick: () => this.outbox.kick(),
    });
  }

  /** Hooks, authorizer, listeners, persisted availability; then connect. */
  start(): void {
    const { station: st, log } = this.d;
    this.d.sessionHooks.addHooks({
      onStart: (s) => {
        const idTag = (s.idTag ?? this.d.freeIdTag).slice(0, 20);
        this.ledger.onStart(s, idTag, this.tags.takeParent(idTag));
      },
      onStop: (s) => void this.ledger.onStop(s, this.meterValues.stopTxnData(s)),
      onCorrect: (s, before) => {
        const late = this.ledger.onCorrect(s, before);
        const values = { sessionId: s.id, meterStartWh: s.meterStartWh, meterStopWh: s.meterStopWh, recordedStartWh: before.meterStartWh, recordedStopWh: before.meterStopWh };
        if (late.length) log.warn({ ...values, late }, 'OCPP: a provisional meter value was corrected after the CSMS got it; the CSMS keeps the recorded value (OCPP 1.6 has no correction message)');
        else log.info(values, 'OCPP: queued transaction messages carry the corrected meter value');
      },
    });
    if (this.d.authorizeTags) {
      st.setAuthorizer({
        authorize: (idTag) => this.tags.authorize(idTag),
        parentIdTagOf: (sessionId) => this.ledger.get(sessionId)?.parentIdTag ?? undefined,
      });
    }
    const listen = this.subs.events<StationEvents>(st);
    listen('status', (v) => this.statusReporter.onStatus(v));
    listen('sample', (s) => this.meterValues.onSample(s));
    listen('session-started', (s) => {
      this.meterValues.sessionStarted(s);
      this.outbox.kick();
    });
    listen('session-stopped', (s) => {
      this.meterValues.sessionStopped(s);
      st.clearClaim(INVALID_ID_CLAIM, s.connectorId);
      this.outbox.kick();
    });
    const onSync = (ev: SyncEvent) => {
      this.time.noteSync(st.clock.bootId, ev.monoToWallMs);
      log.info({ source: ev.source }, 'OCPP: clock set; queued timestamps of this boot are corrected when sent');
      this.security.report('SettingSystemTime', `clock set from ${ev.source}`);
    };
    this.subs.on(st.clock, 'sync', onSync);
    this.security.report('StartupOfTheDevice', `firmware ${st.info.firmwareVersion}`);
    restoreAvailability(st, this.d.repos.availability);
    // before the first offer: the station starts its connectors after the charge point
    this.smartCharging.start();
    st.setConnectionTimeout(this.keys.int('ConnectionTimeOut'));
    this.keys.onChange('ConnectionTimeOut', (v) => st.setConnectionTimeout(Number(v)));
    this.keys.onChange('WebSocketPingInterval', (v) => this.link.setPingInterval(Number(v)));
    this.keys.onChange('ClockAlignedDataInterval', () => this.meterValues.scheduleAligned());
    this.keys.onChange('AuthorizationKey', (v) => {
      this.security.report('ReconfigurationOfSecurityParameters', 'AuthorizationKey changed');
      this.link.setPassword(Buffer.from(v, 'hex'));
    });
    this.keys.onChange('AuthorizationCacheEnabled', (v) => v === 'false' && this.auth.clearCache());
    for (const k of this.keys.ignoredStored) log.warn(k, `OCPP: the stored value of ${k.key} set earlier by the CSMS is not applied: ${k.problem}`);
    this.securityExtension.start();
    this.lifecycle.start();
    this.firmware?.start();
    void this.diagnostics?.recover();
    registerHandlers(this.link.client, this.handlerContext());
    st.registerStatus('ocpp', () => this.status());
    this.meterValues.scheduleAligned();
    this.link.start();
  }

  async stop(): Promise<void> {
    this.firmware?.stop();
    // an upload under way ends as UploadFailed, queued before the queue settles
    await this.diagnostics?.stop();
    // Transaction messages of sessions the stop just ended go out first, while the boot is still
    // accepted (a StopTransaction behind a slow StatusNotification was lost to the close before).
    await this.outbox.settle(STOP_SETTLE_MS);
    this.smartCharging.stop();
    this.lifecycle.stop();
    await this.outbox.stop(STOP_IN_FLIGHT_GRACE_MS);
    this.timers.stop();
    this.subs.clear();
    this.securityExtension.stop();
    await this.link.stop();
  }

  get online(): boolean {
    return this.lifecycle.online;
  }

  get bootStatus(): BootStatus {
    return this.lifecycle.bootStatus;
  }

  private handlerContext(): HandlerContext {
    const lc = this.lifecycle;
    return {
      station: this.d.station,
      keys: this.keys,
      auth: this.auth,
      availability: this.d.repos.availability,
      ledger: this.ledger,
      log: this.d.log,
      bootStatus: () => lc.bootStatus,
      authorize: (idTag) => this.tags.authorize(idTag),
      afterReply: (fn) => void setImmediate(fn),
      later: (ms, fn) => this.timers.later(ms, fn),
      smartCharging: this.smartCharging,
      security: this.security,
      securityExtension: this.securityExtension,
      ...(this.firmware ? { firmware: this.firmware } : {}),
      ...(this.diagnostics ? { diagnostics: this.diagnostics } : {}),
      triggers: {
        bootNotification: () => lc.triggerBoot(),
        heartbeat: () => lc.heartbeat({ triggered: true }),
        statusNotification: (connectorId) => this.statusReporter.sendTriggered(connectorId),
        meterReadings: (ids) => this.meterValues.latestReadings(ids),
        meterValues: (readings) => this.meterValues.sendTriggered(readings),
        firmwareStatus: async () => {
          if (this.firmware) await this.firmware.sendStatus();
          else await lc.send('FirmwareStatusNotification', { status: 'Idle' }, { triggered: true });
        },
        diagnosticsStatus: async () => {
          if (this.diagnostics) await this.diagnostics.sendDiagnosticsStatus();
          else await lc.send('DiagnosticsStatusNotification', { status: 'Idle' }, { triggered: true });
        },
        logStatus: async () => {
          if (this.diagnostics) await this.diagnostics.sendLogStatus();
          else await lc.send('LogStatusNotification', { status: 'Idle' }, { triggered: true });
        },
      },
    };
  }

  private firmwareUpdater(f: FirmwareDeps): FirmwareUpdater {
    const { station: st, repos } = this.d;
    return new FirmwareUpdater({
      installer: f.installer,
      roots: f.roots ?? { pems: () => this.securityExtension.manufacturerRoots() },
      repo: repos.firmwareJob,
      enqueue: (action, payload) => void this.queue.enqueue(action, null, payload, st.clock.stamp()),
      kick: () => this.outbox.kick(),
      sendNow: async (action: FirmwareNotification, payload) => void (await this.lifecycle.send(action, payload, { triggered: true })),
      download: f.download ?? transferDownload,
      dir: f.dir,
      maxBytes: f.maxBytes ?? DEFAULT_FIRMWARE_MAX_BYTES,
      clock: st.clock,
      station: st,
      restoreAvailability: () => restoreAvailability(st, repos.availability),
      security: this.security,
      restart: (why) => f.restart(why),
      log: this.d.log.child({ part: 'firmware' }),
    });
  }

  private diagnosticsUploads(x: DiagnosticsDeps): DiagnosticsUploads {
    const st = this.d.station;
    return new DiagnosticsUploads({
      build: (req) => x.build(req),
      upload: x.upload ?? transferUpload,
      enqueue: (action: StatusAction, payload) => {
        this.queue.enqueue(action, null, payload, st.clock.stamp());
        this.outbox.kick();
      },
      sendTriggered: async (action, payload) => void (await this.lifecycle.send(action, payload, { triggered: true })),
      sleep: (ms, signal) => new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
        this.timers.later(ms, resolve);
      }),
      wallMs: () => st.clock.wallMs(),
      stationId: st.info.id,
      dir: x.dir,
      securityLog: x.securityLog ?? ((from, to) => this.security.securityLog(from, to)),
      secrets: () => [this.keys.get('AuthorizationKey') ?? ''],
      log: this.d.log.child({ part: 'diagnostics' }),
    });
  }

  private async askAuthorize(idTag: string): Promise<IdTagInfo | undefined> {
    const req: AuthorizeReq = { idTag };
    const out = await this.lifecycle.send('Authorize', req);
    return out.kind === 'ok' ? (out.result as AuthorizeConf).idTagInfo : undefined;
  }

  status(): Record<string, unknown> {
    const q = this.queue.stats();
    const clock = this.d.station.clock;
    return {
      url: redactUrlPassword(`${this.d.ocpp.url}/${this.d.station.info.id}`),
      connected: this.link.isOpen,
      boot: this.lifecycle.bootStatus,
      lastReplyAgeS: this.lifecycle.lastReplyAgeS,
      queue: {
        length: q.length,
        bytes: q.bytes,
        oldestAgeS: q.oldestCreatedWallMs === null ? null : Math.max(0, Math.round((clock.wallMs() - q.oldestCreatedWallMs) / 1000)),
        thinned: q.thinned,
        failed: q.failed,
        failedMessages: this.queue.failed(20).map((r) => ({ id: r.id, action: r.action, sessionId: r.sessionId, attempts: r.attempts, lastError: r.lastError })),
      },
      link: { ...this.link.counters, lastError: this.link.lastError },
      lastCallError: this.lifecycle.lastCallError,
      smartCharging: this.smartCharging.status(),
      security: this.securityExtension.status(),
      ...(this.firmware ? { firmware: this.firmware.status() } : {}),
    };
  }
}
