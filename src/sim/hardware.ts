import { EventEmitter } from 'node:events';
import type { CableLock, ConnectorHardware, Contactor, ControlPilot, FaultInputs, PhaseRelay, PilotOutput, PilotReading, RelayPhases, SimulatorControls } from '../hal/types.js';
import type { FaultKind } from '../domain/types.js';
import { ContactorMonitor, type MonitorClock } from '../hal/contactor-check.js';
import { realTimeClock } from '../hal/clock.js';
import { SimEv } from './ev.js';
import type { SimEvConfig } from '../config/sim.js';
import { SimWorld } from './world.js';

/** How long PWM runs before the simulated sense has a diode verdict (the gpio driver: 2 sample periods). */
export const SIM_DIODE_CHECK_MS = 20;
/** The simulated phase relay's settle time. */
export const SIM_PHASE_RELAY_SETTLE_MS = 50;

export interface SimBoardOptions {
  /** The board has a 1p/3p relay (hardware.phaseRelay: true); it starts on 3 phases. */
  phaseRelay?: boolean;
}

/**
 * The board of a simulated connector, wired to a simulated EV. Listeners are called on a later
 * turn of the event loop, as interrupts from real inputs would be, never re-entrantly from a command.
 * The physical world it is built in (`world`: EV plugged or not, asserted fault inputs, a welded
 * contactor, the meter's register) outlives the board object, as it outlives a restart of the daemon.
 */
export class SimHardware implements ConnectorHardware {
  readonly ev: SimEv;
  readonly world: SimWorld;
  readonly pilot: ControlPilot;
  readonly contactor: Contactor & { welded: boolean; feedbackWired: boolean };
  readonly lock: CableLock;
  readonly faults: FaultInputs & { set(kind: FaultKind, active: boolean): void };
  /** Every contactor command with its monotonic time, for tests and the latency bench. */
  readonly contactorLog: { closed: boolean; monoMs: number }[] = [];
  readonly phaseRelay?: PhaseRelay;
  /** Every phase relay change, with what the contactor did at that moment (a test proves it never switched under load). */
  readonly phaseLog: { phases: RelayPhases; contactorCommanded: boolean; contactorFeedback: boolean | undefined; currentA: number; monoMs: number }[] = [];
  private output: PilotOutput = { mode: 'x1' };
  private readonly bus = new EventEmitter();
  /** PWM has run long enough since the last output mode change for a diode verdict (PilotReading.diodeChecked). */
  private diodeSettled = false;
  private diodeTimer?: { cancel(): void };

  private readonly monitor: ContactorMonitor;
  private disposed = false;

  constructor(evCfg: SimEvConfig, clock: MonitorClock = realTimeClock, world: SimWorld = SimWorld.inMemory(evCfg), opts: SimBoardOptions = {}) {
    this.world = world;
    const found = world.current;
    this.ev = new SimEv(evCfg, clock, found.ev);
    const ev = this.ev;
    ev.on('world', () => world.update({ ev: ev.world() }));
    const bus = this.bus;
    const reading = (): PilotReading => {
      const state = ev.pilotState();
      const measurable = this.diodeSettled && (state === 'B' || state === 'C' || state === 'D');
      return { state, diodeOk: !(ev.diodeFault && ev.plugged), diodeChecked: measurable };
    };
    ev.on('pilot', () => setImmediate(() => bus.emit('pilot', reading())));

    this.pilot = {
      setOutput: (o) => {
        const modeChanged = o.mode !== this.output.mode;
        this.output = o;
        if (modeChanged) {
          // Same contract as the gpio driver: no diode verdict until PWM has run for a moment.
          this.diodeSettled = false;
          this.diodeTimer?.cancel();
          this.diodeTimer = undefined;
          if (o.mode === 'pwm' || o.mode === 'digital') {
            this.diodeTimer = clock.setTimeout(() => {
              this.diodeTimer = undefined;
              this.diodeSettled = true;
              bus.emit('pilot', reading());
            }, SIM_DIODE_CHECK_MS);
          }
        }
        ev.setPilotOutput(o);
      },
      read: reading,
      onChange: (l) => void bus.on('pilot', l),
    };

    let closed = false;
    let welded = found.contactorWelded;
    const log = this.contactorLog;
    const monitor = () => this.monitor;
    const disposed = () => this.disposed;
    this.contactor = {
      /** Test knob, and a physical fact: a welded contact stays welded across a restart. */
      get welded() {
        return welded;
      },
      set welded(w: boolean) {
        if (w === welded) return;
        welded = w;
        world.update({ contactorWelded: w });
      },
      feedbackWired: true,
      set(c: boolean) {
        if (c !== closed) log.push({ closed: c, monoMs: performance.now() });
        if (log.length > 100_000) log.splice(0, log.length - 50_000);
        closed = c;
        ev.setContactor(c || this.welded);
        if (this.feedbackWired) {
          monitor().command(c);
          const fb = c || this.welded;
          setImmediate(() => {
            if (disposed()) return;
            bus.emit('feedback', fb);
            monitor().feedback(fb);
          });
        }
      },
      commanded: () => closed,
      feedback() {
        return this.feedbackWired ? closed || this.welded : undefined;
      },
      onFeedback: (l) => void bus.on('feedback', l),
    };

    if (opts.phaseRelay) {
      let phases: RelayPhases = 3;
      const contactor = this.contactor;
      const phaseLog = this.phaseLog;
      this.phaseRelay = {
        get: () => phases,
        set: async (p) => {
          if (p !== phases) phaseLog.push({ phases: p, contactorCommanded: contactor.commanded(), contactorFeedback: contactor.feedback(), currentA: ev.currentA(), monoMs: performance.now() });
          phases = p;
          ev.setSupplyPhases(p);
          return { ok: true };
        },
        settleMs: SIM_PHASE_RELAY_SETTLE_MS,
        cpInterrupt: false,
      };
    }

    let locked = false;
    this.lock = {
      lock: async () => void (locked = true),
      unlock: async () => void (locked = false),
      isLocked: () => locked,
    };

    // Inputs asserted from outside are part of the world (still asserted after a restart, reported
    // as active from the first reading); the board's own verdicts below are judged afresh.
    const inputs = new Set<FaultKind>(found.faultInputs);
    const active = new Set<FaultKind>(inputs);
    /** Inputs arrive on a later turn, as interrupts would; the board's own verdicts at once. */
    const setFault = (kind: FaultKind, on: boolean, deliver: 'later' | 'now') => {
      if (on === active.has(kind)) return;
      if (on) active.add(kind);
      else active.delete(kind);
      if (deliver === 'now') bus.emit('fault', kind, on);
      else setImmediate(() => bus.emit('fault', kind, on));
    };
    this.faults = {
      active: () => active,
      onChange: (l) => void bus.on('fault', l),
      set: (kind, on) => {
        if (on) inputs.add(kind);
        else inputs.delete(kind);
        world.update({ faultInputs: [...inputs] });
        setFault(kind, on, 'later');
      },
    };

    // The board's own welding check, as on the gpio board: its verdicts are board faults, reported
    // at once (a technician's clear must reach the state machine before the clear itself).
    this.monitor = new ContactorMonitor(clock, {}, { commanded: false, feedback: false }, (v) => {
      setFault('welded', v.welded, 'now');
      setFault('contactor', v.failedToClose, 'now');
    });
  }

  /** A technician cleared a welded contactor: false while the (simulated) feedback still reads closed. */
  clearWeld(): boolean {
    const fb = this.contactor.feedback();
    if (fb !== undefined) this.monitor.feedback(fb);
    return this.monitor.clearWeld();
  }

  socPercent(): number | null {
    return this.ev.plugged ? this.ev.socPercent : null;
  }

  batteryCapacityWh(): number | null {
    return this.ev.plugged ? (this.ev.cfg.battery?.capacityWh ?? null) : null;
  }

  simulator(): SimulatorControls {
    const ev = this.ev;
    return {
      get plugged() {
        return ev.plugged;
      },
      plug: () => ev.plug(),
      unplug: () => ev.unplug(),
      ready: () => ev.ready(),
      pause: () => ev.pause(),
      setFault: (kind, active) => {
        if (kind !== 'diode') return this.faults.set(kind, active);
        ev.diodeFault = active;
        ev.emit('pilot', ev.pilotState());
      },
    };
  }

  pilotOutput(): PilotOutput {
    return this.output;
  }

  safe(): void {
    this.contactor.set(false);
    this.pilot.setOutput({ mode: 'x1' });
  }

  async close(): Promise<void> {
    this.safe();
    this.world.close();
    this.disposed = true;
    this.monitor.close();
    this.diodeTimer?.cancel();
    this.ev.dispose();
    this.bus.removeAllListeners();
  }
}
