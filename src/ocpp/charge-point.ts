import rpc from 'ocpp-rpc';
import { isoSeconds, withTimeout } from '../hal/clock.js';
import type { FaultKind } from '../hal/types.js';
import type { AuthResult, ConnectorStatus, ConnectorView, StationEvents } from '../evse/station-api.js';
import type { SessionRecord } from '../store/sessions.js';
import type { Logger } from '../log.js';
import type { OcppStationPort } from './station-port.js';
import type { OcppConfig } from './config.js';
import { KeyStore } from './key-store.js';
import { AuthStore, OcppAuthorizer, type IdTagInfo } from './auth.js';
import { Link, type Outcome } from './link.js';
import { TxQueue, type QueueRow } from './queue.js';
import { StopTxnAligned, TxLedger } from './transactions.js';
import { TimeResolver, stampRef } from './stamps.js';
import { sampledValues, type Sample, type SampledValue } from './meter-values.js';

const { createRPCError, NOREPLY } = rpc;

type BootStatus = 'none' | 'Pending' | 'Accepted' | 'Rejected';

export interface ChargePointDeps {
  station: OcppStationPort;
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
  log: Logger;
}

const FAULT_CODES: Record<FaultKind, string> = {
  rcd: 'GroundFailure',
  diode: 'OtherError',
  overcurrent: 'OverCurrentFailure',
  welded: 'PowerSwitchFailure',
  contactor: 'PowerSwitchFailure',
  pilot: 'OtherError',
  meter: 'PowerMeterFailure',
  overtemperature: 'HighTemperature',
  stall: 'OtherError',
  store: 'OtherError',
  other: 'OtherError',
};

interface StatusMsg {
  connectorId: number;
  status: ConnectorStatus;
  errorCode: string;
  info?: string;
}

const INVALID_ID_CLAIM = 'ocpp:invalid-id';
/** OCPP actions of profiles evsed does not implement: answered NotSupported rather than NotImplemented. */
const UNSUPPORTED = ['SetChargingProfile', 'ClearChargingProfile', 'GetCompositeSchedule', 'ReserveNow', 'CancelReservation', 'UpdateFirmware', 'GetDiagnostics'];

/**
 * The OCPP 1.6J charge point: boot gate, heartbeats, status, the durable transaction queue and the
 * Core / LocalAuthListManagement / RemoteTrigger handlers.
 */
export class ChargePoint {
  readonly keys: KeyStore;
  readonly queue: TxQueue;
  readonly ledger: TxLedger;
  private readonly alignedTx: StopTxnAligned;
  readonly auth: AuthStore;
  readonly link: Link;
  private readonly time: TimeResolver;
  private readonly st: OcppStationPort;
  private readonly log: Logger;
  private boot: BootStatus = 'none';
  private gen = 0;
  private stopped = false;
  private draining = false;
  private retryAt = new Map<number, number>();
  private timers = new Set<NodeJS.Timeout>();
  private heartbeatTimer?: NodeJS.Timeout;
  private alignedTimer?: NodeJS.Timeout;
  private drainTimer?: NodeJS.Timeout;
  private lastReplyMono = 0;
  /** No BootNotification before this monotonic time (the interval of the last Pending/Rejected answer). */
  private bootNotBeforeMono = 0;
  /** The generation whose boot loop is running (one at a time), its sleep's wake-up, and a pending TriggerMessage. */
  private bootLoopGen: number | null = null;
  private bootWake?: () => void;
  private bootTriggered = false;
  private readonly lastSent = new Map<number, string>();
  private readonly lastSample = new Map<number, Sample>();
  private readonly lastPeriodicMono = new Map<number, number>();
  private readonly triggeredMv = new Set<number>();
  /** parentIdTag of the latest authorisation per idTag (upper case), taken by the session it starts. */
  private readonly parents = new Map<string, string | undefined>();
  private readonly listeners: [keyof StationEvents, (...a: any[]) => void][] = [];
  lastCallError: { action: string; code: string; message: string; at: string } | null = null;

  constructor(private readonly d: ChargePointDeps) {
    const st = d.station;
    this.st = st;
    this.log = d.log;
    const view = st.view();
    this.keys = new KeyStore(st.db, {
      connectorIds: view.connectors.map((c) => c.id),
      phases: d.phases,
      securityProfile: d.ocpp.securityProfile,
      cableLock: view.connectors.some((c) => st.hasLock(c.id)),
    }, d.ocpp.keys);
    this.queue = new TxQueue(st.db, { maxMessages: d.ocpp.maxQueuedMessages, maxBytes: d.ocpp.maxQueueBytes });
    this.ledger = new TxLedger(st.db, this.queue);
    this.alignedTx = new StopTxnAligned(st.db);
    this.auth = new AuthStore(st.db, () => st.clock.wallMs());
    this.time = new TimeResolver(st.db);
    const key = this.keys.get('AuthorizationKey');
    this.link = new Link({
      url: d.ocpp.url,
      identity: st.stationConfig.id,
      securityProfile: d.ocpp.securityProfile,
      password: key ? Buffer.from(key, 'hex') : d.ocpp.password,
      caFile: d.ocpp.caFile,
      clientCert: d.ocpp.clientCert,
      clientKey: d.ocpp.clientKey,
      callTimeoutMs: d.ocpp.callTimeoutS * 1000,
      pingIntervalS: this.keys.int('WebSocketPingInterval'),
      reconnectMinMs: d.ocpp.reconnectMinS * 1000,
      reconnectMaxMs: d.ocpp.reconnectMaxS * 1000,
      log: d.log,
    });
  }

  /** Hooks, authorizer, listeners, persisted availability; then connect. */
  start(): void {
    const st = this.st;
    st.sessions.addHooks({
      onStart: (s) => {
        const idTag = (s.idTag ?? this.d.freeIdTag).slice(0, 20);
        this.ledger.onStart(s, idTag, this.takeParent(idTag));
      },
      onStop: (s) => void this.ledger.onStop(s, this.stopTxnData(s)),
      onCorrect: (s, _db, before) => {
        const late = this.ledger.onCorrect(s, before);
        const values = { sessionId: s.id, meterStartWh: s.meterStartWh, meterStopWh: s.meterStopWh, recordedStartWh: before.meterStartWh, recordedStopWh: before.meterStopWh };
        if (late.length) this.log.warn({ ...values, late }, 'OCPP: a provisional meter value was corrected after the CSMS got it; the CSMS keeps the recorded value (OCPP 1.6 has no correction message)');
        else this.log.info(values, 'OCPP: queued transaction messages carry the corrected meter value');
      },
    });
    if (this.d.authorizeTags) {
      const a = this.authorizer();
      st.setAuthorizer({
        authorize: (idTag, connectorId) => a.authorize(idTag, connectorId),
        parentIdTagOf: (sessionId) => this.ledger.get(sessionId)?.parentIdTag ?? undefined,
      });
    }
    this.listen('status', (v: ConnectorView) => this.onStatus(v));
    this.listen('sample', (s: Sample) => this.onSample(s));
    this.listen('session-started', (s: SessionRecord) => {
      this.lastPeriodicMono.set(s.id, st.clock.monoMs());
      this.kickDrain();
    });
    this.listen('session-stopped', (s: SessionRecord) => this.onSessionStopped(s));
    st.clock.on('sync', (ev) => {
      this.time.noteSync(st.clock.bootId, ev.monoToWallMs);
      this.log.info({ source: ev.source }, 'OCPP: clock set; queued timestamps of this boot are corrected when sent');
    });
    this.restoreAvailability();
    st.setConnectionTimeout(this.keys.int('ConnectionTimeOut'));
    this.keys.onChange('ConnectionTimeOut', (v) => st.setConnectionTimeout(Number(v)));
    this.keys.onChange('HeartbeatInterval', () => this.scheduleHeartbeat());
    this.keys.onChange('WebSocketPingInterval', (v) => this.link.setPingInterval(Number(v)));
    this.keys.onChange('ClockAlignedDataInterval', () => this.scheduleAligned());
    this.keys.onChange('AuthorizationKey', (v) => this.link.setPassword(Buffer.from(v, 'hex')));
    this.keys.onChange('AuthorizationCacheEnabled', (v) => v === 'false' && this.auth.clearCache());
    this.registerHandlers();
    this.link.on('open', () => void this.onOpen());
    this.link.on('down', () => {
      this.gen++;
      this.bootTriggered = false; // a trigger of the lost connection does not outlive it
    });
    st.registerStatus('ocpp', () => this.status());
    this.scheduleAligned();
    this.link.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.gen++;
    for (const t of this.timers) clearTimeout(t);
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.alignedTimer);
    clearTimeout(this.drainTimer);
    for (const [e, l] of this.listeners) this.st.off(e, l);
    await this.link.stop();
  }

  get online(): boolean {
    return this.link.isOpen && this.boot === 'Accepted';
  }

  get bootStatus(): BootStatus {
    return this.boot;
  }

  private listen<E extends keyof StationEvents>(e: E, l: (...a: StationEvents[E]) => void): void {
    this.st.on(e, l);
    this.listeners.push([e, l as (...a: any[]) => void]);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  private now(): string {
    return isoSeconds(this.st.clock.wallMs());
  }

  /** Send a non-transaction message now; nothing but BootNotification (or a triggered message) before Accepted. */
  private async send(action: string, payload: Record<string, unknown>, opts: { triggered?: boolean } = {}): Promise<Outcome> {
    const allowed = () => this.boot === 'Accepted' || action === 'BootNotification' || (opts.triggered === true && this.boot === 'Pending');
    const out = await this.link.call(action, payload, allowed);
    this.noteOutcome(action, out);
    return out;
  }

  private noteOutcome(action: string, out: Outcome): void {
    if (out.kind === 'ok') this.lastReplyMono = this.st.clock.monoMs();
    if (out.kind === 'callerror') {
      this.lastCallError = { action, code: out.code, message: out.message, at: this.now() };
      this.log.warn({ action, code: out.code, message: out.message }, 'OCPP: CALLERROR from the CSMS');
    }
  }

  // ---------------------------------------------------------------- boot, heartbeat, clock

  private async onOpen(): Promise<void> {
    const gen = ++this.gen;
    if (this.boot === 'Accepted') {
      this.log.info('OCPP: reconnected; sending current status and the queued messages');
      await this.sendAllStatus(gen);
      this.kickDrain();
      return;
    }
    await this.bootLoop(gen);
  }

  /**
   * BootNotification until Accepted. The wait a Pending/Rejected answer (or a CALLERROR) imposes is
   * a monotonic not-before time kept on the charge point, not in this connection's loop: a dropped
   * and re-opened socket does not bring the next BootNotification forward (S16 §4.2.1).
   */
  private async bootLoop(gen: number): Promise<void> {
    const cfg = this.st.stationConfig;
    const payload: Record<string, unknown> = { chargePointVendor: cfg.vendor, chargePointModel: cfg.model };
    if (cfg.serialNumber) payload.chargePointSerialNumber = cfg.serialNumber;
    if (cfg.firmwareVersion) payload.firmwareVersion = cfg.firmwareVersion.slice(0, 50);
    if (this.bootLoopGen === gen) return;
    this.bootLoopGen = gen;
    try {
      await this.bootLoopRun(gen, payload);
    } finally {
      if (this.bootLoopGen === gen) this.bootLoopGen = null;
    }
  }

  private async bootLoopRun(gen: number, payload: Record<string, unknown>): Promise<void> {
    while (!this.stopped && gen === this.gen && this.boot !== 'Accepted') {
      const waitMs = this.bootNotBeforeMono - this.st.clock.monoMs();
      if (waitMs > 0 && !this.bootTriggered) {
        await new Promise<void>((resolve) => {
          this.bootWake = resolve;
          this.later(waitMs, resolve);
        });
        this.bootWake = undefined;
        continue;
      }
      this.bootTriggered = false;
      const out = await this.send('BootNotification', payload);
      if (gen !== this.gen || this.stopped) return;
      if (out.kind === 'ok') {
        const r = out.result as { status: 'Accepted' | 'Pending' | 'Rejected'; currentTime: string; interval: number };
        this.takeTime(r.currentTime);
        this.boot = r.status;
        this.log.info({ status: r.status, interval: r.interval }, 'OCPP: BootNotification answered');
        if (r.status === 'Accepted') {
          if (r.interval > 0) this.keys.change('HeartbeatInterval', String(r.interval));
          this.scheduleHeartbeat();
          await this.sendAllStatus(gen);
          this.kickDrain();
          return;
        }
        this.bootNotBeforeMono = this.st.clock.monoMs() + (r.interval > 0 ? r.interval : 60) * 1000;
      } else if (out.kind === 'callerror') {
        this.bootNotBeforeMono = this.st.clock.monoMs() + 30_000;
      } else {
        return; // the link reconnects (with back-off); the next open boots again
      }
    }
  }

  private takeTime(currentTime: string | undefined): void {
    const t = currentTime ? Date.parse(currentTime) : NaN;
    if (Number.isFinite(t)) this.st.clock.setFromTrustedSource(t, 'ocpp');
  }

  private scheduleHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    const s = this.keys.int('HeartbeatInterval');
    if (s <= 0 || this.stopped) return;
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), s * 1000);
  }

  /** Heartbeat per HeartbeatInterval; unanswered, the link times out and reconnects (watchdog). */
  private async heartbeat(): Promise<void> {
    if (this.online) {
      const out = await this.send('Heartbeat', {});
      if (out.kind === 'ok') this.takeTime((out.result as { currentTime: string }).currentTime);
    }
    this.scheduleHeartbeat();
  }

  // ---------------------------------------------------------------- status

  private statusOf(v: ConnectorView): StatusMsg {
    const fault = v.faults[0];
    return {
      connectorId: v.id,
      status: v.status,
      errorCode: fault ? FAULT_CODES[fault] ?? 'OtherError' : 'NoError',
      ...(fault ? { info: fault } : {}),
    };
  }

  /** Connector 0: Unavailable / Faulted when every connector is; Faulted carries the first fault's error code. */
  private stationStatus(): StatusMsg {
    const cs = this.st.view().connectors;
    const status: ConnectorStatus = cs.length > 0 && cs.every((c) => c.status === 'Unavailable') ? 'Unavailable' : cs.length > 0 && cs.every((c) => c.status === 'Faulted') ? 'Faulted' : 'Available';
    if (status !== 'Faulted') return { connectorId: 0, status, errorCode: 'NoError' };
    const faults = [...new Set(cs.flatMap((c) => c.faults))];
    const first = faults[0];
    return { connectorId: 0, status, errorCode: first ? FAULT_CODES[first] ?? 'OtherError' : 'OtherError', ...(faults.length ? { info: faults.join(',').slice(0, 50) } : {}) };
  }

  private async sendStatus(m: StatusMsg, opts: { force?: boolean; triggered?: boolean } = {}): Promise<void> {
    const sig = `${m.status}/${m.errorCode}`;
    if (!opts.force && this.lastSent.get(m.connectorId) === sig) return;
    const out = await this.send('StatusNotification', { ...m, timestamp: this.now() }, { triggered: opts.triggered });
    if (out.kind === 'ok') this.lastSent.set(m.connectorId, sig);
  }

  private async sendAllStatus(gen: number): Promise<void> {
    const msgs = [this.stationStatus(), ...this.st.view().connectors.map((c) => this.statusOf(c))];
    for (const m of msgs) {
      if (gen !== this.gen) return;
      await this.sendStatus(m, { force: true });
    }
  }

  private onStatus(v: ConnectorView): void {
    if (!this.online) return; // the current status goes out after (re)connect
    void this.sendStatus(this.statusOf(v)).then(() => this.sendStatus(this.stationStatus()));
  }

  // ---------------------------------------------------------------- meter values

  private offeredA(connectorId: number): number | null {
    return this.st.view().connectors.find((c) => c.id === connectorId)?.currentLimitA ?? null;
  }

  private onSample(s: Sample): void {
    this.lastSample.set(s.connectorId, s);
    const interval = this.keys.int('MeterValueSampleInterval');
    if (s.sessionId === null || interval <= 0) return;
    const tx = this.ledger.get(s.sessionId);
    if (!tx || tx.stopQueued) return;
    const mono = this.st.clock.monoMs();
    const last = this.lastPeriodicMono.get(s.sessionId) ?? mono;
    if (!this.lastPeriodicMono.has(s.sessionId)) this.lastPeriodicMono.set(s.sessionId, mono);
    // half a second of slack: samples arrive on the meter's own cadence
    if (mono - last < interval * 1000 - 500) return;
    this.lastPeriodicMono.set(s.sessionId, mono);
    const at = this.st.clock.stamp();
    const values = sampledValues(this.keys.csl('MeterValuesSampledData'), s, 'Sample.Periodic', this.offeredA(s.connectorId));
    this.queue.enqueue('MeterValues', s.sessionId, { connectorId: s.connectorId, meterValue: [{ timestamp: stampRef(at), sampledValue: values }] }, at, true);
    this.kickDrain();
  }

  /** Clock-aligned readings on the wall-clock grid (from midnight UTC), for every connector. */
  private scheduleAligned(): void {
    clearTimeout(this.alignedTimer);
    const s = this.keys.int('ClockAlignedDataInterval');
    if (s <= 0 || this.stopped) return;
    const wall = this.st.clock.wallMs();
    const next = (Math.floor(wall / (s * 1000)) + 1) * s * 1000;
    this.alignedTimer = setTimeout(() => {
      this.aligned(next);
      this.scheduleAligned();
    }, next - wall);
  }

  /**
   * One clock-aligned reading per connector, stamped with the interval boundary. A connector whose
   * meter is stale or offline gets none: its last reading is not a measurement at this boundary.
   */
  private aligned(boundaryMs: number): void {
    const measurands = this.keys.csl('MeterValuesAlignedData');
    const now = this.st.clock.stamp();
    const at = { ...now, wallMs: boundaryMs, monoMs: now.monoMs - (now.wallMs - boundaryMs) };
    const stopTxn = this.keys.csl('StopTxnAlignedData');
    for (const c of this.st.view().connectors) {
      const s = this.lastSample.get(c.id);
      if (!s || c.meter.stale) continue;
      const sessionId = c.session?.id ?? null;
      const values = sampledValues(measurands, s, 'Sample.Clock', c.currentLimitA);
      this.queue.enqueue('MeterValues', sessionId, { connectorId: c.id, meterValue: [{ timestamp: stampRef(at), sampledValue: values }] }, at, true);
      if (sessionId !== null && stopTxn.length > 0 && !this.ledger.get(sessionId)?.stopQueued) {
        const mv = { timestamp: stampRef(at), sampledValue: sampledValues(stopTxn, s, 'Sample.Clock', c.currentLimitA) };
        this.alignedTx.keep(sessionId, mv);
      }
    }
    this.kickDrain();
  }

  /**
   * StopTransaction.transactionData: per StopTxnSampledData a Transaction.Begin and a Transaction.End
   * reading, and between them the clock-aligned readings StopTxnAlignedData collected during the
   * transaction (persisted, so a crash does not lose them; consumed in this session-stop commit).
   */
  private stopTxnData(s: SessionRecord): unknown[] | undefined {
    const aligned = this.alignedTx.take(s.id);
    const sampled = this.stopTxnSampled(s);
    if (!sampled) return aligned.length ? aligned : undefined;
    return [sampled[0], ...aligned, sampled[1]];
  }

  private stopTxnSampled(s: SessionRecord): [unknown, unknown] | undefined {
    const measurands = this.keys.csl('StopTxnSampledData');
    if (measurands.length === 0) return undefined;
    const start = { wallMs: s.startWallMs, quality: s.startQuality, bootId: s.startBootId, monoMs: s.startMonoMs };
    const stop = this.st.clock.stamp();
    const end = { ...stop, wallMs: s.stopWallMs ?? stop.wallMs };
    // instantaneous values only from a meter that is not stale; the register is meterStop
    const last = this.meterStale(s.connectorId) ? undefined : this.lastSample.get(s.connectorId);
    const zero = { powerW: 0, voltageV: [], currentA: [], frequencyHz: null };
    const endReading = { ...zero, ...(last ?? {}), energyWh: s.meterStopWh ?? s.meterStartWh };
    return [
      { timestamp: stampRef(start), sampledValue: sampledValues(['Energy.Active.Import.Register'], { ...zero, energyWh: s.meterStartWh }, 'Transaction.Begin', null) },
      { timestamp: stampRef(end), sampledValue: sampledValues(measurands, endReading, 'Transaction.End', null) },
    ];
  }

  private meterStale(connectorId: number): boolean {
    const c = this.st.view().connectors.find((x) => x.id === connectorId);
    return !c || c.meter.stale;
  }

  private onSessionStopped(s: SessionRecord): void {
    this.lastPeriodicMono.delete(s.id);
    this.st.clearClaim(INVALID_ID_CLAIM, s.connectorId);
    this.kickDrain();
  }

  // ---------------------------------------------------------------- durable queue

  kickDrain(delayMs = 0): void {
    if (delayMs > 0) {
      clearTimeout(this.drainTimer);
      this.drainTimer = setTimeout(() => this.kickDrain(), delayMs);
      return;
    }
    if (this.draining || !this.online || this.stopped) return;
    this.draining = true;
    void this.drain().finally(() => {
      this.draining = false;
    });
  }

  /** Sends queued transaction messages in order, one at a time, only while OPEN and Accepted. */
  private async drain(): Promise<void> {
    while (this.online && !this.stopped) {
      const row = this.queue.head();
      if (!row) return;
      const wait = (this.retryAt.get(row.id) ?? 0) - this.st.clock.monoMs();
      if (wait > 0) {
        this.kickDrain(wait);
        return;
      }
      const payload = this.payloadFor(row);
      this.queue.inflightId = row.id;
      const out = await this.link.call(row.action, payload, () => this.boot === 'Accepted');
      this.queue.inflightId = null;
      this.noteOutcome(row.action, out);
      if (out.kind === 'ok') {
        this.retryAt.delete(row.id);
        this.answered(row, out.result);
      } else if (out.kind === 'callerror') {
        const maxAttempts = this.keys.int('TransactionMessageAttempts');
        const { attempts, gaveUp } = this.queue.callError(row.id, `${out.code}: ${out.message}`, maxAttempts);
        if (gaveUp) {
          this.retryAt.delete(row.id);
          this.log.error({ action: row.action, queueId: row.id, sessionId: row.sessionId, attempts }, 'OCPP: transaction message given up after TransactionMessageAttempts CALLERRORs; kept in the store as failed');
          if (row.action === 'StartTransaction' && row.sessionId !== null) this.ledger.abandonStart(row.sessionId);
        } else {
          this.retryAt.set(row.id, this.st.clock.monoMs() + this.keys.int('TransactionMessageRetryInterval') * 1000 * attempts);
        }
      } else {
        return; // not sent or outcome unknown: the same payload goes again after the reconnect
      }
    }
  }

  /** The payload as sent now: timestamps resolved, transactionId from the session's StartTransaction.conf. */
  private payloadFor(row: QueueRow): Record<string, unknown> {
    const p = this.time.resolve(row.payload);
    if (row.action === 'StopTransaction') return { transactionId: this.ledger.transactionIdFor(row.sessionId) ?? -1, ...p };
    if (row.action === 'MeterValues') {
      const txId = this.ledger.transactionIdFor(row.sessionId);
      return txId === undefined ? p : { connectorId: p.connectorId, transactionId: txId, meterValue: p.meterValue };
    }
    return p;
  }

  private answered(row: QueueRow, result: any): void {
    if (row.action === 'StartTransaction' && row.sessionId !== null) {
      const r = result as { transactionId: number; idTagInfo: IdTagInfo };
      this.ledger.startAnswered(row.id, row.sessionId, r.transactionId, r.idTagInfo.status, r.idTagInfo.parentIdTag);
      const idTag = String(row.payload.idTag);
      if (this.keys.bool('AuthorizationCacheEnabled')) this.auth.remember(idTag, r.idTagInfo);
      this.log.info({ sessionId: row.sessionId, transactionId: r.transactionId, idTagStatus: r.idTagInfo.status }, 'OCPP: StartTransaction accepted by the CSMS');
      if (r.idTagInfo.status !== 'Accepted') this.deauthorize(row.sessionId, Number(row.payload.connectorId));
      return;
    }
    this.queue.delivered(row.id);
    if (row.action === 'StopTransaction' && result?.idTagInfo && typeof row.payload.idTag === 'string' && this.keys.bool('AuthorizationCacheEnabled')) {
      this.auth.remember(row.payload.idTag, result.idTagInfo as IdTagInfo);
    }
  }

  /**
   * StartTransaction.conf not Accepted for a session still running (E16 §3.5/§3.17):
   * StopTransactionOnInvalidId=true stops it (DeAuthorized) and, where the connector has a lock
   * and tags are authorised over OCPP, keeps the cable locked until the same tag (or one with the
   * same parentIdTag) is presented, or the CSMS sends UnlockConnector.
   */
  private deauthorize(sessionId: number, connectorId: number): void {
    if (this.st.sessionOn(connectorId)?.id !== sessionId) return;
    if (this.keys.bool('StopTransactionOnInvalidId')) {
      const tx = this.ledger.get(sessionId);
      if (this.d.authorizeTags && tx) this.st.holdLock(connectorId, { idTag: tx.idTag, ...(tx.parentIdTag ? { parentIdTag: tx.parentIdTag } : {}) });
      void this.st.stopSession(connectorId, 'DeAuthorized');
    } else {
      this.st.setClaim({ source: INVALID_ID_CLAIM, connectorId, maxA: 0 });
    }
  }

  // ---------------------------------------------------------------- authorization

  /** The OCPP authorizer; every result's parentIdTag is noted for the session the tag may start. */
  private authorizer(): { authorize(idTag: string, connectorId?: number): Promise<AuthResult> } {
    const a = new OcppAuthorizer(this.auth, this.keys, () => this.online, (t) => this.askAuthorize(t), () => this.st.clock.wallMs());
    return {
      authorize: async (idTag) => {
        const r = await a.authorize(idTag);
        if (this.parents.size > 1000) this.parents.clear();
        this.parents.set(idTag.toUpperCase(), r.parentIdTag);
        return r;
      },
    };
  }

  private takeParent(idTag: string): string | undefined {
    const p = this.parents.get(idTag.toUpperCase());
    this.parents.delete(idTag.toUpperCase());
    return p;
  }

  private async askAuthorize(idTag: string): Promise<IdTagInfo | undefined> {
    const out = await this.send('Authorize', { idTag });
    return out.kind === 'ok' ? ((out.result as { idTagInfo: IdTagInfo }).idTagInfo) : undefined;
  }

  // ---------------------------------------------------------------- availability

  /**
   * ChangeAvailability as persisted: connector 0 (the whole station) first, then each connector's
   * own later change on top of it (a change of connector 0 deletes the connectors' rows).
   */
  private restoreAvailability(): void {
    const rows = this.st.db.prepare('SELECT connector_id, available FROM ocpp_availability ORDER BY connector_id').all() as { connector_id: number; available: number }[];
    for (const r of rows) {
      if (r.connector_id !== 0 && !this.connectorKnown(r.connector_id)) continue;
      this.st.setAvailability(r.connector_id, r.available === 1);
    }
  }

  private saveAvailability(connectorId: number, available: boolean): void {
    const db = this.st.db;
    db.transaction(() => {
      if (connectorId === 0) db.prepare('DELETE FROM ocpp_availability').run();
      db.prepare('INSERT OR REPLACE INTO ocpp_availability (connector_id, available) VALUES (?, ?)').run(connectorId, available ? 1 : 0);
    })();
  }

  // ---------------------------------------------------------------- CSMS → station

  private connectorKnown(id: number): boolean {
    return this.st.view().connectors.some((c) => c.id === id);
  }

  private handle(action: string, fn: (params: any) => Promise<Record<string, unknown>> | Record<string, unknown>): void {
    this.link.client.handle(action, async ({ params }: { params?: any }) => {
      // Rejected: the CSMS must not send anything and we SHALL NOT answer (S16 §4.2.1).
      if (this.boot === 'Rejected') return NOREPLY as any;
      return fn(params ?? {});
    });
  }

  private registerHandlers(): void {
    const st = this.st;
    this.handle('GetConfiguration', (p: { key?: string[] }) => {
      // More keys than GetConfigurationMaxKeys in one request: refused as a whole (an occurrence
      // constraint of this charge point), never answered with some keys silently left out.
      const max = this.keys.int('GetConfigurationMaxKeys');
      if (p.key && p.key.length > max) throw createRPCError('OccurenceConstraintViolation', `at most ${max} keys per GetConfiguration (GetConfigurationMaxKeys); ${p.key.length} asked`);
      return this.keys.list(p.key);
    });
    this.handle('ChangeConfiguration', (p: { key: string; value: string }) => {
      const r = this.keys.change(p.key, p.value);
      if (r.apply) setImmediate(r.apply);
      this.log.info({ key: p.key, status: r.status, ...(p.key === 'AuthorizationKey' ? {} : { value: p.value }) }, 'OCPP: ChangeConfiguration');
      return { status: r.status };
    });
    this.handle('ClearCache', () => {
      this.auth.clearCache();
      return { status: 'Accepted' };
    });
    this.handle('DataTransfer', () => ({ status: 'UnknownVendorId' }));
    this.handle('GetLocalListVersion', () => ({ listVersion: this.auth.listVersion() }));
    this.handle('SendLocalList', (p: { listVersion: number; updateType: 'Full' | 'Differential'; localAuthorizationList?: { idTag: string; idTagInfo?: IdTagInfo }[] }) => ({
      status: this.auth.applyList(p.listVersion, p.updateType, p.localAuthorizationList ?? [], this.keys.int('SendLocalListMaxLength'), this.keys.int('LocalAuthListMaxLength')),
    }));
    this.handle('ChangeAvailability', (p: { connectorId: number; type: 'Operative' | 'Inoperative' }) => {
      if (p.connectorId !== 0 && !this.connectorKnown(p.connectorId)) return { status: 'Rejected' };
      const available = p.type === 'Operative';
      const status = st.setAvailability(p.connectorId, available);
      if (status !== 'Rejected') this.saveAvailability(p.connectorId, available);
      return { status };
    });
    // The station ends a running transaction (UnlockCommand) before unlocking, and does nothing
    // where there is no lock (fixed cable): UnlockConnector is not a way to stop a transaction.
    this.handle('UnlockConnector', async (p: { connectorId: number }) => {
      if (!this.connectorKnown(p.connectorId)) return { status: 'NotSupported' };
      return { status: await st.unlock(p.connectorId) };
    });
    this.handle('Reset', (p: { type: 'Soft' | 'Hard' }) => {
      this.log.warn({ type: p.type }, 'OCPP: Reset requested by the CSMS');
      this.later(200, () => st.requestReset(p.type));
      return { status: 'Accepted' };
    });
    this.handle('RemoteStartTransaction', async (p: { connectorId?: number; idTag: string }) => {
      if (this.boot !== 'Accepted') return { status: 'Rejected' };
      if (p.connectorId !== undefined && (p.connectorId === 0 || !this.connectorKnown(p.connectorId))) return { status: 'Rejected' };
      if (this.keys.bool('AuthorizeRemoteTxRequests')) {
        const a = await this.authorizer().authorize(p.idTag);
        if (a.status !== 'Accepted') return { status: 'Rejected' };
      }
      return { status: (await st.remoteStart(p.connectorId, p.idTag)) ? 'Accepted' : 'Rejected' };
    });
    this.handle('RemoteStopTransaction', (p: { transactionId: number }) => {
      if (this.boot !== 'Accepted') return { status: 'Rejected' };
      const tx = this.ledger.byTransactionId(p.transactionId);
      if (!tx || tx.stopQueued || st.sessionOn(tx.connectorId)?.id !== tx.sessionId) return { status: 'Rejected' };
      setImmediate(() => void st.stopSession(tx.connectorId, 'Remote'));
      return { status: 'Accepted' };
    });
    this.handle('TriggerMessage', (p: { requestedMessage: string; connectorId?: number }) => this.trigger(p.requestedMessage, p.connectorId));
    for (const a of UNSUPPORTED) {
      this.handle(a, () => {
        throw createRPCError('NotSupported', `${a} is not supported by this charge point`);
      });
    }
  }

  /** TriggerMessage: answer first, then send (S16 §5.17). */
  private trigger(what: string, connectorId: number | undefined): Record<string, unknown> | Promise<Record<string, unknown>> {
    if (connectorId !== undefined && connectorId !== 0 && !this.connectorKnown(connectorId)) return { status: 'Rejected' };
    const after = (fn: () => Promise<unknown>) => setImmediate(() => void fn());
    switch (what) {
      case 'BootNotification':
        // once Accepted, a new BootNotification would reset the CSMS's view: refuse (E16 §3.35)
        if (this.boot === 'Accepted') return { status: 'Rejected' };
        // Pending: one BootNotification now, sent by the boot loop already running (no second loop).
        after(async () => {
          this.bootTriggered = true;
          if (this.bootLoopGen === this.gen) this.bootWake?.();
          else await this.bootLoop(this.gen);
        });
        return { status: 'Accepted' };
      case 'Heartbeat':
        after(async () => {
          const out = await this.send('Heartbeat', {}, { triggered: true });
          if (out.kind === 'ok') this.takeTime((out.result as { currentTime: string }).currentTime);
        });
        return { status: 'Accepted' };
      case 'StatusNotification':
        after(async () => {
          if (connectorId === undefined) {
            for (const m of [this.stationStatus(), ...this.st.view().connectors.map((c) => this.statusOf(c))]) await this.sendStatus(m, { force: true, triggered: true });
          } else {
            const c = this.st.view().connectors.find((x) => x.id === connectorId);
            await this.sendStatus(c ? this.statusOf(c) : this.stationStatus(), { force: true, triggered: true });
          }
        });
        return { status: 'Accepted' };
      case 'MeterValues':
        return this.triggerMeterValues(connectorId);
      default:
        return { status: 'NotImplemented' };
    }
  }

  /**
   * TriggerMessage(MeterValues): the most recent values (E16 §3.46), each stamped with the time it
   * was measured. A connector with no reading yet, or a stale one, is read now; if that fails the
   * last reading goes out with its own (old) timestamp, never as a fresh one. Rejected when no
   * requested connector has any reading at all: Accepted always means a MeterValues follows.
   */
  private async triggerMeterValues(connectorId: number | undefined): Promise<Record<string, unknown>> {
    const ids = connectorId ? [connectorId] : this.st.view().connectors.map((c) => c.id);
    const readings: Sample[] = [];
    for (const id of ids) {
      let s = this.lastSample.get(id);
      if (!s || this.meterStale(id)) s = (await this.readNow(id)) ?? s;
      if (s) readings.push(s);
    }
    if (!readings.length) return { status: 'Rejected' };
    setImmediate(() => void this.sendTriggeredMeterValues(readings));
    return { status: 'Accepted' };
  }

  private async readNow(connectorId: number): Promise<Sample | undefined> {
    const s = await withTimeout(this.st.readMeter(connectorId), 5000).catch(() => undefined);
    if (s) this.lastSample.set(connectorId, s);
    return s;
  }

  /** Sent at once, not queued; a trigger while one is still on its way is coalesced (no backlog). */
  private async sendTriggeredMeterValues(readings: Sample[]): Promise<void> {
    for (const s of readings) {
      const id = s.connectorId;
      if (this.triggeredMv.has(id)) continue;
      this.triggeredMv.add(id);
      try {
        const session = this.st.sessionOn(id);
        const txId = session ? this.ledger.transactionIdFor(session.id) : undefined;
        const sampledValue: SampledValue[] = sampledValues(this.keys.csl('MeterValuesSampledData'), s, 'Trigger', this.offeredA(id));
        await this.send('MeterValues', {
          connectorId: id,
          ...(txId !== undefined && txId !== -1 ? { transactionId: txId } : {}),
          meterValue: [{ timestamp: isoSeconds(s.wallMs), sampledValue }],
        }, { triggered: true });
      } finally {
        this.triggeredMv.delete(id);
      }
    }
  }

  // ---------------------------------------------------------------- status API

  status(): Record<string, unknown> {
    const q = this.queue.stats();
    return {
      url: `${this.d.ocpp.url}/${this.st.stationConfig.id}`,
      connected: this.link.isOpen,
      boot: this.boot,
      lastReplyAgeS: this.lastReplyMono ? Math.round((this.st.clock.monoMs() - this.lastReplyMono) / 1000) : null,
      queue: {
        length: q.length,
        bytes: q.bytes,
        oldestAgeS: q.oldestCreatedWallMs === null ? null : Math.max(0, Math.round((this.st.clock.wallMs() - q.oldestCreatedWallMs) / 1000)),
        thinned: q.thinned,
        failed: q.failed,
        failedMessages: this.queue.failed(20).map((r) => ({ id: r.id, action: r.action, sessionId: r.sessionId, attempts: r.attempts, lastError: r.lastError })),
      },
      link: { ...this.link.counters, lastError: this.link.lastError },
      lastCallError: this.lastCallError,
    };
  }
}
