import type { Clock } from '../clock.js';
import { LIGHT_OFF, SOUND_STEPS, samePattern, type LightColor, type LightPattern, type Sound } from '../../domain/signals.js';

type Timers = Pick<Clock, 'setTimeout' | 'monoMs'>;

/**
 * Renders a light pattern as a sequence of levels on a clock: `render(color)` lights the LED in
 * that colour, `render(null)` darkens it. Blinking in software is fine for a status light: a late
 * timer only makes a blink a little longer.
 */
export class PatternPlayer {
  private pattern: LightPattern = LIGHT_OFF;
  private timer?: { cancel(): void };
  private started = false;

  constructor(private readonly clock: Timers, private readonly render: (color: LightColor | null) => void) {}

  show(p: LightPattern): void {
    if (this.started && samePattern(p, this.pattern)) return;
    this.started = true;
    this.pattern = p;
    this.timer?.cancel();
    this.timer = undefined;
    if (p.mode === 'off') return this.render(null);
    if (p.mode === 'on') return this.render(p.color);
    const onMs = p.mode === 'blink' ? Math.round(p.periodMs / 2) : Math.max(50, Math.round(p.periodMs / 8));
    const cycle = () => {
      this.render(p.color);
      this.timer = this.clock.setTimeout(() => {
        this.render(null);
        this.timer = this.clock.setTimeout(cycle, Math.max(1, p.periodMs - onMs));
      }, onMs);
    };
    cycle();
  }

  current(): LightPattern {
    return this.pattern;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.pattern = LIGHT_OFF;
    this.render(null);
  }
}

/** Plays a sound's tones (SOUND_STEPS) on a clock: `render(true)` sounds the buzzer. */
export class SoundPlayer {
  private timer?: { cancel(): void };
  private lastSound: { sound: Sound; monoMs: number } | null = null;

  constructor(private readonly clock: Timers, private readonly render: (on: boolean) => void) {}

  play(sound: Sound): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.render(false);
    if (sound === 'none') return;
    this.lastSound = { sound, monoMs: this.clock.monoMs() };
    const steps = SOUND_STEPS[sound];
    const step = (i: number) => {
      if (i >= steps.length) {
        this.render(false);
        this.timer = undefined;
        return;
      }
      this.render(i % 2 === 0);
      this.timer = this.clock.setTimeout(() => step(i + 1), steps[i]!);
    };
    step(0);
  }

  last(): { sound: Sound; monoMs: number } | null {
    return this.lastSound;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.render(false);
  }
}
