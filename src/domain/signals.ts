/**
 * The words of the status light and buzzer (issue 16): patterns and sounds are data (config
 * `signals:`), rendered by the HAL drivers (src/hal/signals) and chosen by src/panel/signals.ts.
 */

/** Colours an RGB LED mixes from its three channels; a single LED shows every colour as on. */
export const LIGHT_COLORS = ['red', 'green', 'blue', 'yellow', 'cyan', 'magenta', 'white'] as const;
export type LightColor = (typeof LIGHT_COLORS)[number];

/** off; on (steady); blink (half the period on, half off); pulse (a short flash, an eighth of the period, once per period). */
export const LIGHT_MODES = ['off', 'on', 'blink', 'pulse'] as const;
export type LightMode = (typeof LIGHT_MODES)[number];

export interface LightPattern {
  mode: LightMode;
  color: LightColor;
  /** Length of one blink or pulse cycle (ms); ignored for on and off. */
  periodMs: number;
}

/** beep: one short (100 ms) tone; long: one 800 ms tone; double: two 150 ms tones 150 ms apart. */
export const SOUNDS = ['none', 'beep', 'long', 'double'] as const;
export type Sound = (typeof SOUNDS)[number];

/** Each tone and gap of a sound, ms: [on, off, on, ...]. */
export const SOUND_STEPS: Record<Sound, readonly number[]> = {
  none: [],
  beep: [100],
  long: [800],
  double: [150, 150, 150],
};

export const LIGHT_OFF: LightPattern = { mode: 'off', color: 'white', periodMs: 1000 };

export function samePattern(a: LightPattern, b: LightPattern): boolean {
  if (a.mode !== b.mode) return false;
  if (a.mode === 'off') return true;
  return a.color === b.color && (a.mode === 'on' || a.periodMs === b.periodMs);
}

/** The pattern in words, for status and logs: "blue pulse 2000 ms", "green on", "off". */
export function describePattern(p: LightPattern): string {
  if (p.mode === 'off') return 'off';
  if (p.mode === 'on') return `${p.color} on`;
  return `${p.color} ${p.mode} ${p.periodMs} ms`;
}
