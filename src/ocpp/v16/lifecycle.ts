import { implausibleWallTime, isoSeconds } from '../../hal/clock.js';
import { keyDef } from '../../config/ocpp16-keys.js';
import type { StationClock, StationInfo } from '../../evse/port.js';
import { logSecurityEvent, type Logger } from '../../log.js';
import { Subscriptions } from '../../util/subscriptions.js';
import type { Link, LinkEvents, Outcome } from '../link.js';
import type { Timers } from '../timers.js';
import type { KeyStore } from './key-store.js';
import type { BootNotificationConf, BootNotificationReq, HeartbeatConf } from './messages.js';

export type BootStatus = 'none' | 'Pending' | 'Accepted' | 'Rejected';

export interface LifecycleDeps {
  link: Link;
  info: StationInfo;
  clock: StationClock;
  keys: KeyStore;
  timers: Timers;
  log: Logger;
  /** The version of the release running now (the installer's), for BootNotification; undefined: info.firmwareVersion. */
  firmwareVersion?: () => string | undefined;
  /**
   * The connection `gen` is Accepted (after the boot, or again after a reconnect): send the
   * current status and the queued messages. Checks `isCurrent(gen)` between sends.
   */
  onOnline(gen: number): Promise<void>;
}

/**
 * The OCPP 1.6 connection lifecycle: the BootNotification gate (nothing but BootNotification, or a
 * triggered message while Pending, before Accepted), the heartbeat, the clock taken from the CSMS,
 * and the outcome bookkeeping every call goes through. Each socket opening is a new generation;
 * work of an older one stops at its next check.
 */
export class Lifecycle {
  private boot: BootStatus = 'none';
  private gen = 0;
  private stopped = false;
  private lastReplyMono = 0;
  /** No BootNotification before this monotonic time (the interval of the last Pending/Rejected answer). */
  private bootNotBeforeMono = 0;
  /** The generation whose boot loop is running (one at a time), its sleep's wake-up, and a pending TriggerMessage. */
  private bootLoopGen: number | null = null;
  private bootWake?: () => void;
  private bootTriggered = false;
  private readonly subs = new Subscriptions();
  lastCallError: { action: string; code: string; message: string; at: string } | null = null;

  constructor(private readonly d: LifecycleDeps) {}

  start(): void {
    const { link, keys } = this.d;
    const onOpen = () => void this.onOpen();
    const onDown = () => {
      this.gen++;
      this.bootTriggered = false; // a trigger of the lost connection does not outlive it
    };
    const on = this.subs.events<LinkEvents>(link);
    on('open', onOpen);
    on('down', onDown);
    keys.onChange('HeartbeatInterval', () => this.scheduleHeartbeat());
  }

  stop(): void {
    this.stopped = true;
    this.gen++;
    this.subs.clear();
  }

  get online(): boolean {
    return this.d.link.isOpen && this.boot === 'Accepted';
  }

  get bootStatus(): BootStatus {
    return this.boot;
  }

  get lastReplyAgeS(): number | null {
    return this.lastReplyMono ? Math.round((this.d.clock.monoMs() - this.lastReplyMono) / 1000) : null;
  }

  /** Whether work started for connection `gen` may go on. */
  isCurrent(gen: number): boolean {
    return gen === this.gen && !this.stopped;
  }

  now(): string {
    return isoSeconds(this.d.clock.wallMs());
  }

  /** Send a non-transaction message now; nothing but BootNotification (or a triggered message) before Accepted. */
  async send(action: string, payload: object, opts: { triggered?: boolean } = {}): Promise<Outcome> {
    const allowed = () => this.boot === 'Accepted' || action === 'BootNotification' || (opts.triggered === true && this.boot === 'Pending');
    const out = await this.d.link.call(action, payload as Record<string, unknown>, allowed);
    this.noteOutcome(action, out);
    return out;
  }

  noteOutcome(action: string, out: Outcome): void {
    if (out.kind === 'ok') this.lastReplyMono = this.d.clock.monoMs();
    if (out.kind === 'callerror') {
      this.lastCallError = { action, code: out.code, message: out.message, at: this.now() };
      this.d.log.warn({ action, code: out.code, message: out.message }, 'OCPP: CALLERROR from the CSMS');
    }
  }

  /** TriggerMessage(BootNotification) while not Accepted: one BootNotification now, by the boot loop already running (no second loop). */
  async triggerBoot(): Promise<void> {
    this.bootTriggered = true;
    if (this.bootLoopGen === this.gen) this.bootWake?.();
    else await this.bootLoop(this.gen);
  }

  /** Heartbeat now (TriggerMessage); the answer's currentTime sets the clock. */
  async heartbeat(opts: { triggered?: boolean } = {}): Promise<void> {
    const out = await this.send('Heartbeat', {}, opts);
    if (out.kind === 'ok') this.takeTime((out.result as HeartbeatConf).currentTime);
  }

  private async onOpen(): Promise<void> {
    const gen = ++this.gen;
    if (this.boot === 'Accepted') {
      this.d.log.info('OCPP: reconnected; sending current status and the queued messages');
      await this.d.onOnline(gen);
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
    const info = this.d.info;
    const payload: BootNotificationReq = { chargePointVendor: info.vendor, chargePointModel: info.model };
    if (info.serialNumber) payload.chargePointSerialNumber = info.serialNumber;
    const firmwareVersion = this.d.firmwareVersion?.() ?? info.firmwareVersion;
    if (firmwareVersion) payload.firmwareVersion = firmwareVersion.slice(0, 50);
    if (this.bootLoopGen === gen) return;
    this.bootLoopGen = gen;
    try {
      await this.bootLoopRun(gen, payload);
    } finally {
      if (this.bootLoopGen === gen) this.bootLoopGen = null;
    }
  }

  private async bootLoopRun(gen: number, payload: BootNotificationReq): Promise<void> {
    const clock = this.d.clock;
    while (this.isCurrent(gen) && this.boot !== 'Accepted') {
      const waitMs = this.bootNotBeforeMono - clock.monoMs();
      if (waitMs > 0 && !this.bootTriggered) {
        await new Promise<void>((resolve) => {
          this.bootWake = resolve;
          this.d.timers.later(waitMs, resolve);
        });
        this.bootWake = undefined;
        continue;
      }
      this.bootTriggered = false;
      const out = await this.send('BootNotification', payload);
      if (!this.isCurrent(gen)) return;
      if (out.kind === 'ok') {
        const r = out.result as BootNotificationConf;
        this.takeTime(r.currentTime);
        this.boot = r.status;
        this.d.log.info({ status: r.status, interval: r.interval }, 'OCPP: BootNotification answered');
        if (r.status === 'Accepted') {
          if (r.interval > 0) this.takeHeartbeatInterval(r.interval);
          this.scheduleHeartbeat();
          await this.d.onOnline(gen);
          return;
        }
        this.bootNotBeforeMono = clock.monoMs() + (r.interval > 0 ? r.interval : 60) * 1000;
      } else if (out.kind === 'callerror') {
        this.bootNotBeforeMono = clock.monoMs() + 30_000;
      } else {
        return; // the link reconnects (with back-off); the next open boots again
      }
    }
  }

  /** BootNotification.conf's interval becomes HeartbeatInterval, raised to the key's floor (a reply cannot be Rejected). */
  private takeHeartbeatInterval(interval: number): void {
    const floor = keyDef('HeartbeatInterval')?.floor ?? 0;
    if (interval < floor) this.d.log.warn({ interval, used: floor }, `OCPP: BootNotification interval ${interval} s is below the floor for HeartbeatInterval: ${floor} s used`);
    this.d.keys.change('HeartbeatInterval', String(Math.max(interval, floor)));
  }

  /**
   * The CSMS's time (BootNotification, Heartbeat) sets the clock unless it is implausible (before
   * this release, or far in the future): then the clock stays as it is and a security event is
   * logged (a CSMS, or someone posing as one, moving the clock would move every session's times).
   */
  private takeTime(currentTime: string | undefined): void {
    const t = currentTime ? Date.parse(currentTime) : NaN;
    if (!Number.isFinite(t)) return;
    const why = implausibleWallTime(t);
    if (why) {
      logSecurityEvent(this.d.log, 'InvalidCentralSystemTime', { currentTime, clockQuality: this.d.clock.quality() }, `the CSMS time ${currentTime} is ignored: ${why}`);
      return;
    }
    this.d.clock.setFromTrustedSource(t, 'ocpp');
  }

  private scheduleHeartbeat(): void {
    this.d.timers.cancel('heartbeat');
    const s = this.d.keys.int('HeartbeatInterval');
    if (s <= 0 || this.stopped) return;
    this.d.timers.set('heartbeat', s * 1000, () => void this.periodicHeartbeat());
  }

  /** Heartbeat per HeartbeatInterval; unanswered, the link times out and reconnects (watchdog). */
  private async periodicHeartbeat(): Promise<void> {
    if (this.online) await this.heartbeat();
    this.scheduleHeartbeat();
  }
}
