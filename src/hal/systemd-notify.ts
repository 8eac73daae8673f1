import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';
import type { HealthResult } from './types.js';

/**
 * sd_notify for Node. NOTIFY_SOCKET is an AF_UNIX datagram socket, which Node cannot open
 * (removed in v0.5; nodejs/node#29339). Chosen mechanism: spawn the `systemd-notify` tool that ships
 * with systemd, with NotifyAccess=all in the unit. The classic race (the child exits before
 * systemd maps its PID to the unit, systemd#2737) is closed since systemd 246: systemd-notify waits
 * until the manager has processed the message (sd_notify_barrier) unless --no-block is given.
 * Bookworm ships 252. No native addon, no toolchain on the Pi. Cost: one fork+exec per message,
 * i.e. every WatchdogSec/2 (5 s with WatchdogSec=10), negligible. Why not --pid: an unprivileged
 * service cannot send credentials for another PID, so systemd-notify falls back to its own PID
 * anyway (and newer systemd ignores MAINPID= from non-main processes). Why not NotifyAccess=main or
 * exec: both accept only processes systemd forked itself, never a child of the main process; `all`
 * (the unit's cgroup: node and these children) is the narrowest that works. See docs/install-pi.md.
 */

export type NotifyRunner = (args: string[]) => Promise<void>;

const defaultRunner: NotifyRunner = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn('systemd-notify', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`systemd-notify ${args.join(' ')} exited ${code}: ${err.trim()}`))));
  });

export type HealthCheck = () => HealthResult;

export interface SystemdNotifierOptions {
  env?: NodeJS.ProcessEnv;
  run?: NotifyRunner;
  log?: Logger;
  pid?: number;
}

export class SystemdNotifier {
  /** false outside systemd (no NOTIFY_SOCKET): every call is a no-op. */
  readonly enabled: boolean;
  /** How often the watchdog must be petted (WATCHDOG_USEC / 2), when systemd asked for it. */
  readonly watchdogIntervalMs?: number;
  private readonly run: NotifyRunner;
  private inFlight = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: SystemdNotifierOptions = {}) {
    const env = opts.env ?? process.env;
    this.enabled = Boolean(env.NOTIFY_SOCKET);
    this.run = opts.run ?? defaultRunner;
    const usec = Number(env.WATCHDOG_USEC);
    const forPid = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === (opts.pid ?? process.pid);
    if (this.enabled && forPid && Number.isFinite(usec) && usec > 0) this.watchdogIntervalMs = Math.max(1, Math.floor(usec / 2000));
  }

  ready(status?: string): Promise<void> {
    return this.send(['READY=1', ...(status ? [`STATUS=${status}`] : [])]);
  }

  status(text: string): Promise<void> {
    return this.send([`STATUS=${text}`]);
  }

  watchdog(): Promise<void> {
    return this.send(['WATCHDOG=1']);
  }

  stopping(): Promise<void> {
    this.stopWatchdog();
    return this.send(['STOPPING=1']);
  }

  /**
   * Pets the watchdog every WATCHDOG_USEC/2 only when `health` says the daemon works (event loop,
   * control loop, gpio pilot sampler and heartbeat, meter poll loop: Station.health decides). An unhealthy check skips the pet;
   * systemd then kills and restarts the service once WatchdogSec passes.
   */
  startWatchdog(health: HealthCheck): void {
    if (!this.watchdogIntervalMs || this.timer) return;
    this.timer = setInterval(() => void this.petIfHealthy(health), this.watchdogIntervalMs);
    this.timer.unref();
  }

  stopWatchdog(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One watchdog decision (the interval calls this). Returns whether it petted. */
  async petIfHealthy(health: HealthCheck): Promise<boolean> {
    let h: ReturnType<HealthCheck>;
    try {
      h = health();
    } catch (err) {
      h = { ok: false, reason: `health check threw: ${(err as Error).message}` };
    }
    if (!h.ok) {
      this.opts.log?.error({ reason: h.reason }, 'health check failed: not petting the systemd watchdog');
      return false;
    }
    if (this.inFlight) return false; // the previous systemd-notify has not returned: do not pile up children
    await this.watchdog();
    return true;
  }

  private async send(args: string[]): Promise<void> {
    if (!this.enabled) return;
    this.inFlight = true;
    try {
      await this.run(args);
    } catch (err) {
      this.opts.log?.warn({ err }, 'systemd-notify failed');
    } finally {
      this.inFlight = false;
    }
  }
}
