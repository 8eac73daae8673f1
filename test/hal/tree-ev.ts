import { existsSync } from 'node:fs';
import type { FakeSysfs } from './fake-sysfs.js';

const S = (bcm: number) => 512 + bcm; // fake Pi 4 with kernel 6.6

/** The pins of gpioStationYaml / gpioConfig. */
export const TREE_PINS = { contactor: S(17), feedback: S(27), rcd: S(22), rcdTest: S(23), lockA: S(5), lockB: S(6), lockFb: S(13) };

export type PwmMode = 'x1' | 'pwm' | 'f' | 'off';

/**
 * A simulated EV and the board's physical parts on a fake sysfs tree, in real time, for a daemon
 * that runs the real gpio driver (in this process or in a child `evsed run`): every `periodMs` it
 * reads what the driver drives (PWM, contactor, lock motor) and writes what the sense circuit and
 * the inputs would see (pilot levels, the contactor's aux contact, the lock's feedback, an idle RCD
 * module). `timeline` records every change it saw, with performance.now(), so a test can prove
 * the order of events at the pins.
 */
export class TreeEv {
  /** The EV: A unplugged, B plugged, C asking for energy, E CP shorted to PE. */
  state: 'A' | 'B' | 'C' | 'E' = 'A';
  /** In C, the EV goes to B this long after the offer is withdrawn (X1); null: it keeps drawing. */
  x1ReactionMs: number | null = 300;
  welded = false;
  lockJammed = false;
  readonly timeline: { t: number; what: string }[] = [];
  mode: PwmMode = 'off';
  contactor: '0' | '1' = '0';
  private x1Since: number | undefined;
  private levels = '';
  private timer?: NodeJS.Timeout;

  constructor(private readonly tree: FakeSysfs) {}

  start(periodMs = 1): this {
    this.timer = setInterval(() => this.step(), periodMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** When `what` was first seen at or after `from` (ms, performance.now()), or undefined. */
  at(what: string, from = -Infinity): number | undefined {
    return this.timeline.find((e) => e.what === what && e.t >= from)?.t;
  }

  private note(what: string): void {
    this.timeline.push({ t: performance.now(), what });
  }

  private wired(sysfs: number): boolean {
    return existsSync(this.tree.gpioDir(sysfs));
  }

  private step(): void {
    const now = performance.now();
    let mode: PwmMode = 'off';
    try {
      const enable = this.tree.pwmAttr(0, 0, 'enable');
      const duty = this.tree.pwmAttr(0, 0, 'duty_cycle');
      const period = this.tree.pwmAttr(0, 0, 'period');
      if (enable === '1' && duty !== '' && period !== '') mode = duty === period ? 'x1' : duty === '0' ? 'f' : 'pwm';
    } catch {
      return; // not exported yet
    }
    if (mode !== this.mode) {
      this.mode = mode;
      this.note(mode);
    }
    if (this.state === 'C' && mode === 'x1' && this.x1ReactionMs !== null) {
      this.x1Since ??= now;
      if (now - this.x1Since >= this.x1ReactionMs) {
        this.state = 'B'; // the EV opens S2
        this.note('ev B');
      }
    } else {
      this.x1Since = undefined;
    }
    this.setLevels(mode);

    const p = TREE_PINS;
    if (this.wired(p.contactor)) {
      const c = this.tree.value(p.contactor) as '0' | '1';
      if (c !== this.contactor) {
        this.contactor = c;
        this.note(`contactor ${c}`);
      }
    }
    if (this.wired(p.feedback)) {
      const want = this.welded ? '1' : this.contactor;
      if (this.tree.value(p.feedback) !== want) this.tree.setInput(p.feedback, want === '1' ? 1 : 0);
    }
    if (this.wired(p.rcd)) {
      // The RDC-DD module (fault output active low) trips while its test input is driven, else idles.
      const want = this.wired(p.rcdTest) && this.tree.value(p.rcdTest) === '1' ? '0' : '1';
      if (this.tree.value(p.rcd) !== want) this.tree.setInput(p.rcd, want === '1' ? 1 : 0);
    }
    if (this.wired(p.lockA) && this.wired(p.lockB) && this.wired(p.lockFb) && !this.lockJammed) {
      const fb = this.tree.value(p.lockFb);
      if (this.tree.value(p.lockA) === '1' && fb !== '1') this.tree.setInput(p.lockFb, 1);
      if (this.tree.value(p.lockB) === '1' && fb !== '0') this.tree.setInput(p.lockFb, 0);
    }
  }

  /** Pilot levels as the sense circuit sees them; written only when they change (a reader never meets a half-written file more than needed). */
  private setLevels(mode: PwmMode): void {
    let high: number;
    let low: number;
    if (this.state === 'E') [high, low] = [0, 0];
    else if (mode === 'f') [high, low] = [-12, -12];
    else {
      high = { A: 12, B: 9, C: 6 }[this.state];
      low = mode === 'pwm' ? -12 : 0;
    }
    const key = `${high}/${low}`;
    if (key === this.levels) return;
    this.levels = key;
    this.tree.setPilot(high, low);
  }
}
