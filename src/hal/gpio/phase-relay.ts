import type { PhaseRelay, PhaseRelayResult, RelayPhases } from '../types.js';
import type { PhaseRelayConfig } from '../../config/gpio.js';
import type { GpioLine } from './sysfs-gpio.js';

/** The logical level (1 = coil energised) that connects `phases`, for the wiring in `cfg`. */
export function phaseRelayLevel(cfg: Pick<PhaseRelayConfig, 'energisedMeans'>, phases: RelayPhases): 0 | 1 {
  return phases === cfg.energisedMeans ? 1 : 0;
}

/**
 * The 1p/3p relay's output. set() writes the pin synchronously and never refuses: the rule (contactor
 * open, no fault) is the safety core's, in front of this driver. Not part of safe(): with a welded
 * contactor a safe() that moved this relay would switch it under load.
 */
export class GpioPhaseRelay implements PhaseRelay {
  private phases: RelayPhases;
  readonly settleMs: number;

  constructor(private readonly line: GpioLine, private readonly cfg: PhaseRelayConfig, initial: RelayPhases, readonly cpInterrupt: boolean) {
    this.phases = initial;
    this.settleMs = cfg.settleMs;
  }

  get(): RelayPhases {
    return this.phases;
  }

  set(phases: RelayPhases): Promise<PhaseRelayResult> {
    this.line.write(phaseRelayLevel(this.cfg, phases));
    this.phases = phases;
    return Promise.resolve({ ok: true });
  }
}
