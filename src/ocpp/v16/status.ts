import { FAULTS } from '../../domain/faults.js';
import type { ConnectorStatus } from '../../domain/types.js';
import type { ConnectorView, StationPort } from '../../evse/port.js';
import type { Lifecycle } from './lifecycle.js';
import type { StatusNotificationReq } from './messages.js';

type StatusMsg = Omit<StatusNotificationReq, 'timestamp'>;

/**
 * StatusNotification: every connector's status with the errorCode of its first fault (the fault
 * table's ocpp16ErrorCode), and connector 0 for the station. A status already delivered is not
 * sent again unless forced (after a (re)connect, on TriggerMessage).
 */
export class StatusReporter {
  private readonly lastSent = new Map<number, string>();

  constructor(private readonly station: Pick<StationPort, 'view' | 'connectorView'>, private readonly session: Pick<Lifecycle, 'send' | 'now' | 'online' | 'isCurrent'>) {}

  private statusOf(v: ConnectorView): StatusMsg {
    const fault = v.faults[0];
    return {
      connectorId: v.id,
      status: v.status,
      errorCode: fault ? FAULTS[fault].ocpp16ErrorCode : 'NoError',
      ...(fault ? { info: fault } : {}),
    };
  }

  /** Connector 0: Unavailable / Faulted when every connector is; Faulted carries the first fault's error code. */
  private stationStatus(cs: ConnectorView[] = this.station.view().connectors): StatusMsg {
    const status: ConnectorStatus = cs.length > 0 && cs.every((c) => c.status === 'Unavailable') ? 'Unavailable' : cs.length > 0 && cs.every((c) => c.status === 'Faulted') ? 'Faulted' : 'Available';
    if (status !== 'Faulted') return { connectorId: 0, status, errorCode: 'NoError' };
    const faults = [...new Set(cs.flatMap((c) => c.faults))];
    const first = faults[0];
    return { connectorId: 0, status, errorCode: first ? FAULTS[first].ocpp16ErrorCode : 'OtherError', ...(faults.length ? { info: faults.join(',').slice(0, 50) } : {}) };
  }

  /** A connector's view changed: its status and then connector 0's, each only if it changed. */
  onStatus(v: ConnectorView): void {
    if (!this.session.online) return; // the current status goes out after (re)connect
    void this.send(this.statusOf(v)).then(() => this.send(this.stationStatus()));
  }

  /** Connector 0 and every connector, from one view of the station. */
  private all(): StatusMsg[] {
    const cs = this.station.view().connectors;
    return [this.stationStatus(cs), ...cs.map((c) => this.statusOf(c))];
  }

  /** After a (re)connect: connector 0 and every connector, as they are now. */
  async sendAll(gen: number): Promise<void> {
    for (const m of this.all()) {
      if (!this.session.isCurrent(gen)) return;
      await this.send(m, { force: true });
    }
  }

  /** TriggerMessage(StatusNotification): one connector (0 = the station), or all with connector 0 when none is given. */
  async sendTriggered(connectorId: number | undefined): Promise<void> {
    const opts = { force: true, triggered: true };
    if (connectorId === undefined) {
      for (const m of this.all()) await this.send(m, opts);
      return;
    }
    const c = this.station.connectorView(connectorId);
    await this.send(c ? this.statusOf(c) : this.stationStatus(), opts);
  }

  /** S16 §3.5.2: connector 0 with errorCode LocalListConflict (its status as it is). */
  async sendLocalListConflict(): Promise<void> {
    const s = this.stationStatus();
    await this.send({ connectorId: 0, status: s.status, errorCode: 'LocalListConflict', info: 'CSMS answer differs from the local list' }, { force: true });
  }

  private async send(m: StatusMsg, opts: { force?: boolean; triggered?: boolean } = {}): Promise<void> {
    const sig = `${m.status}/${m.errorCode}`;
    if (!opts.force && this.lastSent.get(m.connectorId) === sig) return;
    // Claimed before the call: further view changes while it waits for its answer (contactor,
    // offer, meter health) must not queue the same status again behind it.
    this.lastSent.set(m.connectorId, sig);
    const req: StatusNotificationReq = { ...m, timestamp: this.session.now() };
    const out = await this.session.send('StatusNotification', req, { triggered: opts.triggered });
    if (out.kind !== 'ok' && this.lastSent.get(m.connectorId) === sig) this.lastSent.delete(m.connectorId);
  }
}
