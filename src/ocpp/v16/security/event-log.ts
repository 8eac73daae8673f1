import type { StationClock } from '../../../evse/port.js';
import { isoSeconds } from '../../../hal/clock.js';
import type { Logger } from '../../../log.js';
import type { TxQueue } from '../../../store/ocpp/queue.js';
import type { SecurityLogRepository } from '../../../store/ocpp/security-log.js';
import { stampRef, type TimeResolver } from '../../stamps.js';
import { SECURITY_EVENTS, type SecurityEventType, type SecurityEvents } from './events.js';

/** SecurityEventNotification.req (whitepaper edition 3, §4.4). */
export interface SecurityEventNotificationReq {
  /** ≤ 50 */
  type: SecurityEventType;
  timestamp: string;
  /** ≤ 255 */
  techInfo?: string;
}

export interface SecurityEventLogDeps {
  repo: SecurityLogRepository;
  queue: Pick<TxQueue, 'enqueue'>;
  clock: Pick<StationClock, 'stamp'>;
  time: Pick<TimeResolver, 'wallMs'>;
  /** Wakes the outbox (a queued notification goes out at once when online). */
  kick(): void;
  log: Logger;
}

/**
 * The security events for real: each one into the local security log; the critical ones (A04.FR.02)
 * also into the durable queue as SecurityEventNotification, delivered in order across reconnects and
 * restarts like the transaction messages. Timestamps are stored as stamps, so an event of a boot whose
 * clock was set later is sent and listed with the corrected time.
 */
export class SecurityEventLog implements SecurityEvents {
  constructor(private readonly d: SecurityEventLogDeps) {}

  report(type: SecurityEventType, techInfo?: string): void {
    const { repo, queue, clock, log } = this.d;
    const at = clock.stamp();
    const info = techInfo ? techInfo.slice(0, 255) : undefined;
    const critical = SECURITY_EVENTS[type].critical;
    repo.add(type, info, critical, at);
    log.info({ security: type, techInfo: info, critical }, 'security log: event recorded');
    if (!critical) return;
    const payload = { type, timestamp: stampRef(at), ...(info ? { techInfo: info } : {}) };
    queue.enqueue('SecurityEventNotification', null, payload, at);
    this.d.kick();
  }

  /**
   * The security log between `from` and `to` (wall time, either open), one line per event, oldest
   * first: `2026-12-03T23:59:00Z StartupOfTheDevice critical techInfo`. GetLog(SecurityLog) uploads these.
   */
  securityLog(from?: Date, to?: Date): string[] {
    const lo = from ? from.getTime() : -Infinity;
    const hi = to ? to.getTime() : Infinity;
    const lines: string[] = [];
    for (const e of this.d.repo.all()) {
      const wall = this.d.time.wallMs(stampRef(e.at));
      if (wall < lo || wall > hi) continue;
      lines.push([isoSeconds(wall), e.type, e.critical ? 'critical' : 'info', e.techInfo ?? ''].join(' ').trimEnd());
    }
    return lines;
  }

  /** Empties the security log; the clearing itself is the first entry of the new one (and is sent). */
  clear(): void {
    this.d.repo.clear();
    this.report('SecurityLogWasCleared');
  }
}
