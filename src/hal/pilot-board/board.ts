import type { ConnectorHardware, Contactor, ControlPilot, FaultInputs, HealthResult, PilotOutput, PilotReading } from '../types.js';
import type { FaultKind } from '../../domain/types.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../../log.js';
import type { BusHandle } from '../modbus/bus.js';
import type { PilotBoardModel } from './model.js';
import { boardFaults, decodeConfig, decodeStatus, pilotReadingFrom, type BoardConfig, type BoardStatus } from './status.js';
import { desiredCommand, type BoardCommand } from './command.js';

/** Polls in a row that show the board's relay on although it was told to turn charging off: fault 'contactor'. */
export const DISOBEYED_POLLS = 2;
/** How long the board's own close may wait for evsed's confirmation (within IEC 61851-1's 3 s from C). */
export const CONFIRM_WINDOW_MS = 2000;

export interface PilotBoardOptions {
  unitId: number;
  pollMs: number;
  timeoutMs: number;
  requestGapMs: number;
  offlineAfterPolls: number;
  /** e.g. "unit 1 on /dev/ttyUSB0 at 9600 8N1", for the log. */
  where: string;
}

/** Faults the board raises, each kind with the reasons that hold it (a kind can have several). */
class BoardFaultSet implements FaultInputs {
  private readonly reasons = new Map<FaultKind, Map<string, string>>();
  private readonly set = new Set<FaultKind>();
  private readonly listeners: ((kind: FaultKind, active: boolean) => void)[] = [];

  active(): ReadonlySet<FaultKind> {
    return this.set;
  }
  onChange(listener: (kind: FaultKind, active: boolean) => void): void {
    this.listeners.push(listener);
  }
  /** Replace the faults of one source (`board`, `link`, `relay`) with `now`. */
  update(source: string, now: ReadonlyMap<FaultKind, string>): void {
    for (const [kind, why] of now) {
      let r = this.reasons.get(kind);
      if (!r) this.reasons.set(kind, (r = new Map()));
      r.set(source, why);
    }
    for (const [kind, r] of this.reasons) if (!now.has(kind)) r.delete(source);
    for (const [kind, r] of this.reasons) {
      const active = r.size > 0;
      if (active === this.set.has(kind)) continue;
      if (active) this.set.add(kind);
      else this.set.delete(kind);
      for (const l of this.listeners) l(kind, active);
    }
  }
}

const inCD = (r: PilotReading) => r.state === 'C' || r.state === 'D';
const sameReading = (a: PilotReading, b: PilotReading) => a.state === b.state && a.diodeOk === b.diodeOk && a.diodeChecked === b.diodeChecked;

/**
 * A pilot board (hardware/pilot-boards/) as the board of one connector: the board generates the
 * pilot, checks the diode and switches its relay in real time; evsed polls its status registers
 * and writes two: the offered current and the turn-off bit. See command.ts for when the board is
 * allowed to charge, and docs/install-pi.md for what this path guarantees.
 */
export class PilotBoardHardware implements ConnectorHardware {
  readonly faults = new BoardFaultSet();
  readonly pilot: ControlPilot;
  readonly contactor: Contactor;
  private output: PilotOutput = { mode: 'x1' };
  private commanded = false;
  /** evsed does not want the board's relay closed although it offers current (see command.ts). */
  private refused = false;
  private reading: PilotReading = { state: 'A', diodeOk: true, diodeChecked: false };
  private readonly readingListeners: ((r: PilotReading) => void)[] = [];
  private config?: BoardConfig;
  /** The two registers as the board holds them (last poll or acknowledged write); a missing one is unknown. */
  private known: Partial<BoardCommand> = {};
  private writing?: Promise<void>;
  private lastWriteAckMs = -Infinity;
  /** When the board last acknowledged a turn-off; undefined while it has not since it was (re)found. */
  private turnOffAckMs?: number;
  private failedPolls = 0;
  private offline = false;
  private polls = 0;
  /** The poll that first showed a checked C/D with the contactor not commanded. */
  private unconfirmedSincePoll?: number;
  private unconfirmedSinceMs = 0;
  private disobeyedPolls = 0;
  private differenceLogged = false;
  private running = false;
  private closed = false;
  private lastLoopMono = -Infinity;
  private sleepTimer?: { cancel(): void };

  constructor(
    readonly model: PilotBoardModel,
    private readonly handle: BusHandle,
    private readonly o: PilotBoardOptions,
    private readonly clock: Pick<Clock, 'monoMs' | 'setTimeout'>,
    private readonly log: Logger,
  ) {
    this.pilot = {
      setOutput: (output) => {
        if (output.mode !== this.output.mode && output.mode === 'pwm') this.refused = false; // a new offer is a new request
        this.output = output;
        this.syncWrites();
      },
      read: () => this.reading,
      onChange: (l) => void this.readingListeners.push(l),
    };
    this.contactor = {
      set: (closed) => {
        if (closed) this.refused = false;
        else if (this.commanded && inCD(this.reading)) this.refused = true; // evsed opens while the EV asks: the board must not close again
        this.commanded = closed;
        this.syncWrites();
      },
      commanded: () => this.commanded,
      // The board reports its relay driver (statusBits.relayOn), not an auxiliary contact: no weld can be seen.
      feedback: () => undefined,
      onFeedback: () => undefined,
    };
  }

  /** Start polling. */
  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.lastLoopMono = this.clock.monoMs();
    void this.loop();
  }

  /**
   * Contactor commanded open, no offer, the board told to turn charging off. Synchronous: the
   * turn-off is queued before every waiting request on the line, behind the one in flight. What
   * holds at once, whatever evsed's process does next, is only the board's own real-time part.
   */
  safe(): void {
    if (this.closed) return;
    this.commanded = false;
    this.output = { mode: 'x1' };
    this.refused = true;
    // A write in flight must not hold the turn-off back: queue it now (the writer may repeat it, harmlessly).
    if (this.writing) void this.send({ register: 'commands', value: 1 << this.model.bit.turnOffCharging });
    else this.syncWrites();
  }

  /**
   * Watchdog liveness: the poll loop runs. A board that does not answer is a fault ('pilot'),
   * reported on the connector; a restart of evsed would not make it answer.
   */
  health(): HealthResult {
    if (!this.running) return { ok: false, reason: 'pilot board poll loop not running' };
    // Generous: on a line shared with meters that time out too, one poll can wait behind several of their tries.
    const limit = Math.max(30_000, 10 * (this.o.pollMs + this.o.timeoutMs + this.o.requestGapMs));
    const age = this.clock.monoMs() - this.lastLoopMono;
    return age <= limit ? { ok: true } : { ok: false, reason: `pilot board poll loop silent for ${Math.round(age)} ms` };
  }

  /** Outputs safe, the turn-off sent if the board answers (bounded), then the line released. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.safe();
    this.running = false;
    this.sleepTimer?.cancel();
    let timer: { cancel(): void } | undefined;
    const bound = new Promise<void>((r) => (timer = this.clock.setTimeout(r, 3 * (this.o.timeoutMs + this.o.requestGapMs) + 500)));
    await Promise.race([this.writing ?? Promise.resolve(), bound]);
    timer?.cancel();
    this.closed = true;
    await this.handle.release();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const began = this.clock.monoMs();
      await this.cycle();
      this.lastLoopMono = this.clock.monoMs();
      if (!this.running) return;
      await this.sleep(Math.max(0, this.o.pollMs - (this.clock.monoMs() - began)));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.clock.setTimeout(() => {
        this.sleepTimer = undefined;
        resolve();
      }, ms);
      this.sleepTimer = {
        cancel: () => {
          t.cancel();
          resolve();
        },
      };
    });
  }

  /** One poll: the configuration first while it is unknown (start, after the board was lost), then the status. */
  private async cycle(): Promise<void> {
    const bus = this.handle.bus;
    const gap = { spacingMs: this.o.requestGapMs };
    if (!this.config) {
      try {
        const { words } = await bus.read(this.o.unitId, 3, this.model.configBlock.start, this.model.configBlock.count, gap);
        this.onConfig(decodeConfig(this.model, words));
      } catch (err) {
        if ((err as { kind?: string }).kind !== 'exception') return this.pollFailed(err);
        this.log.warn({ err: (err as Error).message }, `pilot board refuses to read its configuration (registers ${this.model.configBlock.start}..): assuming whole amperes; a board set to 0.01 A (configBits.highResolution) would then offer nothing`);
        this.onConfig({ currentAfterBootA: 0, highResolution: false, disabled: false, disableAfterCharge: false, chargeInStateD: false, known: false });
      }
    }
    const sentAt = this.clock.monoMs();
    try {
      const { words } = await bus.read(this.o.unitId, 3, this.model.statusBlock.start, this.model.statusBlock.count, gap);
      this.onStatus(decodeStatus(this.model, words), sentAt);
    } catch (err) {
      this.pollFailed(err);
    }
  }

  private onConfig(c: BoardConfig): void {
    this.config = c;
    if (!c.known) return;
    this.log.info({ currentAfterBootA: c.currentAfterBootA, resolution: c.highResolution ? '0.01 A' : '1 A', chargeInStateD: c.chargeInStateD }, 'pilot board configuration read');
    if (c.disabled) this.log.error('the pilot board is disabled in its saved configuration (configBits.disabled): it will not charge whatever evsed writes; clear that bit with the board\'s tool');
    if (c.disableAfterCharge) this.log.warn('the pilot board disables itself after each charge (configBits.disableAfterCharge): evsed cannot enable it again; clear that bit');
    if (c.currentAfterBootA >= 6) {
      this.log.warn({ currentAfterBootA: c.currentAfterBootA }, 'the pilot board starts with currentAfterBoot of 6 A or more: if it restarts on its own (supply dip) it offers that current by itself until evsed\'s next poll; set it to the lowest value it accepts');
    }
  }

  private pollFailed(err: unknown): void {
    this.failedPolls++;
    this.log.debug({ err: (err as Error)?.message, failedPolls: this.failedPolls }, 'pilot board did not answer');
    if (!this.offline && this.failedPolls >= this.o.offlineAfterPolls) {
      this.offline = true;
      // What it holds now is unknown (it may restart meanwhile): read its configuration again and rewrite both registers when it answers.
      this.config = undefined;
      this.known = {};
      this.turnOffAckMs = undefined;
      this.log.error(
        { board: this.o.where, polls: this.failedPolls, err: (err as Error)?.message },
        'pilot board not answering: fault pilot, evsed stops charging; the board\'s own pilot, diode and RCD checks go on, but it cannot be told to stop until it answers (it has no Modbus watchdog)',
      );
      this.faults.update('link', new Map([['pilot', `no answer from the pilot board (${this.o.where}) for ${this.failedPolls} polls`]]));
    }
    this.syncWrites();
  }

  private onStatus(s: BoardStatus, sentAt: number): void {
    this.failedPolls = 0;
    if (this.offline) {
      this.offline = false;
      this.log.info({ board: this.o.where }, 'pilot board answers again');
      this.faults.update('link', new Map());
    }
    const k = this.known;
    const differs = !this.writing && k.currentRaw !== undefined && k.turnOff !== undefined && (s.currentRaw !== k.currentRaw || s.turnOff !== k.turnOff);
    // Once per episode: a board whose turn-off bit clears itself would otherwise repeat this every poll.
    if (differs && !this.differenceLogged) {
      this.log.warn({ board: { current: s.currentRaw, turnOff: s.turnOff }, evsed: k }, 'the pilot board holds other values than evsed wrote (it restarted, or another master wrote them): writing them again');
    }
    if (!this.writing) this.differenceLogged = differs;
    if (!this.writing) this.known = { currentRaw: s.currentRaw, turnOff: s.turnOff };
    this.polls++;

    this.faults.update('board', boardFaults(s));
    const reading = pilotReadingFrom(s, this.reading, sentAt >= this.lastWriteAckMs);
    if (!sameReading(reading, this.reading)) {
      this.reading = reading;
      for (const l of this.readingListeners) l(reading);
    }
    this.judgeBoardClose(reading);
    this.checkObeyed(s, sentAt);
    this.syncWrites();
  }

  /**
   * The board closed (or will close) its relay on its own at C with PWM running. evsed gets a poll
   * and CONFIRM_WINDOW_MS to confirm with a close command (its state machine debounces C and may
   * run an RCD self-test first; IEC 61851-1 gives the EVSE 3 s from C to close); if it does not,
   * it refuses, and the board is told to turn off. The EV leaving C/D ends the refusal: a new C is a new request.
   */
  private judgeBoardClose(r: PilotReading): void {
    if (!inCD(r)) {
      this.refused = false;
      this.unconfirmedSincePoll = undefined;
      return;
    }
    if (!r.diodeChecked || this.commanded || this.output.mode !== 'pwm') {
      this.unconfirmedSincePoll = undefined;
      return;
    }
    if (this.unconfirmedSincePoll === undefined) {
      this.unconfirmedSincePoll = this.polls;
      this.unconfirmedSinceMs = this.clock.monoMs();
    } else if (this.polls > this.unconfirmedSincePoll && this.clock.monoMs() - this.unconfirmedSinceMs >= CONFIRM_WINDOW_MS && !this.refused) {
      this.refused = true;
      this.log.warn({ pilot: r.state }, 'evsed did not confirm the pilot board\'s close within a poll: the board is told to turn charging off');
    }
  }

  /** The relay must follow a turn-off: still on in DISOBEYED_POLLS polls sent after it was acknowledged is a fault. */
  private checkObeyed(s: BoardStatus, sentAt: number): void {
    const told = !this.commanded && this.turnOffAckMs !== undefined && sentAt >= this.turnOffAckMs;
    this.disobeyedPolls = told && s.relayOn ? this.disobeyedPolls + 1 : 0;
    const disobeys = this.disobeyedPolls >= DISOBEYED_POLLS;
    if (disobeys && this.disobeyedPolls === DISOBEYED_POLLS) this.log.error({ polls: this.disobeyedPolls }, 'the pilot board keeps its relay on although told to turn charging off: fault contactor');
    this.faults.update('relay', disobeys ? new Map([['contactor', 'the pilot board keeps its relay on although told to turn charging off']]) : new Map());
  }

  /**
   * Bring the board's two registers to what evsed wants, one write at a time, each before every
   * waiting request on the line. What is wanted is judged again before each write, so a turn-off
   * asked for meanwhile comes next; a turn-off goes before a new current, a new current before the
   * board is enabled. The first write is queued synchronously.
   */
  private syncWrites(): void {
    if (this.closed || this.writing) return;
    if (!this.nextWrite()) return;
    const run = (async () => {
      for (let step = this.nextWrite(); step && !this.closed; step = this.nextWrite()) {
        if (!(await this.send(step))) return; // the next poll tries again
      }
    })();
    this.writing = run.finally(() => {
      this.writing = undefined;
    });
  }

  private nextWrite(): { register: 'current' | 'commands'; value: number } | undefined {
    const want = desiredCommand({ output: this.output, contactorCommanded: this.commanded, refused: this.refused, highResolution: this.config?.highResolution });
    const k = this.known;
    if (want.turnOff && k.turnOff !== true) return { register: 'commands', value: 1 << this.model.bit.turnOffCharging };
    if (want.currentRaw !== k.currentRaw) return { register: 'current', value: want.currentRaw };
    if (!want.turnOff && k.turnOff !== false) return { register: 'commands', value: 0 };
    return undefined;
  }

  /** One write; true when the board acknowledged it. */
  private async send(w: { register: 'current' | 'commands'; value: number }): Promise<boolean> {
    const address = w.register === 'current' ? this.model.reg.configuredCurrent : this.model.reg.commands;
    try {
      const { monoMs } = await this.handle.bus.write(this.o.unitId, address, [w.value], { urgent: true, spacingMs: this.o.requestGapMs });
      this.lastWriteAckMs = monoMs;
      if (w.register === 'current') this.known.currentRaw = w.value;
      else {
        this.known.turnOff = w.value !== 0;
        // Only a turn-off in force is one the relay must obey: clearing it ends the last one.
        this.turnOffAckMs = w.value !== 0 ? monoMs : undefined;
      }
      this.log.debug({ register: address, value: w.value }, 'pilot board register written');
      return true;
    } catch (err) {
      this.known = {};
      this.log.debug({ register: address, value: w.value, err: (err as Error).message }, 'pilot board write failed');
      return false;
    }
  }
}
