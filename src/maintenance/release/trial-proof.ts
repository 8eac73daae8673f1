import type { Logger } from '../../log.js';
import type { ReleaseInstaller } from './types.js';

/**
 * The standalone proof: without OCPP (no BootNotification to wait for) a release on trial proves
 * itself by running its control loops healthily for `proofS` without a break; then the trial is
 * confirmed and the boot guard stops counting starts. A failed health check starts the wait again.
 * With OCPP the firmware job confirms on BootNotification Accepted instead.
 */
export interface TrialProofOptions {
  installer: Pick<ReleaseInstaller, 'outcome' | 'confirm'>;
  proofS: number;
  /** The watchdog's health check (every connector's control loop alive). */
  health: () => { ok: boolean; reason?: string };
  clock: { monoMs(): number };
  log: Logger;
  checkEveryMs?: number;
}

export function startStandaloneProof(o: TrialProofOptions): { stop(): void } {
  const outcome = o.installer.outcome();
  if (outcome.kind !== 'trial') return { stop: () => undefined };
  o.log.info({ version: outcome.version, previous: outcome.previous, proofS: o.proofS }, 'release on trial: confirmed after this long of healthy control loops');
  let healthySince: number | undefined = o.clock.monoMs();
  let done = false;
  const timer = setInterval(() => {
    const h = o.health();
    const now = o.clock.monoMs();
    if (!h.ok) {
      if (healthySince !== undefined) o.log.warn({ reason: h.reason }, 'release on trial: not healthy, the proof starts again');
      healthySince = undefined;
      return;
    }
    healthySince ??= now;
    if (now - healthySince < o.proofS * 1000 || done) return;
    done = true;
    clearInterval(timer);
    o.installer.confirm().then(
      () => o.log.info({ version: outcome.version }, 'release on trial proved itself: confirmed'),
      (err: unknown) => o.log.error({ err: (err as Error).message }, 'release on trial: cannot confirm it'),
    );
  }, o.checkEveryMs ?? 5000);
  timer.unref();
  return {
    stop: () => {
      done = true;
      clearInterval(timer);
    },
  };
}
