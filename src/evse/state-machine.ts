import type { PilotOutput, PilotState, RelayPhases } from '../hal/types.js';
import type { FaultKind } from '../domain/types.js';
import type { AuthSource, ConnectorStatus, StopReason } from '../domain/types.js';
import { FAULTS, needsTechnician, selfClears } from '../domain/faults.js';
import { dutyForCurrent, MIN_CURRENT_A } from '../domain/pwm.js';

/**
 * The charging state machine of one connector: pure logic, no I/O, time passed in.
 * It turns inputs (pilot readings, faults, authorisation, stop requests, the current offer) into
 * commands (contactor, pilot output, session start/end) and the next deadline it must be ticked at.
 *
 * Safety rules (each has a test that tries to break it, test/evse/safety.test.ts):
 *  S1 the contactor closes only in pilot state C or D;
 *  S2 ... only with no fault active or latched, and the EV diode present, as measured with PWM
 *     running since the pilot output last changed mode (a verdict from X1, or from before the
 *     output changed, does not count: PilotReading.diodeChecked);
 *  S3 ... only while authorised with a recorded session;
 *  S4 ... only while a current is offered (PWM), the connector is available and not paused or stopping;
 *  S5 it opens in the same step when the pilot leaves C/D, a fault appears, the diode fails or the
 *     authorisation is withdrawn;
 *  S6 when the offer is withdrawn with the contactor closed, the EV gets stopTimeoutMs (IEC 61851-1
 *     Table A.6 seq. 10.2: 6 s) to go to B, then the contactor opens under load;
 *  S7 a fault drives state F for faultFMs (300 ms) and then X1; faults latch until the EV is unplugged
 *     (welding until a technician clears it);
 *  S8 "no offer" is X1 (steady +12 V), never 0 % duty; the PWM duty rises at most every 5 s (the EV
 *     needs time to follow); a lower duty goes out at once, like X1 (a station budget, the fuse first);
 *  S9 with a cable lock (a socket; `lock-state` other than null), the contactor closes only once the
 *     lock reads locked, and opens at once when it reads unlocked (fault 'lock'). The plug is locked
 *     when a session starts, before any close; a lock that does not confirm (the driver rejects, or
 *     lockTimeoutMs passes) is fault 'lock'. It is unlocked once no session runs and the contactor
 *     is open (the controller also waits for the contactor's feedback to read open).
 * S10 1p/3p switching runs only this sequence: the offer withdrawn (X1), the contactor opened once
 *     the EV stops drawing (B, below 1 A, or S6), CP off (F with a CP interruption where the board
 *     has a CP relay, else X1) for phasePauseMs, the relay commanded, phaseSettleMs, the offer again;
 *     no close while it runs; a fault, a stop or an unplug aborts it; at most phaseMaxPerSession
 *     switches per session. The safety core holds the relay rule itself (domain/supervisor.ts).
 */

/** Below this (A, every phase) the EV has stopped drawing and the contactor may open for a phase switch (OpenEVSE: 1 A). */
export const PHASE_SWITCH_IDLE_A = 1;

export interface StateMachineOptions {
  stopTimeoutMs: number;
  faultFMs: number;
  pwmMinChangeIntervalMs: number;
  /** How long an authorisation given before the EV is plugged stays valid. */
  connectionTimeoutMs: number;
  /**
   * EV wake-up (IEC 61851-1 A.5.3 legacy wake-up, timings as EVerest): when a session offers current
   * and the EV has stayed in B this long without ever reaching C, drive state F for wakeFMs, then X1
   * for wakeX1Ms, then offer again. Once per session; 0 disables the automatic retry.
   */
  wakeAfterMs: number;
  wakeFMs: number;
  wakeX1Ms: number;
  /**
   * Backstop for a lock command that never settles: not locked this long after the command is
   * fault 'lock'. The driver's own time (gpio: motorMs + settle) is normally what fails first.
   */
  lockTimeoutMs: number;
  /**
   * After we stop driving state F, how long a reading of F or E may still be our own signal (the
   * sense is debounced): judged again when this has passed. Must cover the pilot sense's lag
   * (fReadbackGraceMs()).
   */
  fReadbackGraceMs: number;
  /**
   * A session's first offer: an EV that is ready goes to C within about a second of seeing the
   * PWM. For this long the connector stays Preparing instead of reporting SuspendedEV for a moment
   * between StartTransaction and Charging; an EV still in B after it is SuspendedEV.
   */
  evReactionMs: number;
  /** 1p/3p switching: CP off this long with the contactor open before the relay changes (connectors[].phaseSwitch.pauseS). */
  phasePauseMs: number;
  /** After the relay changed, CP stays off this long more (the relay's settle time). */
  phaseSettleMs: number;
  /** The board can disconnect CP (a CP relay): the pause is then F with cpInterrupt, else X1. */
  phaseCpInterrupt: boolean;
  phaseMaxPerSession: number;
}

export const DEFAULT_SM_OPTIONS: StateMachineOptions = {
  stopTimeoutMs: 6000,
  faultFMs: 300,
  pwmMinChangeIntervalMs: 5000,
  connectionTimeoutMs: 60_000,
  wakeAfterMs: 30_000,
  wakeFMs: 4000,
  wakeX1Ms: 750,
  lockTimeoutMs: 6000,
  fReadbackGraceMs: 500,
  evReactionMs: 3000,
  phasePauseMs: 10_000,
  phaseSettleMs: 0,
  phaseCpInterrupt: false,
  phaseMaxPerSession: 4,
};

/**
 * fReadbackGraceMs for a pilot sense that reports a new state `debounceMs` after it appears and
 * samples every `samplePeriodMs`: the time our own F can still be read after it ended, at least
 * 500 ms. Without a sense config (a board that reports at once), 500 ms.
 */
export function fReadbackGraceMs(sense?: { debounceMs: number; samplePeriodMs: number }): number {
  const min = DEFAULT_SM_OPTIONS.fReadbackGraceMs;
  return sense ? Math.max(min, sense.debounceMs + 3 * sense.samplePeriodMs + 100) : min;
}

export type SmEvent =
  /** A pilot reading (PilotReading): `diodeChecked` = diodeOk was measured with PWM running since the output mode last changed. */
  | { type: 'pilot'; state: PilotState; diodeOk: boolean; diodeChecked: boolean }
  | { type: 'fault'; kind: FaultKind; active: boolean }
  /** `reservationId`: the reservation the session will use (and end) when it starts. */
  | { type: 'authorize'; idTag: string | null; source: AuthSource; reservationId?: number | null }
  /** The connector is kept for a reservation (status Reserved while nobody is on it); the station decides who may use it. */
  | { type: 'reserved'; reserved: boolean }
  /** A reservation ended before its session started (expired, cancelled): a pending authorisation no longer uses it. */
  | { type: 'reservation-ended'; reservationId: number }
  /** Authorisation withdrawn for safety or by the backend: open at once (S5), end the session. */
  | { type: 'deauthorize'; reason: StopReason }
  | { type: 'session-started' }
  | { type: 'session-start-failed' }
  | { type: 'stop'; reason: StopReason; stopIdTag?: string | null }
  | { type: 'offer'; amps: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'availability'; available: boolean }
  /** A technician clears the latched faults; `keep` stay (e.g. 'welded' while the feedback still reads closed). */
  | { type: 'clear-faults'; keep?: FaultKind[] }
  /** Wake a sleeping EV now (CP interruption through state F), e.g. from the API. */
  | { type: 'wake' }
  /** A new connection timeout (OCPP ConnectionTimeOut), effective at once for a pending authorisation too. */
  | { type: 'connection-timeout'; ms: number }
  /** The safety supervisor vetoed a close command or opened the contactor itself: it is open (src/evse/safety.ts). */
  | { type: 'contactor-refused'; why: string }
  /** The cable lock as read now: locked or not; null = this connector has no lock (fixed cable). */
  | { type: 'lock-state'; locked: boolean | null }
  /** The lock actuator did not confirm a lock command (jammed, no plug, broken feedback). */
  | { type: 'lock-failed'; why: string }
  /** Switch the phase relay (the controller checked that the board has one and it is on the other phases). */
  | { type: 'phase-switch'; phases: RelayPhases; requestId?: number }
  /** The safety core's answer to a phase-relay command. */
  | { type: 'phase-relay-done'; phases: RelayPhases; ok: boolean; why?: string }
  /** The highest phase current measured now (A), while a phase switch waits for the EV to stop drawing. */
  | { type: 'drawing'; amps: number }
  | { type: 'tick' };

export type SmAction =
  | { type: 'contactor'; closed: boolean; why: string }
  /** Drive the cable lock (only with a lock); the controller reports the result as lock-state / lock-failed. */
  | { type: 'lock'; locked: boolean; why: string }
  | { type: 'pilot'; output: PilotOutput }
  | { type: 'start-session'; idTag: string | null; source: AuthSource; reservationId: number | null }
  | { type: 'end-session'; reason: StopReason; stopIdTag: string | null }
  | { type: 'status'; status: ConnectorStatus; previous: ConnectorStatus }
  /** Command the phase relay (the contactor is open); the answer comes back as phase-relay-done. */
  | { type: 'phase-relay'; phases: RelayPhases }
  /** A phase-switch request ended: Accepted once the relay switched, else Rejected (with why). */
  | { type: 'phase-switch-ended'; phases: RelayPhases; result: 'Accepted' | 'Rejected'; why: string; requestId?: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; msg: string };

export interface SmSnapshot {
  status: ConnectorStatus;
  pilot: PilotState;
  diodeOk: boolean;
  /** diodeOk is fresh: measured with PWM running since the output mode last changed. */
  diodeChecked: boolean;
  output: PilotOutput;
  contactor: boolean;
  faults: FaultKind[];
  /** `reservationId`: the reservation the session will use when it starts. */
  auth: { idTag: string | null; source: AuthSource; reservationId: number | null } | null;
  /** Kept for a reservation: no tag other than the reserved one may start (free mode does not start on plug-in). */
  reserved: boolean;
  session: boolean;
  stopping: boolean;
  offerA: number;
  paused: boolean;
  available: boolean;
  pendingAvailable: boolean | null;
  /** A wake-up (state F, then X1) is in progress. */
  waking: boolean;
  /** The cable lock as last read; null without a lock. */
  cableLocked: boolean | null;
  /** A 1p/3p switch under way and its step; null when none. */
  phaseSwitch: { phases: RelayPhases; step: PhaseStep } | null;
  /** Phase switches done in the running session. */
  switchesThisSession: number;
}

/**
 * withdraw: offer withdrawn, waiting for the EV to stop drawing; pause: contactor open, CP off;
 * switch: the relay command is out; settle: switched, CP still off for the relay's settle time.
 */
export type PhaseStep = 'withdraw' | 'pause' | 'switch' | 'settle';

interface PhaseSwitchRun {
  phases: RelayPhases;
  step: PhaseStep;
  /** A session runs: the whole sequence; else the relay switches at once. */
  withSession: boolean;
  /** End of the pause or of the settle time. */
  untilMs: number | null;
  requestId?: number;
}

interface Auth {
  idTag: string | null;
  source: AuthSource;
  atMs: number;
  reservationId: number | null;
}

export class ConnectorStateMachine {
  private readonly o: StateMachineOptions;
  private pilot: PilotState = 'A';
  private diodeOk = true;
  private diodeChecked = false;
  private readonly hwFaults = new Set<FaultKind>();
  private readonly latched = new Set<FaultKind>();
  private auth: Auth | null = null;
  private starting = false;
  private session = false;
  private sessionEnded = false;
  private stopping: { reason: StopReason; stopIdTag: string | null } | null = null;
  private offerA = 0;
  private paused = false;
  private available = true;
  private pendingAvailable: boolean | null = null;
  private contactor = false;
  private output: PilotOutput = { mode: 'x1' };
  private lastDutyChangeMs = -Infinity;
  private withdrawnSinceMs: number | null = null;
  private faultFUntilMs: number | null = null;
  private wake: { fUntilMs: number; x1UntilMs: number } | null = null;
  private wakeDone = false;
  private seenC = false;
  private offerSinceMs: number | null = null;
  /** When we last stopped driving state F: a debounced pilot reading may still report it briefly. */
  private fEndedAtMs = -Infinity;
  /**
   * An E/F reading taken for our own F (during it or in the grace after it): if the pilot still
   * reads E/F at this time, it was real. The driver reports changes only, so without this check a
   * short that began within the grace would never be reported.
   */
  private efCheckAtMs: number | null = null;
  /** The connector has a cable lock (a socket). */
  private cableLock = false;
  /** The lock as last read. */
  private lockLocked = false;
  /** The lock state last commanded. */
  private lockWanted = false;
  /** A lock command not yet confirmed, since (ms). */
  private lockPendingSinceMs: number | null = null;
  private phaseSwitch: PhaseSwitchRun | null = null;
  private switchesThisSession = 0;
  private status: ConnectorStatus = 'Available';
  private reserved = false;

  constructor(opts: Partial<StateMachineOptions> = {}) {
    this.o = { ...DEFAULT_SM_OPTIONS, ...opts };
  }

  /** Feed one event at monotonic time `now`; returns the commands to execute, in order. */
  handle(ev: SmEvent, now: number): SmAction[] {
    const out: SmAction[] = [];
    // Judge the authorisation's age on the state before this input: a plug-in that arrives after
    // the timeout (its tick delayed) must not revive an expired tag.
    this.expireAuth(now, out);
    switch (ev.type) {
      case 'pilot':
        this.onPilot(ev.state, ev.diodeOk, now, out);
        // A verdict is fresh only while PWM runs (there is no negative half in X1 or F).
        this.diodeChecked = ev.diodeChecked && (ev.state === 'B' || ev.state === 'C' || ev.state === 'D') && (this.output.mode === 'pwm' || this.output.mode === 'digital');
        break;
      case 'fault':
        this.onFault(ev.kind, ev.active, now, out);
        break;
      case 'authorize':
        if (this.session || this.starting || this.hasFault()) {
          out.push({ type: 'log', level: 'warn', msg: `authorisation for ${ev.idTag ?? '(none)'} ignored: ${this.session || this.starting ? 'a session is already running' : 'connector faulted'}` });
          break;
        }
        this.auth = { idTag: ev.idTag, source: ev.source, atMs: now, reservationId: ev.reservationId ?? null };
        this.sessionEnded = false;
        break;
      case 'deauthorize':
        if (this.auth || this.session) {
          out.push({ type: 'log', level: 'warn', msg: `authorisation withdrawn (${ev.reason})` });
          this.auth = null;
          // The gate below opens the contactor in this same step (S5); then the session ends.
          if (this.session || this.starting) this.stopping = { reason: ev.reason, stopIdTag: null };
        }
        break;
      case 'reserved':
        this.reserved = ev.reserved;
        break;
      case 'reservation-ended':
        if (this.auth?.reservationId === ev.reservationId && !this.starting && !this.session) this.auth.reservationId = null;
        break;
      case 'session-started':
        // The session is durable now; if the EV left or the authorisation went meanwhile, end it at once.
        this.starting = false;
        this.session = true;
        this.wakeDone = false;
        this.seenC = false;
        this.switchesThisSession = 0;
        if (!this.stopping && this.pilot === 'A') this.stopping = { reason: 'EVDisconnected', stopIdTag: null };
        if (!this.stopping && !this.auth) this.stopping = { reason: 'DeAuthorized', stopIdTag: null };
        break;
      case 'session-start-failed':
        this.starting = false;
        this.auth = null;
        this.stopping = null;
        this.applyPendingAvailability();
        out.push({ type: 'log', level: 'error', msg: 'session could not be recorded: charging refused' });
        break;
      case 'stop':
        if (this.session || this.starting) {
          this.stopping = { reason: ev.reason, stopIdTag: ev.stopIdTag ?? null };
        } else if (this.auth) {
          this.auth = null; // cancels a pending authorisation
        }
        break;
      case 'offer':
        this.offerA = ev.amps >= MIN_CURRENT_A ? ev.amps : 0;
        break;
      case 'pause':
        this.paused = true;
        break;
      case 'resume':
        this.paused = false;
        break;
      case 'availability':
        if (this.session || this.starting) {
          this.pendingAvailable = ev.available;
        } else {
          this.available = ev.available;
          this.pendingAvailable = null;
        }
        break;
      case 'clear-faults': {
        const keep = new Set(ev.keep ?? []);
        for (const k of [...this.latched]) if (!this.hwFaults.has(k) && !keep.has(k)) this.latched.delete(k);
        const left = [...new Set([...this.hwFaults, ...this.latched])];
        out.push({ type: 'log', level: 'info', msg: `latched faults cleared by technician${left.length ? ` (still active: ${left.join(', ')})` : ''}` });
        break;
      }
      case 'wake':
        if ((this.session || this.starting) && !this.contactor && this.pilot === 'B' && !this.hasFault()) this.startWake(now, out, 'requested');
        else out.push({ type: 'log', level: 'warn', msg: 'wake-up ignored: only an EV plugged in (state B) with a session can be woken' });
        break;
      case 'connection-timeout':
        this.o.connectionTimeoutMs = ev.ms;
        break;
      case 'contactor-refused':
        out.push({ type: 'log', level: 'error', msg: `the safety supervisor kept the contactor open: ${ev.why}` });
        if (this.contactor) {
          this.contactor = false;
          this.withdrawnSinceMs = null;
        }
        break;
      case 'lock-state':
        this.onLockState(ev.locked, now, out);
        break;
      case 'lock-failed':
        if (this.cableLock && this.lockWanted) {
          this.lockPendingSinceMs = null;
          this.raise('lock', out, ev.why, now);
        }
        break;
      case 'phase-switch':
        this.requestPhaseSwitch(ev.phases, ev.requestId, out);
        break;
      case 'phase-relay-done':
        this.onPhaseRelayDone(ev, now, out);
        break;
      case 'drawing':
        if (this.phaseSwitch?.step === 'withdraw' && this.contactor && ev.amps < PHASE_SWITCH_IDLE_A) {
          this.setContactor(false, `EV draws ${ev.amps} A (below ${PHASE_SWITCH_IDLE_A} A): opening for the phase switch`, out);
        }
        break;
      case 'tick':
        break;
    }
    this.settle(now, out);
    return out;
  }

  /** When the machine must be ticked next (monotonic ms), or null. */
  nextDeadline(): number | null {
    const ds: number[] = [];
    if (this.faultFUntilMs !== null) ds.push(this.faultFUntilMs);
    // The current phase's end only: in X1 the F deadline already lies in the past.
    if (this.wake) ds.push(this.output.mode === 'f' ? this.wake.fUntilMs : this.wake.x1UntilMs);
    const autoWake = this.autoWakeAt();
    if (autoWake !== null) ds.push(autoWake);
    if (this.withdrawnSinceMs !== null && this.contactor) ds.push(this.withdrawnSinceMs + this.o.stopTimeoutMs);
    if (this.lockPendingSinceMs !== null) ds.push(this.lockPendingSinceMs + this.o.lockTimeoutMs);
    if (this.efCheckAtMs !== null) ds.push(this.efCheckAtMs);
    if (this.session && !this.seenC && this.pilot === 'B' && this.offerSinceMs !== null && this.status === 'Preparing') ds.push(this.offerSinceMs + this.o.evReactionMs);
    if (this.phaseSwitch?.untilMs != null) ds.push(this.phaseSwitch.untilMs);
    if (this.auth && !this.session && !this.starting && this.pilot === 'A') ds.push(this.auth.atMs + this.o.connectionTimeoutMs);
    const want = this.desiredOutput(Infinity);
    if (want.mode === 'pwm' && this.output.mode === 'pwm' && want.dutyPermille > this.output.dutyPermille) {
      ds.push(this.lastDutyChangeMs + this.o.pwmMinChangeIntervalMs);
    }
    return ds.length ? Math.min(...ds) : null;
  }

  snapshot(): SmSnapshot {
    return {
      status: this.status,
      pilot: this.pilot,
      diodeOk: this.diodeOk,
      diodeChecked: this.diodeChecked,
      output: this.output,
      contactor: this.contactor,
      faults: [...new Set([...this.hwFaults, ...this.latched])],
      auth: this.auth ? { idTag: this.auth.idTag, source: this.auth.source, reservationId: this.auth.reservationId } : null,
      reserved: this.reserved,
      session: this.session,
      stopping: this.stopping !== null,
      offerA: this.offerA,
      paused: this.paused,
      available: this.available,
      pendingAvailable: this.pendingAvailable,
      waking: this.wake !== null,
      cableLocked: this.cableLock ? this.lockLocked : null,
      phaseSwitch: this.phaseSwitch ? { phases: this.phaseSwitch.phases, step: this.phaseSwitch.step } : null,
      switchesThisSession: this.switchesThisSession,
    };
  }

  /** The pure safety gate: may the contactor be (or stay) closed now? Returns the violated rule. */
  contactorViolation(now: number, closing: boolean): string | null {
    const hard = this.hardViolation();
    if (hard) return hard;
    if (closing) {
      if (this.output.mode !== 'pwm') return 'no current offered';
      if (!this.diodeChecked) return 'EV diode not yet checked with PWM running';
      if (this.stopping) return 'stopping';
      if (this.phaseSwitch) return 'phase switch under way';
      if (this.paused) return 'paused';
      if (!this.available) return 'unavailable';
    } else if (this.withdrawnSinceMs !== null && now >= this.withdrawnSinceMs + this.o.stopTimeoutMs) {
      return `EV still in ${this.pilot} ${this.o.stopTimeoutMs} ms after the offer was withdrawn: opening under load`;
    }
    return null;
  }

  /** The conditions that open the contactor at once, whatever the offer (S5). */
  private hardViolation(): string | null {
    if (this.pilot !== 'C' && this.pilot !== 'D') return `pilot in state ${this.pilot} (not C/D)`;
    if (this.hasFault()) return `fault active: ${[...new Set([...this.hwFaults, ...this.latched])].join(', ')}`;
    if (this.cableLock && !this.lockLocked) return 'cable lock not confirmed locked';
    if (!this.diodeOk) return 'EV diode missing';
    if (!this.auth) return 'not authorised';
    if (!this.session) return 'no recorded session';
    return null;
  }

  private hasFault(): boolean {
    return this.hwFaults.size > 0 || this.latched.size > 0;
  }

  private firstFault(): FaultKind | undefined {
    for (const k of this.hwFaults) return k;
    for (const k of this.latched) return k;
    return undefined;
  }

  private onPilot(state: PilotState, diodeOk: boolean, now: number, out: SmAction[]): void {
    const prev = this.pilot;
    // While we drive state F ourselves (and shortly after: the sensing is debounced), reading F or E
    // is taken for our own signal, not a fault; it is judged again once the grace is over.
    const ef = state === 'F' || state === 'E';
    const selfDriven = (this.output.mode === 'f' || now < this.fEndedAtMs + this.o.fReadbackGraceMs) && ef;
    if (!ef) this.efCheckAtMs = null;
    else if (selfDriven && this.output.mode !== 'f') this.efCheckAtMs = this.fEndedAtMs + this.o.fReadbackGraceMs;
    this.pilot = state;
    this.diodeOk = diodeOk || state === 'A' || selfDriven;
    if ((state === 'E' || state === 'F') && !selfDriven) this.raise('pilot', out, `pilot reads state ${state}`, now);
    if (!this.diodeOk && (state === 'B' || state === 'C' || state === 'D')) this.raise('diode', out, 'EV diode check failed', now);
    if (state === 'C' || state === 'D') this.seenC = true;
    if (state === 'A' && prev !== 'A') this.onUnplugged(out);
  }

  private onLockState(locked: boolean | null, now: number, out: SmAction[]): void {
    const wasConfirmed = this.lockWanted && this.lockPendingSinceMs === null;
    this.cableLock = locked !== null;
    this.lockLocked = locked === true;
    if (!this.cableLock) {
      this.lockWanted = false;
      this.lockPendingSinceMs = null;
      return;
    }
    if (this.lockLocked) this.lockPendingSinceMs = null;
    // Locked once, now reading unlocked: the contactor opens in this step (hardViolation), fault 'lock'.
    else if (wasConfirmed) this.raise('lock', out, 'cable lock reads unlocked while it must hold the plug', now);
  }

  /** The lock is wanted while a session runs with an EV plugged in, and whenever the contactor is closed. */
  private wantLock(): boolean {
    return this.cableLock && (this.contactor || ((this.session || this.starting) && this.pilot !== 'A'));
  }

  private commandLock(now: number, out: SmAction[]): void {
    const want = this.wantLock();
    if (want === this.lockWanted) return;
    this.lockWanted = want;
    this.lockPendingSinceMs = want && !this.lockLocked ? now : null;
    out.push({ type: 'lock', locked: want, why: want ? 'session with an EV plugged in: lock before any close' : 'no session, contactor open' });
  }

  /** A fault the pilot reading itself reveals: latched, and signalled with state F like any fault (S7). */
  private raise(kind: FaultKind, out: SmAction[], msg: string, now: number): void {
    if (this.latched.has(kind)) return;
    out.push({ type: 'log', level: 'error', msg: `fault ${kind}: ${msg}` });
    this.latched.add(kind);
    if (this.o.faultFMs > 0 && this.pilot !== 'A') this.faultFUntilMs = now + this.o.faultFMs;
  }

  private onFault(kind: FaultKind, active: boolean, now: number, out: SmAction[]): void {
    if (active) {
      const isNew = !this.hwFaults.has(kind) && !this.latched.has(kind);
      this.hwFaults.add(kind);
      if (!selfClears(kind)) this.latched.add(kind);
      if (isNew) {
        out.push({ type: 'log', level: 'error', msg: `fault ${kind} raised` });
        if (this.o.faultFMs > 0 && this.pilot !== 'A') this.faultFUntilMs = now + this.o.faultFMs;
      }
    } else {
      this.hwFaults.delete(kind);
      // Latching protects an EV that is connected; with none connected a cleared input clears the fault.
      if (selfClears(kind) || (this.pilot === 'A' && !needsTechnician(kind))) this.latched.delete(kind);
      out.push({ type: 'log', level: 'info', msg: `fault input ${kind} cleared${this.latched.has(kind) ? ' (stays latched until unplug)' : ''}` });
    }
  }

  private onUnplugged(out: SmAction[]): void {
    for (const k of [...this.latched]) {
      if (!this.hwFaults.has(k) && !needsTechnician(k)) this.latched.delete(k);
    }
    if ((this.session || this.starting) && !this.stopping) this.stopping = { reason: 'EVDisconnected', stopIdTag: null };
    if (!this.session && !this.starting) {
      this.auth = null;
      this.sessionEnded = false;
    }
    this.paused = false;
    this.wake = null;
    void out;
  }

  /** When the automatic wake-up is due, or null. */
  private autoWakeAt(): number | null {
    if (this.o.wakeAfterMs <= 0 || this.wake || this.wakeDone || this.seenC || !this.session || this.stopping) return null;
    if (this.output.mode !== 'pwm' || this.pilot !== 'B' || this.offerSinceMs === null) return null;
    return this.offerSinceMs + this.o.wakeAfterMs;
  }

  private startWake(now: number, out: SmAction[], why: string): void {
    this.wake = { fUntilMs: now + this.o.wakeFMs, x1UntilMs: now + this.o.wakeFMs + this.o.wakeX1Ms };
    this.wakeDone = true;
    out.push({ type: 'log', level: 'info', msg: `waking the EV (${why}): state F for ${this.o.wakeFMs} ms, then X1 for ${this.o.wakeX1Ms} ms, then the offer again` });
  }

  /** Re-derive outputs from the state; enforce the safety gate last so nothing can bypass it. */
  private settle(now: number, out: SmAction[]): void {
    if (this.faultFUntilMs !== null && now >= this.faultFUntilMs) this.faultFUntilMs = null;
    if (this.efCheckAtMs !== null && now >= this.efCheckAtMs) {
      this.efCheckAtMs = null;
      if ((this.pilot === 'E' || this.pilot === 'F') && this.output.mode !== 'f') this.raise('pilot', out, `pilot reads state ${this.pilot} ${this.o.fReadbackGraceMs} ms after our own state F ended`, now);
    }
    if (this.lockPendingSinceMs !== null && now >= this.lockPendingSinceMs + this.o.lockTimeoutMs) {
      this.lockPendingSinceMs = null;
      this.raise('lock', out, `cable lock not confirmed locked ${this.o.lockTimeoutMs} ms after the command`, now);
    }
    if (this.wake && (now >= this.wake.x1UntilMs || this.hasFault() || !this.session || this.stopping || this.pilot === 'A')) this.wake = null;
    const autoWake = this.autoWakeAt();
    if (autoWake !== null && now >= autoWake) this.startWake(now, out, `no request for energy ${this.o.wakeAfterMs} ms after the offer`);
    this.expireAuth(now, out);

    // Start a session once plugged and authorised.
    if (this.auth && !this.session && !this.starting && !this.stopping && !this.sessionEnded && this.pilot !== 'A' && !this.hasFault() && this.available) {
      this.starting = true;
      out.push({ type: 'start-session', idTag: this.auth.idTag, source: this.auth.source, reservationId: this.auth.reservationId });
    }

    // Contactor first: opening never waits for anything else (S5). The withdrawn-offer timeout (S6)
    // is judged after the output below: an offer that is back by now must not cause an open under
    // load followed by a re-close in the same step.
    if (this.contactor) {
      const why = this.hardViolation();
      if (why) this.setContactor(false, why, out);
    }

    this.advancePhaseSwitch(now, out);
    this.setOutput(this.desiredOutput(now), now, out);

    const offering = this.output.mode === 'pwm';
    if (this.contactor && !offering) {
      if (this.withdrawnSinceMs === null) this.withdrawnSinceMs = now;
      const why = this.contactorViolation(now, false);
      if (why) this.setContactor(false, why, out);
    } else {
      this.withdrawnSinceMs = null;
    }
    // The contactor opened in this step (the EV stopped, or S6): the pause begins now.
    if (this.phaseSwitch?.step === 'withdraw' && !this.contactor) {
      this.advancePhaseSwitch(now, out);
      this.setOutput(this.desiredOutput(now), now, out);
    }

    if (!this.contactor && this.contactorViolation(now, true) === null) {
      this.setContactor(true, 'EV requests energy (C/D), authorised, offer present, no fault', out);
    }

    // A stop completes once the contactor is open.
    if (this.stopping && !this.contactor && this.session) {
      out.push({ type: 'end-session', reason: this.stopping.reason, stopIdTag: this.stopping.stopIdTag });
      this.session = false;
      this.stopping = null;
      this.auth = null;
      this.paused = false;
      this.sessionEnded = this.pilot !== 'A';
      this.applyPendingAvailability();
      this.setOutput(this.desiredOutput(now), now, out);
    }

    this.commandLock(now, out);

    const status = this.deriveStatus(now);
    if (status !== this.status) {
      out.push({ type: 'status', status, previous: this.status });
      this.status = status;
    }
  }

  private requestPhaseSwitch(phases: RelayPhases, requestId: number | undefined, out: SmAction[]): void {
    const reject = (why: string) => {
      out.push({ type: 'log', level: 'warn', msg: `phase switch to ${phases} refused: ${why}` });
      out.push({ type: 'phase-switch-ended', phases, result: 'Rejected', why, requestId });
    };
    if (this.phaseSwitch) return reject('a phase switch is already under way');
    if (this.hasFault()) return reject(`fault active: ${[...new Set([...this.hwFaults, ...this.latched])].join(', ')}`);
    if (this.stopping) return reject('the session is stopping');
    if (this.wake) return reject('a wake-up is under way');
    const withSession = this.session || this.starting;
    if (withSession && this.switchesThisSession >= this.o.phaseMaxPerSession) {
      return reject(`already ${this.switchesThisSession} phase switches in this session (connectors[].phaseSwitch.maxPerSession)`);
    }
    this.phaseSwitch = { phases, step: withSession ? 'withdraw' : 'switch', withSession, untilMs: null, requestId };
    out.push({ type: 'log', level: 'info', msg: withSession ? `phase switch to ${phases}: offer withdrawn, waiting for the EV to stop drawing` : `phase switch to ${phases}: no session, switching the relay` });
    if (!withSession) out.push({ type: 'phase-relay', phases });
  }

  private onPhaseRelayDone(ev: Extract<SmEvent, { type: 'phase-relay-done' }>, now: number, out: SmAction[]): void {
    const ps = this.phaseSwitch;
    if (!ps || ps.step !== 'switch' || ps.phases !== ev.phases) {
      out.push({ type: 'log', level: 'info', msg: `phase relay answer (${ev.phases}, ${ev.ok ? 'switched' : 'refused'}) after the switch was aborted` });
      return;
    }
    if (!ev.ok) return this.endPhaseSwitch('Rejected', `the safety core refused the relay: ${ev.why ?? 'no reason'}`, out);
    if (!ps.withSession) return this.endPhaseSwitch('Accepted', switchedTo(ps.phases), out);
    this.switchesThisSession++;
    ps.step = 'settle';
    ps.untilMs = now + this.o.phaseSettleMs;
  }

  /** Aborts on a fault, a stop or an unplug; moves the pause and the settle time on. */
  private advancePhaseSwitch(now: number, out: SmAction[]): void {
    const ps = this.phaseSwitch;
    if (!ps) return;
    const faults = this.hasFault() ? `fault active: ${[...new Set([...this.hwFaults, ...this.latched])].join(', ')}` : null;
    const ended = ps.withSession && (this.stopping !== null || !(this.session || this.starting) || this.pilot === 'A') ? 'the session is stopping' : null;
    const abort = faults ?? ended;
    if (abort) {
      // Switched already (settling): the connector is on the new phases; the offer simply does not return.
      if (ps.step === 'settle') return this.endPhaseSwitch('Accepted', `${switchedTo(ps.phases)} (then ${abort})`, out);
      return this.endPhaseSwitch('Rejected', `aborted: ${abort}`, out);
    }
    if (ps.step === 'withdraw' && !this.contactor) {
      ps.step = 'pause';
      ps.untilMs = now + this.o.phasePauseMs;
      out.push({ type: 'log', level: 'info', msg: `phase switch to ${ps.phases}: contactor open, CP off for ${this.o.phasePauseMs} ms` });
    }
    if (ps.step === 'pause' && ps.untilMs !== null && now >= ps.untilMs) {
      ps.step = 'switch';
      ps.untilMs = null;
      out.push({ type: 'phase-relay', phases: ps.phases });
    }
    if (ps.step === 'settle' && ps.untilMs !== null && now >= ps.untilMs) this.endPhaseSwitch('Accepted', switchedTo(ps.phases), out);
  }

  private endPhaseSwitch(result: 'Accepted' | 'Rejected', why: string, out: SmAction[]): void {
    const { phases, requestId } = this.phaseSwitch!;
    this.phaseSwitch = null;
    out.push({ type: 'log', level: result === 'Accepted' ? 'info' : 'warn', msg: `phase switch to ${phases}: ${why}` });
    out.push({ type: 'phase-switch-ended', phases, result, why, requestId });
  }

  /** A Scheduled availability change takes effect once no session is running or being started. */
  private applyPendingAvailability(): void {
    if (this.pendingAvailable === null) return;
    this.available = this.pendingAvailable;
    this.pendingAvailable = null;
  }

  private expireAuth(now: number, out: SmAction[]): void {
    if (this.auth && !this.session && !this.starting && this.pilot === 'A' && now >= this.auth.atMs + this.o.connectionTimeoutMs) {
      out.push({ type: 'log', level: 'info', msg: 'authorisation expired: no EV plugged in within the connection timeout' });
      this.auth = null;
    }
  }

  private setContactor(closed: boolean, why: string, out: SmAction[]): void {
    if (this.contactor === closed) return;
    this.contactor = closed;
    if (!closed) this.withdrawnSinceMs = null;
    out.push({ type: 'contactor', closed, why });
  }

  private desiredOutput(now: number): PilotOutput {
    if (this.hasFault()) {
      return this.faultFUntilMs !== null && now < this.faultFUntilMs ? { mode: 'f' } : { mode: 'x1' };
    }
    const ps = this.phaseSwitch;
    if (ps?.withSession) {
      if (ps.step === 'withdraw' || !this.o.phaseCpInterrupt) return { mode: 'x1' };
      return { mode: 'f', cpInterrupt: true };
    }
    // The wake-up is a CP interruption: drivers with a CP relay disconnect CP for it (HAL PilotOutput).
    if (this.wake) return now < this.wake.fUntilMs ? { mode: 'f', cpInterrupt: true } : { mode: 'x1' };
    const offer =
      this.auth !== null &&
      this.pilot !== 'A' &&
      (this.session || this.starting) &&
      !this.stopping &&
      !this.paused &&
      this.available &&
      this.offerA >= MIN_CURRENT_A;
    return offer ? { mode: 'pwm', dutyPermille: dutyForCurrent(this.offerA) } : { mode: 'x1' };
  }

  private setOutput(want: PilotOutput, now: number, out: SmAction[]): void {
    const cur = this.output;
    if (samePilot(cur, want)) return;
    if (cur.mode === 'pwm' && want.mode === 'pwm' && want.dutyPermille > cur.dutyPermille) {
      // IEC 61851-1: raise the offer at most every 5 s (the EV needs time to follow). A decrease is
      // not held: a budget that drops (the main fuse) comes first, as a withdrawal (X1) does.
      if (now < this.lastDutyChangeMs + this.o.pwmMinChangeIntervalMs) return;
    }
    if (want.mode === 'pwm') this.lastDutyChangeMs = now;
    if (cur.mode === 'f' && want.mode !== 'f') {
      this.fEndedAtMs = now;
      if (this.pilot === 'E' || this.pilot === 'F') this.efCheckAtMs = now + this.o.fReadbackGraceMs;
    }
    // The HAL's diode verdict is stale from a mode change until it reports a new measurement.
    if (want.mode !== cur.mode) this.diodeChecked = false;
    if (want.mode === 'pwm' && cur.mode !== 'pwm') this.offerSinceMs = now;
    if (want.mode !== 'pwm') this.offerSinceMs = null;
    this.output = want;
    out.push({ type: 'pilot', output: want });
  }

  /** The session's first offer runs and the EV has not had the time to react to it yet. */
  private awaitingFirstReaction(now: number): boolean {
    return !this.seenC && this.pilot === 'B' && this.offerSinceMs !== null && now < this.offerSinceMs + this.o.evReactionMs;
  }

  private deriveStatus(now: number): ConnectorStatus {
    if (!this.available && !this.session) return 'Unavailable';
    const fault = this.firstFault();
    if (fault) return FAULTS[fault].status;
    // Reserved until the reserved tag is presented (OCPP 1.6 §4.9 G2), also with another EV plugged in.
    if (this.reserved && !this.auth && !this.session && !this.starting && !this.sessionEnded) return 'Reserved';
    if (this.pilot === 'A') return this.auth ? 'Preparing' : 'Available';
    if (this.session) {
      if (this.stopping) return 'Finishing';
      if (this.phaseSwitch) return 'SuspendedEVSE';
      if (this.wake) return 'SuspendedEV';
      if (this.contactor) return 'Charging';
      if (this.paused || this.offerA < MIN_CURRENT_A || !this.available) return 'SuspendedEVSE';
      if (this.pilot === 'B') return this.awaitingFirstReaction(now) ? 'Preparing' : 'SuspendedEV';
      return 'Charging';
    }
    return this.sessionEnded ? 'Finishing' : 'Preparing';
  }
}

function samePilot(a: PilotOutput, b: PilotOutput): boolean {
  if (a.mode === 'pwm' && b.mode === 'pwm') return a.dutyPermille === b.dutyPermille;
  if (a.mode === 'f' && b.mode === 'f') return (a.cpInterrupt === true) === (b.cpInterrupt === true);
  return a.mode === b.mode;
}

function switchedTo(phases: RelayPhases): string {
  return `switched to ${phases} phase${phases === 1 ? '' : 's'}`;
}
