import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { FAULT_KINDS } from '../domain/faults.js';
import type { FaultKind } from '../domain/types.js';
import type { SimEvConfig, SimWorldMode } from '../config/sim.js';
import type { Logger } from '../log.js';

/** The simulated EV as far as it outlives the daemon: the car does not leave when the station reboots. */
export interface EvWorld {
  plugged: boolean;
  /** The driver wants to charge (S2 closed when allowed). */
  wantsCharge: boolean;
  socPercent: number | null;
  /** The EV's diode is missing or shorted. */
  diodeFault: boolean;
}

/** Everything physical around one simulated connector that a restart of the daemon does not change. */
export interface WorldState {
  ev: EvWorld;
  /** Fault inputs asserted from outside (an RCD trip, a temperature sensor), not the board's own verdicts. */
  faultInputs: FaultKind[];
  contactorWelded: boolean;
  /** The meter's register in mWh (its whole Wh are what it reports); null until the meter has run. */
  meterRegisterMWh: number | null;
}

const faultKind = z.enum(FAULT_KINDS as [FaultKind, ...FaultKind[]]);
const fileSchema = z.strictObject({
  version: z.literal(1),
  /** The EV the state belongs to: another configured EV is another car, which is not plugged in. */
  evConfig: z.unknown(),
  ev: z.strictObject({
    plugged: z.boolean(),
    wantsCharge: z.boolean(),
    socPercent: z.number().min(0).max(100).nullable(),
    diodeFault: z.boolean(),
  }),
  faultInputs: z.array(faultKind),
  contactorWelded: z.boolean(),
  meterRegisterMWh: z.number().int().min(0).nullable(),
});

/** The world file of one connector in the storage directory. */
export function simWorldFile(storageDir: string, connectorId: number): string {
  return join(storageDir, `sim-world-${connectorId}.json`);
}

export function freshWorld(ev: SimEvConfig): WorldState {
  return {
    ev: { plugged: false, wantsCharge: false, socPercent: ev.battery ? ev.battery.startSocPercent : null, diodeFault: false },
    faultInputs: [],
    contactorWelded: false,
    meterRegisterMWh: null,
  };
}

/**
 * The physical world around one simulated connector, kept in a small JSON file so that a restart
 * of the daemon (crash, SIGKILL, systemctl restart, an OCPP Reset) finds it as it was. Changes are
 * written at the end of the current turn (several changes of one event are one write), through a
 * temporary file and a rename, so the file is always a whole world, old or new. Without a file
 * (tests, benchmarks) the world lives in memory only.
 */
export class SimWorld {
  private state: WorldState;
  private lastWritten: string | null;
  private scheduled = false;
  private closed = false;
  private warned = false;
  private dirReady = false;

  private constructor(
    private readonly file: string | null,
    private readonly evConfig: SimEvConfig,
    private readonly log: Logger | undefined,
    initial: WorldState,
    lastWritten: string | null,
  ) {
    this.state = initial;
    this.lastWritten = lastWritten;
  }

  /** A world that is not kept anywhere: it ends with the process. */
  static inMemory(evConfig: SimEvConfig): SimWorld {
    return new SimWorld(null, evConfig, undefined, freshWorld(evConfig), null);
  }

  /**
   * The world kept in `file`: restored as it was (`persist`), or begun afresh (`fresh`, also when
   * there is no file yet or it cannot be used; a fresh world replaces a stored one at once).
   */
  static open(file: string, opts: { mode: SimWorldMode; ev: SimEvConfig; log?: Logger }): SimWorld {
    const fresh = freshWorld(opts.ev);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') opts.log?.warn({ file, err: (err as Error).message }, 'simulated world: cannot read its file, starting from a fresh world');
      // No file: nothing to replace until something changes.
      return new SimWorld(file, opts.ev, opts.log, fresh, null).markWritten();
    }
    const world = (initial: WorldState, lastWritten: string | null) => new SimWorld(file, opts.ev, opts.log, initial, lastWritten);
    if (opts.mode === 'fresh') {
      opts.log?.info({ file }, 'simulated world: starting fresh (hardware.world: fresh)');
      return world(fresh, null).flushNow();
    }
    const parsed = parseWorld(text);
    if (!parsed.ok) {
      opts.log?.warn({ file, problem: parsed.problem }, 'simulated world: its file is damaged, starting from a fresh world');
      return world(fresh, null).flushNow();
    }
    const stored = parsed.value;
    const sameEv = JSON.stringify(stored.evConfig) === JSON.stringify(opts.ev);
    const state: WorldState = {
      ev: sameEv ? stored.ev : fresh.ev,
      faultInputs: stored.faultInputs,
      contactorWelded: stored.contactorWelded,
      meterRegisterMWh: stored.meterRegisterMWh,
    };
    if (!sameEv) opts.log?.info({ file }, 'simulated world: the configured EV changed, the new one is not plugged in');
    opts.log?.info({ file, plugged: state.ev.plugged, evReady: state.ev.wantsCharge, faultInputs: state.faultInputs, contactorWelded: state.contactorWelded }, 'simulated world restored');
    return world(state, sameEv ? text : null).flushNow();
  }

  /** The world as it is now (restored, or as last updated). */
  get current(): Readonly<WorldState> {
    return this.state;
  }

  /** Something in the world changed: written at the end of this turn. */
  update(patch: Partial<WorldState>): void {
    if (this.closed) return;
    this.state = { ...this.state, ...patch };
    if (this.file === null || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Write now what has not been written (on close, and from the microtask of update). */
  flush(): void {
    if (this.file === null || this.closed) return;
    const text = this.serialise();
    if (text === this.lastWritten) return;
    const tmp = `${this.file}.tmp`;
    try {
      if (!this.dirReady) mkdirSync(dirname(this.file), { recursive: true });
      this.dirReady = true;
      writeFileSync(tmp, text);
      renameSync(tmp, this.file);
      this.lastWritten = text;
    } catch (err) {
      // A simulator's bookkeeping: never a reason to stop the station. Said once, not on every change.
      if (!this.warned) this.log?.warn({ file: this.file, err: (err as Error).message }, 'simulated world: cannot write its file (a restart will not find this world)');
      this.warned = true;
    }
  }

  /** The last write; nothing changes the world (or its file) after this. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private serialise(): string {
    return `${JSON.stringify({ version: 1, evConfig: this.evConfig, ...this.state })}\n`;
  }

  private flushNow(): this {
    this.flush();
    return this;
  }

  private markWritten(): this {
    this.lastWritten = this.serialise();
    return this;
  }
}

function parseWorld(text: string): { ok: true; value: z.infer<typeof fileSchema> } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
  const r = fileSchema.safeParse(json);
  if (!r.success) return { ok: false, problem: r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ') };
  return { ok: true, value: r.data };
}
