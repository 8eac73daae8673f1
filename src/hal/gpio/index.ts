import type { ConnectorHardware, FaultInputs, HealthResult, RelayPhases } from '../types.js';
import type { FaultKind } from '../../domain/types.js';
import { SystemClock, type Clock } from '../clock.js';
import { interlockToleranceMs, type GpioHardwareConfig, type GpioSignal } from '../../config/gpio.js';
import type { Logger } from '../../log.js';
import { SysfsGpio, onoffEdges, pollingEdges, type EdgeSource, type GpioLine } from './sysfs-gpio.js';
import { DebouncedInput } from './input.js';
import { SysfsPwm, findPwmChannel } from './pwm.js';
import { IioAdc, type PilotAdc } from './adc.js';
import { AdcPilot } from './pilot.js';
import { GpioContactor } from './contactor.js';
import { GpioCableLock } from './lock.js';
import { HeartbeatOutput } from './heartbeat.js';
import { GpioPhaseRelay, phaseRelayLevel } from './phase-relay.js';
import { runRcdSelfTest, type RcdTestResult } from '../rcd-self-test.js';

export { HardwareError } from './errors.js';

/** Optional overrides for tests and tools; production passes only connectorId and log. */
export interface GpioHardwareContext {
  connectorId: number;
  log: Logger;
  clock?: Clock;
  /** Edge interrupts; default: onoff (epoll). */
  edges?: EdgeSource;
  /** Pilot ADC; default: the ADS1115 through IIO under cfg.root. */
  adc?: PilotAdc;
  /** Start the sampler, heartbeat and start-up RCD self-test (default true; hw test uses false). */
  autoStart?: boolean;
  /** Blocking ADC reads: only in the safety core's own thread (src/hal/safety-core/worker.ts). */
  syncAdcReads?: boolean;
  /**
   * The phase relay's saved position (the safety core's file): its line is exported at that level
   * so a restart does not move it. Default: 3 phases (the connector's installed supply).
   */
  phaseRelayInitial?: RelayPhases;
}

/** Fault inputs the board reports, plus faults other parts of the daemon raise on it (stall). */
class BoardFaults implements FaultInputs {
  private readonly set = new Set<FaultKind>();
  private readonly listeners: ((kind: FaultKind, active: boolean) => void)[] = [];

  active(): ReadonlySet<FaultKind> {
    return this.set;
  }
  onChange(listener: (kind: FaultKind, active: boolean) => void): void {
    this.listeners.push(listener);
  }
  update(kind: FaultKind, active: boolean): void {
    if (active === this.set.has(kind)) return;
    if (active) this.set.add(kind);
    else this.set.delete(kind);
    for (const l of this.listeners) l(kind, active);
  }
}

/** The Raspberry Pi board of one connector. Drivers report and execute; the state machine decides. */
export class GpioHardware implements ConnectorHardware {
  readonly faults = new BoardFaults();
  /** ConnectorHardware.rcdSelfTest, only where gpio.rcdTest and gpio.rcdFault are wired: the safety core runs it before every close. */
  rcdSelfTest?: () => Promise<RcdTestResult>;
  lock?: GpioCableLock;
  phaseRelay?: GpioPhaseRelay;
  heartbeat?: HeartbeatOutput;
  rcdFault?: DebouncedInput;
  private rcdTestLine?: GpioLine;
  private cpRelayLine?: GpioLine;
  private selfTesting = false;
  private rcdSelfTestFailed = false;
  private closed = false;
  /** Every line by config name, for hw test. */
  readonly outputs = new Map<string, GpioLine>();
  readonly inputs = new Map<string, DebouncedInput>();

  constructor(
    readonly cfg: GpioHardwareConfig,
    readonly gpio: SysfsGpio,
    readonly pwm: SysfsPwm,
    readonly pilot: AdcPilot,
    readonly contactor: GpioContactor,
    readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Contactor open, pilot X1, CP connected, lock motor off. Synchronous, never throws. */
  safe(): void {
    // After close() the lines are released (their fds may be reused by other files): close() left
    // every output at its safe level, and nothing may write through a released line.
    if (this.closed) return;
    const attempt = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        this.log.fatal({ err }, `safe(): could not ${what}`);
      }
    };
    attempt('open the contactor', () => this.contactor.set(false));
    attempt('set the pilot to X1', () => this.pilot.setOutput({ mode: 'x1' }));
    attempt('reconnect CP', () => this.cpRelayLine?.write(0));
    attempt('stop the lock motor', () => this.lock?.stop());
  }

  /**
   * Watchdog liveness: the pilot sampler loop ran within the last second and the heartbeat is
   * toggling. A failing or hung ADC keeps the loop running (fault 'pilot', the contactor opens):
   * that is a fault to report, not a reason to restart.
   */
  health(): HealthResult {
    const limit = Math.max(1000, 50 * this.cfg.pilotSense.samplePeriodMs);
    const age = this.pilot.samplerAgeMs();
    if (!(age <= limit)) return { ok: false, reason: Number.isFinite(age) ? `pilot sampler silent for ${Math.round(age)} ms` : 'pilot sampler not running' };
    if (this.heartbeat && !this.heartbeat.running()) return { ok: false, reason: 'interlock heartbeat stopped' };
    return { ok: true };
  }

  /** CP interruption relay (wake-up): true = CP disconnected from the EV. No-op when not wired. */
  setCpDisconnected(disconnected: boolean): boolean {
    if (!this.cpRelayLine) return false;
    this.cpRelayLine.write(disconnected ? 1 : 0);
    return true;
  }

  hasCpRelay(): boolean {
    return this.cpRelayLine !== undefined;
  }

  /** Raise or clear a fault that software detected (e.g. 'stall' from the stall detector). */
  reportFault(kind: FaultKind, active: boolean): void {
    this.faults.update(kind, active);
  }

  /** A technician cleared a welded contactor. false if the feedback still shows it welded. */
  clearWeld(): boolean {
    return this.contactor.clearWeld();
  }

  /**
   * RCD self-test (contactor must be open). The module's fault output is expected to assert during
   * the test, so 'rcd' is not reported for it; a failed test raises 'rcd' until a test passes.
   */
  async runRcdSelfTest(): Promise<RcdTestResult> {
    const fault = this.rcdFault;
    const test = this.rcdTestLine;
    if (!fault || !test) return { ok: false, reason: 'gpio.rcdTest and gpio.rcdFault are not both wired' };
    if (this.contactor.commanded()) return { ok: false, reason: 'refused: the contactor is closed' };
    this.selfTesting = true;
    let result: RcdTestResult;
    try {
      result = await runRcdSelfTest(
        {
          setTest: (on) => test.write(on ? 1 : 0),
          faultActive: () => fault.active(),
          onFault: (l) => {
            let on = true;
            fault.onChange((a) => on && l(a));
            return () => void (on = false);
          },
        },
        this.clock,
        { testMs: this.cfg.rcdSelfTest.testMs, clearMs: this.cfg.rcdSelfTest.clearMs },
      );
    } finally {
      this.selfTesting = false;
    }
    this.rcdSelfTestFailed = !result.ok;
    if (result.ok) this.log.info({ tripMs: result.tripMs, clearMs: result.clearMs }, 'RCD self-test passed');
    else this.log.error({ reason: result.reason }, 'RCD self-test failed');
    this.faults.update('rcd', this.rcdSelfTestFailed || fault.active());
    return result;
  }

  /** Called by the RCD input: trips are reported except during a self-test. */
  rcdInput(active: boolean): void {
    if (this.selfTesting) return;
    this.faults.update('rcd', active || this.rcdSelfTestFailed);
  }

  setRcdLines(fault: DebouncedInput, test: GpioLine | undefined): void {
    this.rcdFault = fault;
    this.rcdTestLine = test;
  }

  setCpRelay(line: GpioLine): void {
    this.cpRelayLine = line;
  }

  /** Outputs safe, then release everything. Idempotent: a second call does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.safe();
    this.closed = true;
    this.pilot.stop();
    this.heartbeat?.stop();
    this.contactor.close();
    for (const i of this.inputs.values()) i.close();
    this.gpio.close();
  }
}

/**
 * Entry point of the Raspberry Pi driver. Order matters: every output is driven to its safe
 * level before anything else can fail, then PWM at X1, then inputs, then pilot sensing.
 */
export async function createGpioHardware(cfg: GpioHardwareConfig, ctx: GpioHardwareContext): Promise<GpioHardware> {
  const log = ctx.log.child({ connector: ctx.connectorId, driver: 'gpio' });
  const clock = ctx.clock ?? new SystemClock('always');
  const g = cfg.gpio;
  const low = (s: GpioSignal) => g.activeLow.includes(s);
  // Outputs need no onoff: the edge source (onoff's epoll) is loaded after they are safe.
  let edges = ctx.edges;
  const edgeSource: EdgeSource = (n, p, cb) => {
    if (!edges) throw new Error('edge source not loaded');
    return edges(n, p, cb);
  };
  const gpio = new SysfsGpio({ root: cfg.root, edges: edgeSource });
  log.info({ chip: gpio.chip.label, base: gpio.chip.base }, 'GPIO header chip');
  if (cfg.benchWithoutMains) log.warn('hardware.benchWithoutMains: BENCH WITHOUT MAINS, the interlock, the contactor feedback and the 100 ms budget are not required. Never connect mains like this.');

  // 1. Outputs at their safe level.
  const contactorLine = await gpio.output('gpio.contactor', g.contactor, { activeLow: low('contactor'), safe: 0 });
  const outputs = new Map<string, GpioLine>([['contactor', contactorLine]]);
  const out = async (key: GpioSignal, bcm: number | undefined) => {
    if (bcm === undefined) return undefined;
    const line = await gpio.output(`gpio.${key}`, bcm, { activeLow: low(key), safe: 0 });
    outputs.set(key, line);
    return line;
  };
  const cpRelay = await out('cpRelay', g.cpRelay);
  const motorA = await out('lock.motorA', g.lock?.motorA);
  const motorB = await out('lock.motorB', g.lock?.motorB);
  const rcdTest = await out('rcdTest', g.rcdTest);
  const heartbeatLine = await out('heartbeat', g.heartbeat);
  // The phase relay stays where it was saved (its "safe" level is wherever the contactor is open).
  const pr = cfg.phaseRelay;
  const phaseInitial: RelayPhases = ctx.phaseRelayInitial ?? 3;
  const phaseLine = pr ? await gpio.output('phaseRelay.pin', pr.pin, { activeLow: pr.activeLow, safe: phaseRelayLevel(pr, phaseInitial) }) : undefined;
  if (phaseLine) outputs.set('phaseRelay', phaseLine);

  // 2. Pilot at X1 (steady +12 V). Never disabled afterwards: disabled = -12 V = state F.
  const pwm = await SysfsPwm.open(findPwmChannel(cfg.root, cfg.pwm.pin, cfg.pwm.chip, cfg.pwm.channel));

  // 3. Inputs (edge interrupts).
  // onoff's epoll works only on the kernel's own /sys; a bench's tree elsewhere is polled.
  edges ??= cfg.root === '/' ? await onoffEdges() : pollingEdges();
  const inputs = new Map<string, DebouncedInput>();
  // `alarm`: the level whose chatter must never hide (DebouncedInput): a tripped fault, a closed
  // contact, a released lock.
  const input = async (key: GpioSignal, bcm: number | undefined, alarm: 0 | 1 = 1) => {
    if (bcm === undefined) return undefined;
    const line = await gpio.input(`gpio.${key}`, bcm, { activeLow: low(key) });
    const d = new DebouncedInput(line, clock, g.debounceMs, alarm);
    inputs.set(key, d);
    return d;
  };
  const feedback = await input('contactorFeedback', g.contactorFeedback);
  const rcdFault = await input('rcdFault', g.rcdFault);
  const lockFb = await input('lock.feedback', g.lock?.feedback, 0);

  // 4. Pilot sensing.
  if (cfg.pilotSense.mode !== 'adc') throw new Error('unsupported pilotSense.mode');
  const sense = cfg.pilotSense;
  const adc = ctx.adc ?? IioAdc.open(cfg.root, sense.iioName, sense.highChannel, sense.lowChannel);
  const pilot = new AdcPilot(pwm, adc, sense, clock, log, cpRelay, ctx.syncAdcReads === true);

  let hw!: GpioHardware;
  const contactor = new GpioContactor(contactorLine, feedback, clock, cfg.contactorCheck, (v) => {
    hw?.faults.update('welded', v.welded);
    hw?.faults.update('contactor', v.failedToClose);
    if (v.welded) log.error('contactor welded: feedback still closed after opening; cleared only by a technician');
  });
  hw = new GpioHardware(cfg, gpio, pwm, pilot, contactor, clock, log);
  for (const [k, v] of outputs) hw.outputs.set(k, v);
  for (const [k, v] of inputs) hw.inputs.set(k, v);
  if (motorA && motorB && g.lock) hw.lock = new GpioCableLock(motorA, motorB, lockFb, clock, g.lock.motorMs);
  if (cpRelay) hw.setCpRelay(cpRelay);
  if (pr && phaseLine) hw.phaseRelay = new GpioPhaseRelay(phaseLine, pr, phaseInitial, cpRelay !== undefined);
  if (rcdFault) {
    hw.setRcdLines(rcdFault, rcdTest);
    if (rcdTest) hw.rcdSelfTest = () => hw.runRcdSelfTest();
    rcdFault.onChange((a) => hw.rcdInput(a));
    hw.rcdInput(rcdFault.active());
  }
  pilot.onUnreadable((a) => hw.faults.update('pilot', a));

  if (heartbeatLine) {
    // No good sample for a period and a read: stop the heartbeat, and the interlock drops the coil
    // interlockMs later (the "slow or hung reads" path of pilotOpenBudget in config/gpio.ts).
    const staleMs = sense.samplePeriodMs + sense.readTimeoutMs;
    hw.heartbeat = new HeartbeatOutput(heartbeatLine, {
      halfPeriodMs: cfg.heartbeatMs,
      healthy: () => pilot.sampleAgeMs() < staleMs,
      now: () => clock.monoMs(),
      missAfterMs: interlockToleranceMs(cfg),
      contactorClosed: () => contactor.commanded(),
      onMissed: (gapMs) => {
        // The interlock may have dropped the contactor; the next edge would close it again under
        // load. Open it in software first and latch 'stall' (the state machine keeps it open).
        hw.safe();
        log.error({ gapMs: Math.round(gapMs), sampleAgeMs: Math.round(pilot.sampleAgeMs()), samplerAgeMs: Math.round(pilot.samplerAgeMs()) }, 'heartbeat missed with the contactor closed: outputs driven safe, fault stall');
        hw.reportFault('stall', true);
        hw.reportFault('stall', false);
      },
    });
  } else {
    log.warn('gpio.heartbeat is not configured (hardware.benchWithoutMains): no hardware interlock; a stalled or dead daemon cannot open the contactor. Never connect mains like this.');
  }

  if (ctx.autoStart !== false) {
    pilot.start();
    hw.heartbeat?.start();
    if (rcdTest && rcdFault && cfg.rcdSelfTest.atStartup) await hw.runRcdSelfTest();
  }
  return hw;
}
