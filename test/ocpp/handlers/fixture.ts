import type { SecurityEventType } from '../../../src/ocpp/v16/security/events.js';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import rpc from 'ocpp-rpc';
import { FakeClock, type SyncEvent } from '../../../src/hal/clock.js';
import type { AuthResult, StationClock } from '../../../src/evse/port.js';
import { silentLogger } from '../../../src/log.js';
import { createOcppRepositories, type OcppRepositories } from '../../../src/store/ocpp/index.js';
import type { Db } from '../../../src/store/db.js';
import type { HandlerContext, Triggers } from '../../../src/ocpp/v16/handlers/index.js';
import { KeyStore } from '../../../src/ocpp/v16/key-store.js';
import { TxLedger } from '../../../src/ocpp/v16/ledger.js';
import type { BootStatus } from '../../../src/ocpp/v16/lifecycle.js';
import type { Sample } from '../../../src/ocpp/v16/sampled-values.js';
import { SmartCharging } from '../../../src/ocpp/v16/smart-charging/controller.js';
import { Timers } from '../../../src/ocpp/timers.js';
import { FakeStation } from '../fake-station.js';
import { openTestDb, tempDir } from '../helpers.js';

/** FakeClock with what the StationPort's clock adds: the CSMS may set it, and it says so once ('sync'). */
export class TestClock extends FakeClock implements StationClock {
  private readonly ev = new EventEmitter();
  on(e: 'sync', l: (ev: SyncEvent) => void): this {
    this.ev.on(e, l);
    return this;
  }
  off(e: 'sync', l: (ev: SyncEvent) => void): this {
    this.ev.off(e, l);
    return this;
  }
  setFromTrustedSource(wallMs: number, source: string): void {
    const was = this.quality();
    this.setWall(wallMs);
    this.setQuality('synced');
    if (was !== 'synced') this.ev.emit('sync', { monoToWallMs: wallMs - this.monoMs(), source });
  }
  close(): void {}
}

const schemas = createRequire(import.meta.url)('ocpp-rpc/lib/schemas/ocpp1_6.json') as unknown[];
const validator = rpc.createValidator('ocpp1.6', schemas);

/** Throws (like ocpp-rpc in strict mode would) when `value` is not a valid `<action>.req` / `.conf`. */
export function assertSchema(action: string, kind: 'req' | 'conf', value: unknown): void {
  validator.validate(`urn:${action}.${kind}`, value);
}

/** What the triggers were asked to do, in order. */
export type TriggerCall = [name: keyof Triggers, arg?: unknown];

export interface HandlerRig {
  db: Db;
  clock: TestClock;
  station: FakeStation;
  repos: OcppRepositories;
  keys: KeyStore;
  ledger: TxLedger;
  /** The real smart-charging controller over the real profile repository. */
  smart: SmartCharging;
  ctx: HandlerContext;
  boot: BootStatus;
  /** What ctx.authorize answers. */
  authorizeAs: AuthResult['status'];
  authorized: string[];
  /** Functions handed to afterReply and not run yet. */
  deferred: (() => void)[];
  triggered: TriggerCall[];
  /** Security events the handlers reported. */
  securityEvents: { type: SecurityEventType; techInfo?: string }[];
  /** Readings the triggers report for TriggerMessage(MeterValues), per connector. */
  readings: Map<number, Sample>;
  /** Runs what a handler left for after its answer (as setImmediate does in the charge point). */
  afterReply(): Promise<void>;
  /** A session on the connector whose StartTransaction the CSMS answered with `transactionId`. */
  transaction(connectorId: number, idTag: string, transactionId: number): number;
  cleanup(): void;
}

/**
 * The context a CSMS handler runs in, without a socket: a FakeStation (the StationPort) over a real
 * SessionStore, the real OCPP repositories on a real SQLite file, a KeyStore, a FakeClock.
 */
export function handlerRig(opts: { keys?: Record<string, string>; locks?: boolean; securityProfile?: number } = {}): HandlerRig {
  const tmp = tempDir('evsed-ocpp-handlers-');
  const db = openTestDb(tmp.dir);
  const clock = new TestClock();
  const station = new FakeStation(db, { clock, locks: opts.locks ?? true });
  const repos = createOcppRepositories(db, { queueBounds: { maxMessages: 1000, maxBytes: 1e6 } });
  const keys = new KeyStore(repos.keys, { connectorIds: station.connectorIds(), phases: new Map([[1, 1], [2, 3]]), securityProfile: opts.securityProfile ?? 0, cableLock: opts.locks ?? true }, opts.keys ?? {});
  const ledger = new TxLedger(repos.transactions, repos.queue);
  station.sessions.addHooks({ onStart: (s) => ledger.onStart(s, s.idTag ?? 'FREE'), onStop: (s) => void ledger.onStop(s, undefined) });
  const smart = new SmartCharging({
    station, store: repos.chargingProfiles, keys, phases: new Map([[1, 1], [2, 3]]), connectorMaxA: 32, timers: new Timers(clock), log: silentLogger(),
    transactionIdOf: (sessionId) => ledger.transactionIdFor(sessionId),
  });
  smart.start();
  const rig: HandlerRig = {
    db, clock, station, repos, keys, ledger, smart,
    boot: 'Accepted',
    authorizeAs: 'Accepted',
    authorized: [],
    deferred: [],
    triggered: [],
    securityEvents: [],
    readings: new Map(),
    ctx: undefined as unknown as HandlerContext,
    async afterReply() {
      for (const fn of rig.deferred.splice(0)) fn();
      await new Promise((r) => setImmediate(r));
    },
    transaction(connectorId, idTag, transactionId) {
      const s = station.startSession(connectorId, idTag);
      const row = repos.queue.head()!;
      ledger.startAnswered(row.id, s.id, transactionId, 'Accepted');
      return s.id;
    },
    cleanup() {
      smart.stop();
      db.close();
      tmp.cleanup();
    },
  };
  rig.ctx = {
    station, keys, ledger,
    auth: repos.auth,
    availability: repos.availability,
    log: silentLogger(),
    bootStatus: () => rig.boot,
    authorize: async (idTag) => {
      rig.authorized.push(idTag);
      return { status: rig.authorizeAs, source: 'ocpp' };
    },
    afterReply: (fn) => void rig.deferred.push(fn),
    later: (ms, fn) => void clock.setTimeout(fn, ms),
    smartCharging: smart,
    security: { report: (type, techInfo) => void rig.securityEvents.push({ type, techInfo }) },
    // the security extension is tested end to end (test/ocpp/security/); here it refuses everything
    securityExtension: {
      changeSecurityProfile: () => ({ status: 'Rejected' }),
      installCertificate: () => 'Failed',
      deleteCertificate: () => 'NotFound',
      installedCertificateIds: () => [],
      certificateSigned: () => ({ status: 'Rejected' }),
      canSignCertificate: () => false,
      signCertificate: async () => undefined,
    },
    triggers: {
      bootNotification: async () => void rig.triggered.push(['bootNotification']),
      heartbeat: async () => void rig.triggered.push(['heartbeat']),
      statusNotification: async (connectorId) => void rig.triggered.push(['statusNotification', connectorId]),
      meterReadings: async (ids) => {
        rig.triggered.push(['meterReadings', ids]);
        return ids.flatMap((id) => (rig.readings.has(id) ? [rig.readings.get(id)!] : []));
      },
      meterValues: async (readings) => void rig.triggered.push(['meterValues', readings.map((r) => r.connectorId)]),
      firmwareStatus: async () => void rig.triggered.push(['firmwareStatus']),
      diagnosticsStatus: async () => void rig.triggered.push(['diagnosticsStatus']),
      logStatus: async () => void rig.triggered.push(['logStatus']),
    },
  };
  return rig;
}

export function reading(connectorId: number, energyWh = 1000): Sample {
  return { connectorId, sessionId: null, energyWh, powerW: 0, voltageV: [230], currentA: [0], powerPhaseW: [0], frequencyHz: 50, wallMs: Date.UTC(2026, 10, 1, 12) };
}
