import type { Meter, MeterSnapshot } from '../hal/types.js';
import type { Clock } from '../hal/clock.js';
import type { SimEv } from './ev.js';
import type { SimWorld } from './world.js';

/**
 * A simulated energy meter. Its register integrates the simulated EV's power exactly: every change
 * of draw closes the previous interval at the previous power, so the register is the true energy
 * (kept in mWh internally, reported as whole Wh like a real register). With a `world` the register
 * is part of it: it goes on after a restart of the daemon from where it was, never from less than
 * `initialEnergyWh` (the configured first value, or what the station last recorded).
 */
export class SimMeter implements Meter {
  private registerMWh: number;
  private lastMono: number;
  private powerW = 0;
  /** Test knob: reads fail (as a meter that stopped answering). */
  failing = false;

  constructor(
    private readonly clock: Pick<Clock, 'monoMs'>,
    private readonly ev: SimEv | null,
    initialEnergyWh = 0,
    private readonly voltageV = 230,
    private readonly world?: SimWorld,
  ) {
    this.registerMWh = Math.max(initialEnergyWh * 1000, world?.current.meterRegisterMWh ?? 0);
    this.lastMono = clock.monoMs();
    ev?.on('draw', () => this.integrate());
  }

  /** Close the running interval at the power that applied during it, then take the new power. */
  integrate(): void {
    const now = this.clock.monoMs();
    const dtH = (now - this.lastMono) / 3_600_000;
    const wh = this.powerW * dtH;
    this.registerMWh += wh * 1000;
    this.lastMono = now;
    if (wh > 0) this.ev?.addEnergy(wh);
    this.powerW = this.ev ? this.ev.currentA() * this.ev.phases() * this.voltageV : 0;
    this.world?.update({ meterRegisterMWh: Math.floor(this.registerMWh) });
  }

  registerWh(): number {
    this.integrate();
    return Math.floor(this.registerMWh / 1000);
  }

  async read(): Promise<MeterSnapshot> {
    if (this.failing) throw new Error('simulated meter: no answer');
    this.integrate();
    const phases = this.ev ? this.ev.phases() : 3;
    const a = this.ev ? this.ev.currentA() : 0;
    const currents = [0, 1, 2].map((i) => (i < phases ? a : 0));
    return {
      energyImportWh: Math.floor(this.registerMWh / 1000),
      powerW: this.powerW,
      voltageV: [this.voltageV, this.voltageV, this.voltageV],
      currentA: currents,
      powerPhaseW: currents.map((c) => c * this.voltageV),
      frequencyHz: 50,
      monoMs: this.clock.monoMs(),
    };
  }

  async close(): Promise<void> {
    this.integrate();
    this.ev?.removeAllListeners('draw');
  }
}
