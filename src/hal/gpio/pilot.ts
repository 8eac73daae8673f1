import type { Clock } from '../clock.js';
import { DIGITAL_COMMUNICATION_PERMILLE, type ControlPilot, type PilotOutput, type PilotReading, type PilotState } from '../types.js';
import type { Logger } from '../../log.js';
import type { AdcSenseConfig } from '../../config/gpio.js';
import type { PilotAdc } from './adc.js';
import type { SysfsPwm } from './pwm.js';
import type { GpioLine } from './sysfs-gpio.js';
import { PilotDebouncer, classifyWithHysteresis } from './pilot-classifier.js';

/** Consecutive failed ADC reads before the pilot is reported unreadable (fault 'pilot'); config's pilotOpenBudget counts on it. */
export const MAX_READ_FAILURES = 3;
/** An asynchronous read (main thread only) not answered after this many sample periods is hung. */
const ASYNC_READ_TIMEOUT_PERIODS = 6;

/** A blocking read that returned, but later than readTimeoutMs: its sample is discarded and counts as a failed read. */
class SlowRead extends Error {
  constructor(ms: number, tookMs: number) {
    super(`pilot ADC read took ${tookMs} ms, more than pilotSense.readTimeoutMs (${ms} ms)`);
  }
}

class AdcTimeout extends Error {
  constructor(ms: number) {
    super(`pilot ADC read did not answer within ${ms} ms`);
  }
}

/**
 * The control pilot: drives the PWM and samples the sense ADC every `samplePeriodMs`.
 * It reports readings; it decides nothing about the contactor.
 */
export class AdcPilot implements ControlPilot {
  private output: PilotOutput = { mode: 'x1' };
  private outputAt = 0;
  private readonly debouncer: PilotDebouncer;
  private rawState: PilotState = 'A';
  private lastDiodeOk = true;
  private readonly listeners: ((r: PilotReading) => void)[] = [];
  private readonly faultListeners: ((active: boolean) => void)[] = [];
  private failures = 0;
  private unreadable = false;
  private timer?: { cancel(): void };
  private running = false;
  private lastSampleMono = -Infinity;
  /** When the sampler loop last completed an iteration (good read or not). */
  private lastLoopMono = -Infinity;
  /** A read that timed out and has not returned yet: no new read is started beside it. */
  private hungRead?: Promise<unknown>;
  /** Last measured pilot levels, volts at the CP line. */
  levels = { highV: NaN, lowV: NaN };

  constructor(
    private readonly pwm: SysfsPwm,
    private readonly adc: PilotAdc,
    private readonly cfg: AdcSenseConfig,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** gpio.cpRelay when wired: opened for a CP interruption (`{ mode: 'f', cpInterrupt: true }`). */
    private readonly cpRelay?: GpioLine,
    /** Blocking reads (the safety core's own thread): no libuv pool, a hung read stops the heartbeat too. */
    private readonly syncReads = false,
  ) {
    this.debouncer = new PilotDebouncer({ debounceMs: cfg.debounceMs, fastDebounceMs: cfg.fastDebounceMs });
  }

  setOutput(o: PilotOutput): void {
    switch (o.mode) {
      case 'x1':
        this.pwm.x1();
        break;
      case 'f':
        this.pwm.f();
        break;
      case 'digital':
        this.pwm.permille(DIGITAL_COMMUNICATION_PERMILLE);
        break;
      case 'pwm':
        if (!(o.dutyPermille >= 80 && o.dutyPermille <= 970)) {
          throw new RangeError(`pilot duty must be 80..970 per mille (got ${o.dutyPermille}); use x1 for no offer, digital for 5 %`);
        }
        this.pwm.permille(o.dutyPermille);
        break;
    }
    // The CP relay sits between the sense node and the EV (hardware/README.md): opened only for a CP
    // interruption, after the pilot level is set (the sense then reads our own -12 V, state F);
    // closed again by any other output, after its level is on the line.
    this.cpRelay?.write(o.mode === 'f' && o.cpInterrupt === true ? 1 : 0);
    if (o.mode !== this.output.mode) {
      this.outputAt = this.clock.monoMs();
      this.debouncer.invalidateDiodeCheck();
    }
    this.output = o;
  }

  currentOutput(): PilotOutput {
    return this.output;
  }

  read(): PilotReading {
    return this.debouncer.current();
  }

  onChange(listener: (reading: PilotReading) => void): void {
    this.listeners.push(listener);
  }

  /** `true` when the ADC stopped answering, `false` when it answers again. */
  onUnreadable(listener: (active: boolean) => void): void {
    this.faultListeners.push(listener);
  }

  /** Milliseconds since the last good sample (the heartbeat stops when sensing stops). */
  sampleAgeMs(): number {
    return this.clock.monoMs() - this.lastSampleMono;
  }

  /**
   * Milliseconds since the sampler loop last completed an iteration, whatever the ADC answered
   * (Infinity when it is not running): the loop's liveness, for the watchdog.
   */
  samplerAgeMs(): number {
    return this.running ? this.clock.monoMs() - this.lastLoopMono : Infinity;
  }

  start(): void {
    if (this.running) return;
    this.lastLoopMono = this.clock.monoMs();
    this.running = true;
    const loop = async () => {
      const began = this.clock.monoMs();
      await this.sample();
      this.lastLoopMono = this.clock.monoMs();
      if (!this.running) return;
      const wait = Math.max(0, this.cfg.samplePeriodMs - (this.clock.monoMs() - began));
      this.timer = this.clock.setTimeout(() => void loop(), wait);
    };
    void loop();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
  }

  /** One measurement: both levels, classification, diode check, debounce. */
  async sample(): Promise<void> {
    if (this.hungRead) return this.readFailed(new Error('pilot ADC: a timed-out read has still not returned'), true);
    let v: { highV: number; lowV: number };
    try {
      v = this.syncReads && this.adc.readSync ? this.readBlocking(this.adc.readSync.bind(this.adc)) : await this.readWithTimeout();
    } catch (err) {
      return this.readFailed(err, err instanceof AdcTimeout);
    }
    this.failures = 0;
    if (this.unreadable) {
      this.unreadable = false;
      this.log.info('pilot ADC readable again');
      for (const l of this.faultListeners) l(false);
    }
    const now = this.clock.monoMs();
    this.lastSampleMono = now;
    this.classify(v, now);
  }

  /**
   * A blocking read that took longer than readTimeoutMs: its sample may be stale, so it is dropped
   * and counts as a failed read. Meanwhile the heartbeat stops once no good sample is fresh
   * (index.ts), so a run of slow reads ends at the interlock within the budget (pilotOpenBudget).
   */
  private readBlocking(read: () => { highV: number; lowV: number }): { highV: number; lowV: number } {
    const began = this.clock.monoMs();
    const v = read();
    const took = this.clock.monoMs() - began;
    if (took > this.cfg.readTimeoutMs) throw new SlowRead(this.cfg.readTimeoutMs, Math.round(took));
    return v;
  }

  /**
   * The ADC read through the libuv pool (the driver on the main thread: tests, hw test), where a
   * read may queue behind other work: hung only after ASYNC_READ_TIMEOUT_PERIODS sample periods
   * (or readTimeoutMs if longer). The safety core's thread reads blocking (readBlocking).
   */
  private readWithTimeout(): Promise<{ highV: number; lowV: number }> {
    const ms = Math.max(this.cfg.readTimeoutMs, ASYNC_READ_TIMEOUT_PERIODS * this.cfg.samplePeriodMs);
    const read = this.adc.read();
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const timer = this.clock.setTimeout(() => {
        timedOut = true;
        const hung: Promise<unknown> = read.then(
          () => undefined,
          () => undefined,
        ).finally(() => {
          if (this.hungRead === hung) this.hungRead = undefined;
        });
        this.hungRead = hung;
        reject(new AdcTimeout(ms));
      }, ms);
      read.then(
        (v) => {
          if (timedOut) return;
          timer.cancel();
          resolve(v);
        },
        (err: unknown) => {
          if (timedOut) return;
          timer.cancel();
          reject(err);
        },
      );
    });
  }

  /** A failed read: 'pilot' after MAX_READ_FAILURES in a row, or at once when the read hung. */
  private readFailed(err: unknown, hung: boolean): void {
    this.failures++;
    if ((hung || this.failures >= MAX_READ_FAILURES) && !this.unreadable) {
      this.unreadable = true;
      this.log.error({ err }, hung ? 'pilot ADC read hung: pilot unreadable' : 'pilot ADC unreadable');
      for (const l of this.faultListeners) l(true);
    }
  }

  private classify(v: { highV: number; lowV: number }, now: number): void {
    const c = this.cfg;
    const highV = v.highV * c.highGain + c.highOffsetV;
    const lowV = v.lowV * c.lowGain + c.lowOffsetV;
    this.levels = { highV, lowV };
    this.rawState = classifyWithHysteresis(highV, this.rawState, c.thresholdsV, c.hysteresisV);
    const state = this.rawState;
    // The negative half only exists while PWM runs; the negative-peak detector needs a few periods
    // to charge after the output changes. Otherwise keep the last verdict (reset on unplug).
    // Only such a measured verdict counts as checked (PilotReading.diodeChecked).
    const settled = now - this.outputAt >= 2 * c.samplePeriodMs;
    let diodeChecked = false;
    if (state === 'A') this.lastDiodeOk = true;
    else if ((this.output.mode === 'pwm' || this.output.mode === 'digital') && settled && (state === 'B' || state === 'C' || state === 'D')) {
      this.lastDiodeOk = lowV <= c.thresholdsV.diode;
      diodeChecked = true;
    }
    const changed = this.debouncer.feed({ state, diodeOk: this.lastDiodeOk, diodeChecked }, now);
    if (changed) for (const l of this.listeners) l(changed);
  }
}
