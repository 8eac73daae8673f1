import { isoSeconds, withTimeout } from '../../hal/clock.js';
import type { StationPort } from '../../evse/port.js';
import type { SessionRecord } from '../../store/sessions.js';
import type { TxQueue } from '../../store/ocpp/queue.js';
import type { AlignedReadingRepository } from '../../store/ocpp/transactions.js';
import { sessionStartStamp, sessionStopStamp, stampRef } from '../stamps.js';
import type { Timers } from '../timers.js';
import type { KeyStore } from './key-store.js';
import type { TxLedger } from './ledger.js';
import type { Lifecycle } from './lifecycle.js';
import { sampledValues, type Sample, type SampledValue } from './sampled-values.js';

export interface MeterValuesDeps {
  station: Pick<StationPort, 'view' | 'connectorView' | 'clock' | 'readMeter' | 'sessionOn'>;
  keys: KeyStore;
  queue: TxQueue;
  ledger: TxLedger;
  alignedReadings: AlignedReadingRepository;
  timers: Timers;
  session: Pick<Lifecycle, 'send'>;
  /** New messages are queued: start draining. */
  kick(): void;
}

/** How long a TriggerMessage(MeterValues) waits for a fresh reading before it uses the last one. */
const TRIGGER_READ_TIMEOUT_MS = 5000;

/**
 * MeterValues: periodic ones per MeterValueSampleInterval during a transaction, clock-aligned
 * ones per ClockAlignedDataInterval (queued, thinnable), StopTransaction.transactionData, and the
 * triggered ones (sent at once, not queued).
 */
export class MeterValuesReporter {
  private readonly lastSample = new Map<number, Sample>();
  private readonly lastPeriodicMono = new Map<number, number>();
  private readonly triggeredMv = new Set<number>();

  constructor(private readonly d: MeterValuesDeps) {}

  private get clock() {
    return this.d.station.clock;
  }

  private offeredA(connectorId: number): number | null {
    return this.d.station.connectorView(connectorId)?.currentLimitA ?? null;
  }

  sessionStarted(s: SessionRecord): void {
    this.lastPeriodicMono.set(s.id, this.clock.monoMs());
  }

  sessionStopped(s: SessionRecord): void {
    this.lastPeriodicMono.delete(s.id);
  }

  onSample(s: Sample): void {
    const { keys, ledger, queue } = this.d;
    this.lastSample.set(s.connectorId, s);
    const interval = keys.int('MeterValueSampleInterval');
    if (s.sessionId === null || interval <= 0) return;
    const mono = this.clock.monoMs();
    const last = this.lastPeriodicMono.get(s.sessionId);
    // half a second of slack: samples arrive on the meter's own cadence
    if (last !== undefined && mono - last < interval * 1000 - 500) return;
    // the transaction is looked up (SQL) once per interval, not on every sample
    const tx = ledger.get(s.sessionId);
    if (!tx || tx.stopQueued) return;
    this.lastPeriodicMono.set(s.sessionId, mono);
    if (last === undefined) return; // the first sample starts the interval
    const at = this.clock.stamp();
    const values = sampledValues(keys.csl('MeterValuesSampledData'), s, 'Sample.Periodic', this.offeredA(s.connectorId));
    queue.enqueue('MeterValues', s.sessionId, { connectorId: s.connectorId, meterValue: [{ timestamp: stampRef(at), sampledValue: values }] }, at, true);
    this.d.kick();
  }

  /** Clock-aligned readings on the wall-clock grid (from midnight UTC), for every connector. */
  scheduleAligned(): void {
    this.d.timers.cancel('aligned');
    const s = this.d.keys.int('ClockAlignedDataInterval');
    if (s <= 0) return;
    const wall = this.clock.wallMs();
    const next = (Math.floor(wall / (s * 1000)) + 1) * s * 1000;
    this.d.timers.set('aligned', next - wall, () => {
      this.aligned(next);
      this.scheduleAligned();
    });
  }

  /**
   * One clock-aligned reading per connector, stamped with the interval boundary. A connector whose
   * meter is stale or offline gets none: its last reading is not a measurement at this boundary.
   */
  private aligned(boundaryMs: number): void {
    const { keys, queue, ledger } = this.d;
    const measurands = keys.csl('MeterValuesAlignedData');
    const now = this.clock.stamp();
    const at = { ...now, wallMs: boundaryMs, monoMs: now.monoMs - (now.wallMs - boundaryMs) };
    const stopTxn = keys.csl('StopTxnAlignedData');
    for (const c of this.d.station.view().connectors) {
      const s = this.lastSample.get(c.id);
      if (!s || c.meter.stale) continue;
      const sessionId = c.session?.id ?? null;
      const values = sampledValues(measurands, s, 'Sample.Clock', c.currentLimitA);
      queue.enqueue('MeterValues', sessionId, { connectorId: c.id, meterValue: [{ timestamp: stampRef(at), sampledValue: values }] }, at, true);
      if (sessionId !== null && stopTxn.length > 0 && !ledger.get(sessionId)?.stopQueued) {
        const mv = { timestamp: stampRef(at), sampledValue: sampledValues(stopTxn, s, 'Sample.Clock', c.currentLimitA) };
        this.d.alignedReadings.keep(sessionId, mv);
      }
    }
    this.d.kick();
  }

  /**
   * StopTransaction.transactionData: per StopTxnSampledData a Transaction.Begin and a Transaction.End
   * reading, and between them the clock-aligned readings StopTxnAlignedData collected during the
   * transaction (persisted, so a crash does not lose them; consumed in this session-stop commit).
   */
  stopTxnData(s: SessionRecord): unknown[] | undefined {
    const aligned = this.d.alignedReadings.take(s.id);
    const sampled = this.stopTxnSampled(s);
    if (!sampled) return aligned.length ? aligned : undefined;
    return [sampled[0], ...aligned, sampled[1]];
  }

  private stopTxnSampled(s: SessionRecord): [unknown, unknown] | undefined {
    const measurands = this.d.keys.csl('StopTxnSampledData');
    if (measurands.length === 0) return undefined;
    // The reading stands at the session's recorded stop (its wall time repaired with it if the clock is set later).
    const end = s.stopMonoMs !== null ? sessionStopStamp(s) : this.clock.stamp();
    // instantaneous values only from a meter that is not stale; the register is meterStop
    const last = this.meterStale(s.connectorId) ? undefined : this.lastSample.get(s.connectorId);
    const zero = { powerW: 0, voltageV: [], currentA: [], frequencyHz: null };
    const endReading = { ...zero, ...(last ?? {}), energyWh: s.meterStopWh ?? s.meterStartWh };
    return [
      { timestamp: stampRef(sessionStartStamp(s)), sampledValue: sampledValues(['Energy.Active.Import.Register'], { ...zero, energyWh: s.meterStartWh }, 'Transaction.Begin', null) },
      { timestamp: stampRef(end), sampledValue: sampledValues(measurands, endReading, 'Transaction.End', null) },
    ];
  }

  private meterStale(connectorId: number): boolean {
    return this.d.station.connectorView(connectorId)?.meter.stale ?? true;
  }

  /**
   * The most recent reading of each connector (E16 §3.46), for TriggerMessage(MeterValues). A
   * connector with no reading yet, or a stale one, is read now; if that fails the last reading is
   * used with its own (old) timestamp, never as a fresh one. Connectors with no reading at all are left out.
   */
  async latestReadings(connectorIds: number[]): Promise<Sample[]> {
    const readings: Sample[] = [];
    for (const id of connectorIds) {
      let s = this.lastSample.get(id);
      if (!s || this.meterStale(id)) s = (await this.readNow(id)) ?? s;
      if (s) readings.push(s);
    }
    return readings;
  }

  private async readNow(connectorId: number): Promise<Sample | undefined> {
    const s = await withTimeout(this.d.station.readMeter(connectorId), TRIGGER_READ_TIMEOUT_MS, this.d.station.clock).catch(() => undefined);
    if (s) this.lastSample.set(connectorId, s);
    return s;
  }

  /** Sent at once, not queued; a trigger while one is still on its way is coalesced (no backlog). */
  async sendTriggered(readings: Sample[]): Promise<void> {
    for (const s of readings) {
      const id = s.connectorId;
      if (this.triggeredMv.has(id)) continue;
      this.triggeredMv.add(id);
      try {
        const session = this.d.station.sessionOn(id);
        const txId = session ? this.d.ledger.transactionIdFor(session.id) : undefined;
        const sampledValue: SampledValue[] = sampledValues(this.d.keys.csl('MeterValuesSampledData'), s, 'Trigger', this.offeredA(id));
        await this.d.session.send('MeterValues', {
          connectorId: id,
          ...(txId !== undefined && txId !== -1 ? { transactionId: txId } : {}),
          meterValue: [{ timestamp: isoSeconds(s.wallMs), sampledValue }],
        }, { triggered: true });
      } finally {
        this.triggeredMv.delete(id);
      }
    }
  }
}
