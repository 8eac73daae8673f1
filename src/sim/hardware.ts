import { EventEmitter } from 'node:events';
import type {
  CableLock, ConnectorHardware, Contactor, ControlPilot, FaultInputs, FaultKind, PilotOutput, PilotReading,
} from '../hal/types.js';
import { SimEv } from './ev.js';
import type { SimEvConfig } from './config.js';

/**
 * The board of a simulated connector, wired to a simulated EV. Listeners are called on a later
 * turn of the event loop, as interrupts from real inputs would be, never re-entrantly from a command.
 */
export class SimHardware implements ConnectorHardware {
  readonly ev: SimEv;
  readonly pilot: ControlPilot;
  readonly contactor: Contactor & { welded: boolean; feedbackWired: boolean };
  readonly lock: CableLock;
  readonly faults: FaultInputs & { set(kind: FaultKind, active: boolean): void };
  /** Every contactor command with its monotonic time, for tests and the latency bench. */
  readonly contactorLog: { closed: boolean; monoMs: number }[] = [];
  private output: PilotOutput = { mode: 'x1' };
  private readonly bus = new EventEmitter();

  constructor(evCfg: SimEvConfig) {
    this.ev = new SimEv(evCfg);
    const ev = this.ev;
    const bus = this.bus;
    const reading = (): PilotReading => {
      const state = ev.pilotState();
      return { state, diodeOk: !(ev.diodeFault && ev.plugged) };
    };
    ev.on('pilot', () => setImmediate(() => bus.emit('pilot', reading())));

    let out = this.output;
    this.pilot = {
      setOutput: (o) => {
        out = o;
        this.output = o;
        ev.setPilotOutput(o);
      },
      read: reading,
      onChange: (l) => void bus.on('pilot', l),
    };
    void out;

    let closed = false;
    const log = this.contactorLog;
    this.contactor = {
      welded: false,
      feedbackWired: true,
      set(c: boolean) {
        if (c !== closed) log.push({ closed: c, monoMs: performance.now() });
        if (log.length > 100_000) log.splice(0, log.length - 50_000);
        closed = c;
        ev.setContactor(c || this.welded);
        if (this.feedbackWired) {
          const fb = c || this.welded;
          setImmediate(() => bus.emit('feedback', fb));
        }
      },
      commanded: () => closed,
      feedback() {
        return this.feedbackWired ? closed || this.welded : undefined;
      },
      onFeedback: (l) => void bus.on('feedback', l),
    };

    let locked = false;
    this.lock = {
      lock: async () => void (locked = true),
      unlock: async () => void (locked = false),
      isLocked: () => locked,
    };

    const active = new Set<FaultKind>();
    this.faults = {
      active: () => active,
      onChange: (l) => void bus.on('fault', l),
      set: (kind, on) => {
        if (on === active.has(kind)) return;
        if (on) active.add(kind);
        else active.delete(kind);
        setImmediate(() => bus.emit('fault', kind, on));
      },
    };
  }

  socPercent(): number | null {
    return this.ev.plugged ? this.ev.socPercent : null;
  }

  batteryCapacityWh(): number | null {
    return this.ev.plugged ? (this.ev.cfg.battery?.capacityWh ?? null) : null;
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
    this.ev.dispose();
    this.bus.removeAllListeners();
  }
}
