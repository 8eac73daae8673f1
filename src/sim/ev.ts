import { EventEmitter } from 'node:events';
import type { PilotOutput, PilotState } from '../hal/types.js';
import { currentForDuty } from '../domain/pwm.js';
import type { SimEvConfig } from '../config/sim.js';
import type { Clock } from '../hal/clock.js';
import { realTimeClock } from '../hal/clock.js';
import type { EvWorld } from './world.js';

/**
 * A simulated EV at the end of the cable. It sees the pilot output and the contactor, and
 * decides its pilot state (A/B/C) and the current it draws, like an on-board charger:
 * - plugged and asking to charge: state C once a PWM offer is present, else B;
 * - offer withdrawn (X1) while in C: it goes to B after `reactionMs` (or never, `ignoreStop`);
 * - it draws min(offer, its own max) per phase while the contactor is closed in C;
 * - with a battery model it tapers above `taperAbovePercent` and goes to B when full.
 * What outlives a restart of the daemon (plugged, wanting to charge, SoC, a diode fault) is given
 * at construction and announced as 'world' on every change (SimWorld keeps it).
 */
export class SimEv extends EventEmitter {
  plugged = false;
  /** The driver wants to charge (S2 closed when allowed). */
  wantsCharge = false;
  /** Test knob: an EV that ignores the withdrawn offer and stays in C (forces the 6 s open). */
  ignoreStop = false;
  /** Test knob: the EV draws more than offered (A), for overcurrent tests. */
  overdrawA = 0;
  reactionMs = 200;
  socPercent: number | null;
  private diodeBroken = false;
  private state: PilotState = 'A';
  private output: PilotOutput = { mode: 'x1' };
  private contactorClosed = false;
  private supplyPhases: 1 | 3 = 3;
  private reaction?: { cancel(): void };

  constructor(readonly cfg: SimEvConfig, private readonly clock: Pick<Clock, 'setTimeout'> = realTimeClock, world?: EvWorld) {
    super();
    this.socPercent = cfg.battery ? cfg.battery.startSocPercent : null;
    if (world) {
      this.plugged = world.plugged;
      this.wantsCharge = world.plugged && world.wantsCharge;
      if (cfg.battery && world.socPercent !== null) this.socPercent = world.socPercent;
      this.diodeBroken = world.diodeFault;
      this.state = this.targetState(); // as found at start: nobody listens yet
    }
  }

  /** Test knob: an EV whose diode is missing or shorted. */
  get diodeFault(): boolean {
    return this.diodeBroken;
  }

  set diodeFault(broken: boolean) {
    if (broken === this.diodeBroken) return;
    this.diodeBroken = broken;
    this.emit('world');
  }

  /** What of this EV outlives a restart of the daemon. */
  world(): EvWorld {
    return { plugged: this.plugged, wantsCharge: this.wantsCharge, socPercent: this.socPercent, diodeFault: this.diodeBroken };
  }

  pilotState(): PilotState {
    return this.state;
  }

  setPilotOutput(output: PilotOutput): void {
    this.output = output;
    this.reevaluate();
    this.emit('draw'); // a new offer changes the draw even when the pilot state does not
  }

  setContactor(closed: boolean): void {
    this.contactorClosed = closed;
    this.emit('draw');
  }

  plug(): void {
    this.plugged = true;
    this.changed();
  }

  unplug(): void {
    this.plugged = false;
    this.wantsCharge = false;
    this.changed();
  }

  ready(): void {
    this.wantsCharge = true;
    this.changed();
  }

  pause(): void {
    this.wantsCharge = false;
    this.changed();
  }

  /** The driver or the car changed something: it outlives a restart, and it may change the pilot. */
  private changed(): void {
    this.emit('world');
    this.reevaluate();
  }

  /** Per-phase current (A) drawn now. */
  currentA(): number {
    if (!this.contactorClosed || (this.state !== 'C' && this.state !== 'D')) return 0;
    const offered = this.output.mode === 'pwm' ? currentForDuty(this.output.dutyPermille) : 0;
    let a = Math.min(offered, this.cfg.maxCurrentA);
    if (this.output.mode !== 'pwm' && this.ignoreStop) a = this.cfg.maxCurrentA; // still pulling after X1
    if (this.socPercent !== null && this.cfg.battery) {
      const { taperAbovePercent } = this.cfg.battery;
      if (this.socPercent >= 100) a = 0;
      else if (this.socPercent > taperAbovePercent) {
        const frac = (100 - this.socPercent) / (100 - taperAbovePercent);
        a = Math.max(1, a * frac);
      }
    }
    return a > 0 ? a + this.overdrawA : 0;
  }

  /** Phases it draws on: its own charger's, capped by what the supply connects (the phase relay). */
  phases(): number {
    return Math.min(this.cfg.phases, this.supplyPhases);
  }

  /** The station's phase relay connects this many phases (only ever with the contactor open). */
  setSupplyPhases(phases: 1 | 3): void {
    this.supplyPhases = phases;
    this.emit('draw');
  }

  /** Tell the EV how much energy went in (from the sim meter's integration). */
  addEnergy(wh: number): void {
    if (this.socPercent === null || !this.cfg.battery) return;
    this.socPercent = Math.min(100, this.socPercent + (wh / this.cfg.battery.capacityWh) * 100);
    if (this.socPercent >= 100 && this.wantsCharge) {
      this.wantsCharge = false; // full: the EV opens S2
      this.changed();
    } else this.emit('world');
  }

  private reevaluate(): void {
    const target = this.targetState();
    if (target === this.state) {
      this.cancelReaction();
      return;
    }
    // Leaving C because the offer was withdrawn takes the EV a moment; everything else is immediate.
    const delayed = (this.state === 'C' || this.state === 'D') && target === 'B' && this.wantsCharge && this.plugged;
    if (delayed) {
      if (this.ignoreStop || this.reaction) return;
      this.reaction = this.clock.setTimeout(() => {
        this.reaction = undefined;
        this.setState(this.targetState());
      }, this.reactionMs);
      return;
    }
    this.cancelReaction();
    this.setState(target);
  }

  private targetState(): PilotState {
    if (this.output.mode === 'f') return 'F';
    if (!this.plugged) return 'A';
    // 5 % (digital) asks for ISO 15118 communication, which this EV does not speak: it waits in B.
    if (this.wantsCharge && this.output.mode === 'pwm') return 'C';
    return 'B';
  }

  private setState(s: PilotState): void {
    if (s === this.state) return;
    this.state = s;
    this.emit('pilot', s);
    this.emit('draw');
  }

  private cancelReaction(): void {
    this.reaction?.cancel();
    this.reaction = undefined;
  }

  dispose(): void {
    this.cancelReaction();
    this.removeAllListeners();
  }
}
