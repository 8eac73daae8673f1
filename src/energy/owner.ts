import type { SessionExtras, StationPort } from '../evse/port.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { ChargeNow } from './charge-now.js';
import { ChargingTimers, type TimerStore } from './charging-timers.js';
import { systemTimeZone } from './local-time.js';
import { SessionLimits } from './session-limits.js';

/** The owner's controls of charging, as the API, MQTT and the dashboard reach them. */
export interface OwnerControls {
  limits: SessionLimits;
  timers: ChargingTimers;
  chargeNow: ChargeNow;
  /** What a running session's view shows of them (target mode, stop conditions). */
  extras(connectorId: number): Pick<SessionExtras, 'limits' | 'chargeNow'> & { targetMode: 'estimate' | 'stop' };
  stop(): void;
}

/** Built by the daemon from the config: stop conditions, charging timers, "charge now". */
export function startOwnerControls(
  station: StationPort,
  config: Pick<Config, 'station' | 'connectors' | 'timers'>,
  o: { energyTargetWh: (connectorId: number) => number | null; timerStore?: TimerStore; log?: Logger },
): OwnerControls {
  const limits = new SessionLimits(station, {
    defaults: new Map(config.connectors.flatMap((c) => (c.sessionLimits ? [[c.id, c.sessionLimits] as const] : []))),
    targetStops: new Map(config.connectors.map((c) => [c.id, c.energyTargetStops])),
    energyTargetWh: o.energyTargetWh,
    log: o.log,
  });
  const timers = new ChargingTimers(station, { timers: config.timers ?? [], timeZone: config.station.timeZone ?? systemTimeZone(), store: o.timerStore, log: o.log });
  const chargeNow = new ChargeNow(station, new Map(config.connectors.map((c) => [c.id, c.maxCurrentA])), o.log);
  timers.start();
  station.registerStatus('timers', () => timers.status());
  station.registerStatus('chargeNow', () => Object.fromEntries(station.connectorIds().map((id) => [id, chargeNow.active(id)])));
  return {
    limits,
    timers,
    chargeNow,
    extras: (connectorId) => ({ targetMode: limits.targetMode(connectorId), limits: limits.limits(connectorId), chargeNow: chargeNow.active(connectorId) }),
    stop() {
      timers.stop();
      limits.stop();
      chargeNow.stop();
    },
  };
}
