import type { Clock } from '../clock.js';
import { SoundPlayer } from './blinker.js';
import { LIGHT_OFF, type LightPattern, type Sound } from '../../domain/signals.js';
import type { Buzzer, StatusLight } from './types.js';

/** The simulator's light: it only remembers the pattern (shown in GET /api/status and on the dashboard). */
export class SimLight implements StatusLight {
  readonly driver: 'sim' | 'none';
  private pattern: LightPattern = LIGHT_OFF;

  constructor(driver: 'sim' | 'none' = 'sim') {
    this.driver = driver;
  }

  show(pattern: LightPattern): void {
    this.pattern = pattern;
  }

  current(): LightPattern {
    return this.pattern;
  }

  close(): void {
    this.pattern = LIGHT_OFF;
  }
}

/** The simulator's buzzer: the last sound and whether it is still sounding. */
export class SimBuzzer implements Buzzer {
  readonly driver: 'sim' | 'none';
  private readonly player: SoundPlayer;
  /** true while a tone of the sound is on. */
  sounding = false;

  constructor(clock: Pick<Clock, 'setTimeout' | 'monoMs'>, driver: 'sim' | 'none' = 'sim') {
    this.driver = driver;
    this.player = new SoundPlayer(clock, (on) => (this.sounding = on));
  }

  play(sound: Sound): void {
    this.player.play(sound);
  }

  last(): { sound: Sound; monoMs: number } | null {
    return this.player.last();
  }

  close(): void {
    this.player.stop();
  }
}
