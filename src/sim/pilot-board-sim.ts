import type { Clock } from '../hal/clock.js';
import { realTimeClock } from '../hal/clock.js';
import type { PilotOutput } from '../hal/types.js';
import type { SimEvConfig } from '../config/sim.js';
import { dutyForCurrent } from '../domain/pwm.js';
import { SimEv } from './ev.js';
import type { RtuException, RtuUnit } from './modbus-rtu-slave.js';

/**
 * A simulated EVSE DIN / EVSE WB board (hardware/pilot-boards/evse-din.json) with a simulated EV
 * on its cable, as a Modbus RTU unit (serve it with RtuSlaveLine). Its "firmware" does what the
 * real board does on its own: PWM while enabled with 6 A or more configured, the relay closed
 * only with PWM running and the EV in C (D only with configBits bit 3), the diode check while
 * PWM runs, and the RCD input; a failure opens the relay, stops the PWM and holds until the EV is
 * unplugged (an RCD error also until the input clears, or commands bit 2). Register addresses are
 * written out here from the register table, not taken from the map file the driver reads.
 *
 * The physical world outlives the master: when evsed stops or restarts, the board and the EV keep
 * their state (and, as the real board has no Modbus watchdog, the board keeps charging).
 */

const VEHICLE = { A: 1, B: 2, C: 3, D: 4, failure: 5 } as const;
const BOARD_STATE = { steady12v: 1, pwm: 2, off: 3 } as const;
/** configBits (2005) */
const CFG = { chargeInStateD: 1 << 3, highResolution: 1 << 7, disableAfterCharge: 1 << 13, disabled: 1 << 14 } as const;
/** statusBits (1007) */
const ST = { relayOn: 1 << 0, diodeCheckFail: 1 << 1, ventilationRequiredFail: 1 << 2, waitingForPilotRelease: 1 << 3, rcdTestInProgress: 1 << 4, rcdCheckError: 1 << 5 } as const;
/** commands (1004) */
const CMD = { turnOff: 1 << 0, rcdTest: 1 << 1, clearRcdError: 1 << 2 } as const;

type BoardError = 'diode' | 'rcd' | 'ventilation';

export interface PilotBoardSimOptions {
  ev?: Partial<SimEvConfig>;
  /** Register 2000 (A). */
  currentAfterBootA?: number;
  /** Register 2005. */
  configBits?: number;
  /** Register 1005. */
  firmware?: number;
  /** Register 1003 (A). */
  cableLimitA?: number;
  clock?: Pick<Clock, 'setTimeout'>;
}

export class PilotBoardSim implements RtuUnit {
  readonly ev: SimEv;
  /** false: the board does not answer on the line (cable cut, board unpowered for the bus); its firmware runs on. */
  answering = true;
  /** A relay driver stage that stays on once on, whatever the firmware wants (and reports it on). */
  relayStuck = false;
  /** The RCD module's fault input. */
  private rcdInput = false;
  private configured: number;
  private turnOff = false;
  private error: BoardError | null = null;
  private readonly config: number[];
  private relay = false;
  private pwmAmps = 0;
  readonly firmware: number;
  readonly cableLimitA: number;
  /** Every relay change with its monotonic time. */
  readonly relayLog: { on: boolean; monoMs: number }[] = [];
  /** Every write the board accepted: address and words. */
  readonly writes: { address: number; words: number[] }[] = [];

  constructor(o: PilotBoardSimOptions = {}) {
    this.ev = new SimEv({ maxCurrentA: 16, phases: 3, voltageV: 230, ...o.ev }, o.clock ?? realTimeClock);
    this.config = new Array<number>(18).fill(0);
    this.config[0] = o.currentAfterBootA ?? 0; // 2000
    this.config[1] = 1; // 2001 Modbus on
    this.config[2] = 6; // 2002 minimum current
    this.config[5] = o.configBits ?? 0; // 2005
    this.config[7] = 32; // 2007
    this.config[9] = 3; // 2009 bootloader
    [6, 10, 16, 25, 32, 48, 63, 80].forEach((a, i) => (this.config[10 + i] = a)); // 2010..2017
    this.firmware = o.firmware ?? 18;
    this.cableLimitA = o.cableLimitA ?? 32;
    this.configured = this.bootCurrent();
    this.ev.on('pilot', () => this.evaluate());
    this.evaluate();
  }

  /** The board's relay is closed now. */
  relayOn(): boolean {
    return this.relay;
  }

  /** The current the board offers by PWM now (A), 0 without PWM. */
  offeredA(): number {
    return this.pwmAmps;
  }

  /** The RCD module trips (true) or resets (false). */
  setRcd(tripped: boolean): void {
    this.rcdInput = tripped;
    this.evaluate();
  }

  /** The EV's diode goes missing (true) or is back (false); the board notices while it generates PWM. */
  setDiodeFault(missing: boolean): void {
    this.ev.diodeFault = missing;
    this.evaluate();
  }

  /** The board restarts (a supply dip): runtime registers back to their boot values, the EV stays. */
  reboot(): void {
    this.configured = this.bootCurrent();
    this.turnOff = false;
    this.error = null;
    this.evaluate();
  }

  private highResolution(): boolean {
    return (this.config[5]! & CFG.highResolution) !== 0;
  }

  private bootCurrent(): number {
    return this.config[0]! * (this.highResolution() ? 100 : 1);
  }

  private enabled(): boolean {
    return !this.turnOff && (this.config[5]! & CFG.disabled) === 0;
  }

  private configuredA(): number {
    return this.highResolution() ? this.configured / 100 : this.configured;
  }

  /** The firmware's loop: errors, PWM, relay. */
  private evaluate(): void {
    const ev = this.ev;
    const state = ev.pilotState();
    if (!ev.plugged && this.error && this.error !== 'rcd') this.error = null; // pilot released
    if (this.error === 'rcd' && !this.rcdInput && !ev.plugged) this.error = null;
    if (this.rcdInput) this.error = 'rcd';
    const pwm = this.error === null && this.enabled() && this.configuredA() >= 6;
    if (pwm && ev.plugged && ev.diodeFault) this.error = 'diode';
    if (pwm && state === 'D' && (this.config[5]! & CFG.chargeInStateD) === 0) this.error = 'ventilation';
    const offering = pwm && this.error === null;
    this.pwmAmps = offering ? this.configuredA() : 0;
    const output: PilotOutput = offering ? { mode: 'pwm', dutyPermille: dutyForCurrent(this.pwmAmps) } : { mode: 'x1' };
    const relay = (offering && (state === 'C' || state === 'D')) || (this.relayStuck && this.relay);
    if (relay !== this.relay) {
      this.relay = relay;
      this.relayLog.push({ on: relay, monoMs: performance.now() });
      ev.setContactor(relay);
    }
    ev.setPilotOutput(output);
  }

  private vehicleState(): number {
    if (this.error) return VEHICLE.failure;
    const s = this.ev.pilotState();
    return s === 'A' || s === 'B' || s === 'C' || s === 'D' ? VEHICLE[s] : VEHICLE.failure;
  }

  private register(address: number): number | undefined {
    switch (address) {
      case 1000: return this.configured;
      case 1001: return this.highResolution() ? Math.round(this.pwmAmps * 100) : Math.floor(this.pwmAmps);
      case 1002: return this.vehicleState();
      case 1003: return this.cableLimitA;
      case 1004: return this.turnOff ? CMD.turnOff : 0;
      case 1005: return this.firmware;
      case 1006: return !this.enabled() ? BOARD_STATE.off : this.pwmAmps > 0 ? BOARD_STATE.pwm : BOARD_STATE.steady12v;
      case 1007: return (this.relay ? ST.relayOn : 0)
        | (this.error === 'diode' ? ST.diodeCheckFail : 0)
        | (this.error === 'ventilation' ? ST.ventilationRequiredFail : 0)
        | (this.error !== null ? ST.waitingForPilotRelease : 0)
        | (this.error === 'rcd' ? ST.rcdCheckError : 0);
      case 1008:
      case 1009: return 0;
    }
    if (address >= 2000 && address <= 2017) return this.config[address - 2000];
    return undefined;
  }

  read(fc: 3 | 4, address: number, count: number): number[] | RtuException | undefined {
    if (!this.answering) return undefined;
    if (fc !== 3) return { exception: 1 };
    const out: number[] = [];
    for (let a = address; a < address + count; a++) {
      const v = this.register(a);
      if (v === undefined) return { exception: 2 };
      out.push(v);
    }
    return out;
  }

  write(address: number, words: number[]): RtuException | 'ok' | undefined {
    if (!this.answering) return undefined;
    for (let i = 0; i < words.length; i++) {
      const a = address + i;
      if (a !== 1000 && a !== 1004 && !(a >= 2000 && a <= 2017)) return { exception: 2 };
    }
    this.writes.push({ address, words: [...words] });
    words.forEach((w, i) => {
      const a = address + i;
      if (a === 1000) this.configured = w;
      else if (a === 1004) {
        this.turnOff = (w & CMD.turnOff) !== 0;
        if ((w & CMD.clearRcdError) !== 0 && this.error === 'rcd' && !this.rcdInput) this.error = null;
      } else this.config[a - 2000] = w;
    });
    this.evaluate();
    return 'ok';
  }

  dispose(): void {
    this.ev.dispose();
  }
}
