import type { LightPattern, Sound } from '../../domain/signals.js';

export { LIGHT_COLORS, LIGHT_MODES, LIGHT_OFF, SOUNDS, SOUND_STEPS, samePattern } from '../../domain/signals.js';
export type { LightColor, LightMode, LightPattern, Sound } from '../../domain/signals.js';

/**
 * The status light and buzzer at the station (issue 16). The drivers only render a pattern: a
 * GPIO LED (one LED or RGB) blinked in software on the Clock, or the simulator, whose current
 * pattern shows in GET /api/status and on the dashboard.
 */
export interface StatusLight {
  readonly driver: 'gpio' | 'sim' | 'none';
  /** Show `pattern` from now on (the same pattern again keeps its rhythm). */
  show(pattern: LightPattern): void;
  current(): LightPattern;
  /** Dark and released. */
  close(): void;
}

export interface Buzzer {
  readonly driver: 'gpio' | 'sim' | 'none';
  /** Play `sound` (cuts a sound still playing short). */
  play(sound: Sound): void;
  /** The last sound played and when (monotonic ms); null before the first. */
  last(): { sound: Sound; monoMs: number } | null;
  close(): void;
}
