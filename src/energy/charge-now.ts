import type { StationEvents, StationPort } from '../evse/port.js';
import type { Logger } from '../log.js';
import { Subscriptions } from '../util/subscriptions.js';

export const CHARGE_NOW_SOURCE = 'charge-now';
/** Above the timers (10): "charge now" overrides a timer window, never a hard limit (fuse, API/MQTT limit, fault). */
export const CHARGE_NOW_PRIORITY = 20;

export type ChargeNowStation = Pick<StationPort, 'on' | 'off' | 'sessionOn' | 'setClaim' | 'clearClaim'>;

/**
 * "Charge now": the running session charges at the connector's maximum whatever the timers say,
 * as a preference { source 'charge-now', priority 20 }. It belongs to that session and ends with it.
 */
export class ChargeNow {
  private readonly on = new Map<number, number>();
  private readonly subs = new Subscriptions();

  constructor(
    private readonly station: ChargeNowStation,
    private readonly maxCurrentA: ReadonlyMap<number, number>,
    private readonly log?: Logger,
  ) {
    this.subs.events<StationEvents>(station)('session-stopped', (rec) => {
      if (this.on.get(rec.connectorId) === rec.id) this.set(rec.connectorId, false);
    });
  }

  stop(): void {
    this.subs.clear();
  }

  active(connectorId: number): boolean {
    return this.on.has(connectorId);
  }

  /** false: there is no running session to charge now (or no such connector). */
  set(connectorId: number, on: boolean): boolean {
    const max = this.maxCurrentA.get(connectorId);
    if (max === undefined) return false;
    if (!on) {
      if (this.on.delete(connectorId)) this.log?.info({ connectorId }, 'charge now: off');
      this.station.clearClaim(CHARGE_NOW_SOURCE, connectorId);
      return true;
    }
    const session = this.station.sessionOn(connectorId);
    if (!session) return false;
    this.on.set(connectorId, session.id);
    this.station.setClaim({ source: CHARGE_NOW_SOURCE, connectorId, maxA: max, priority: CHARGE_NOW_PRIORITY });
    this.log?.info({ connectorId, sessionId: session.id, maxA: max }, 'charge now: on for this session');
    return true;
  }
}
