import type { Meter, MeterSnapshot } from '../hal/types.js';
import type { Clock } from '../hal/clock.js';
import type { SimGridMeterConfig } from '../config/site.js';
import { phaseTriple } from '../config/site.js';
import { toSitePhases, type PhaseRotation, type Phases } from '../domain/phases.js';

/** A simulated EV as the grid meter sees it: what it draws per phase of its connector. */
export interface SimGridLoad {
  currentA(): number;
  phases(): number;
  rotation: PhaseRotation;
}

/**
 * The simulated meter at the house's grid connection: the house load (a base and timed steps from
 * the config, or a value set by a test) plus every simulated EV's current on the site phase its
 * connector is wired to. Import positive; a negative house load (PV) exports. Its registers count
 * import and export energy from the power between reads.
 */
export class SimGridMeter implements Meter {
  /** Test knob: reads fail (as a meter that stopped answering). */
  failing = false;
  private override: Phases | null = null;
  private readonly startMono: number;
  private lastMono: number;
  private lastPowerW = 0;
  private importMWh = 0;
  private exportMWh = 0;
  private readonly steps: { atS: number; a: Phases }[];

  constructor(
    private readonly clock: Pick<Clock, 'monoMs'>,
    private readonly cfg: Pick<SimGridMeterConfig, 'houseLoadA' | 'steps' | 'repeatS'>,
    private readonly loads: readonly SimGridLoad[],
    private readonly voltageV = 230,
  ) {
    this.startMono = clock.monoMs();
    this.lastMono = this.startMono;
    this.steps = [...cfg.steps].sort((a, b) => a.atS - b.atS).map((s) => ({ atS: s.atS, a: phaseTriple(s.houseLoadA) }));
  }

  /** The house load now (A per phase): a test's value, else the config's profile. */
  houseLoadA(): Phases {
    if (this.override) return this.override;
    let t = (this.clock.monoMs() - this.startMono) / 1000;
    if (this.cfg.repeatS !== undefined) t %= this.cfg.repeatS;
    let a: Phases = phaseTriple(this.cfg.houseLoadA);
    for (const s of this.steps) if (s.atS <= t) a = s.a;
    return a;
  }

  /** Set the house load (A per phase) from now on; null returns to the configured profile. */
  setHouseLoad(a: Phases | null): void {
    this.integrate();
    this.override = a ? [a[0], a[1], a[2]] : null;
  }

  /** What flows through the grid connection now, per phase (A, import positive). */
  gridCurrentA(): [number, number, number] {
    const house = this.houseLoadA();
    const out: [number, number, number] = [house[0], house[1], house[2]];
    for (const l of this.loads) {
      const a = l.currentA();
      const ev = toSitePhases(Array.from({ length: l.phases() }, () => a), l.rotation);
      for (let i = 0; i < 3; i++) out[i as 0 | 1 | 2] += ev[i as 0 | 1 | 2];
    }
    return out;
  }

  private integrate(): void {
    const now = this.clock.monoMs();
    const mWh = (this.lastPowerW * (now - this.lastMono)) / 3600;
    if (mWh > 0) this.importMWh += mWh;
    else this.exportMWh -= mWh;
    this.lastMono = now;
    this.lastPowerW = this.gridCurrentA().reduce((s, a) => s + a * this.voltageV, 0);
  }

  async read(): Promise<MeterSnapshot> {
    if (this.failing) throw new Error('simulated grid meter: no answer');
    this.integrate();
    const currents = this.gridCurrentA();
    const powerPhaseW = currents.map((a) => a * this.voltageV);
    return {
      energyImportWh: Math.floor(this.importMWh / 1000),
      energyExportWh: Math.floor(this.exportMWh / 1000),
      powerW: powerPhaseW.reduce((s, p) => s + p, 0),
      voltageV: [this.voltageV, this.voltageV, this.voltageV],
      // As a real meter: the current's magnitude, the direction in the power's sign.
      currentA: currents.map((a) => Math.abs(a)),
      powerPhaseW,
      frequencyHz: 50,
      monoMs: this.clock.monoMs(),
    };
  }

  async close(): Promise<void> {}
}
