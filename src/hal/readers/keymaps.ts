/**
 * Linux key codes (include/uapi/linux/input-event-codes.h) to the characters a card reader types.
 * A reader sends key codes for the keyboard layout it was set up for; only what card ids use is
 * mapped (digits, letters, the keypad, - and space); anything else is a stray key.
 */

import { KEYBOARD_LAYOUTS, type KeyboardLayout } from '../../config/readers.js';

export type { KeyboardLayout } from '../../config/readers.js';

export const KEY = {
  ENTER: 28,
  KPENTER: 96,
  LEFTSHIFT: 42,
  RIGHTSHIFT: 54,
  CAPSLOCK: 58,
} as const;

/** [code, unshifted, shifted] */
type Row = readonly [number, string, string];

const DIGITS_US: Row[] = [[2, '1', '!'], [3, '2', '@'], [4, '3', '#'], [5, '4', '$'], [6, '5', '%'], [7, '6', '^'], [8, '7', '&'], [9, '8', '*'], [10, '9', '('], [11, '0', ')']];
const DIGITS_DE: Row[] = [[2, '1', '!'], [3, '2', '"'], [4, '3', '§'], [5, '4', '$'], [6, '5', '%'], [7, '6', '&'], [8, '7', '/'], [9, '8', '('], [10, '9', ')'], [11, '0', '=']];

/** Letter keys by their US (QWERTY) names. */
const LETTERS: [number, string][] = [
  [16, 'q'], [17, 'w'], [18, 'e'], [19, 'r'], [20, 't'], [21, 'y'], [22, 'u'], [23, 'i'], [24, 'o'], [25, 'p'],
  [30, 'a'], [31, 's'], [32, 'd'], [33, 'f'], [34, 'g'], [35, 'h'], [36, 'j'], [37, 'k'], [38, 'l'],
  [44, 'z'], [45, 'x'], [46, 'c'], [47, 'v'], [48, 'b'], [49, 'n'], [50, 'm'],
];

/** The keypad types digits whatever the layout (NumLock on, as readers assume). */
const KEYPAD: [number, string][] = [[71, '7'], [72, '8'], [73, '9'], [74, '-'], [75, '4'], [76, '5'], [77, '6'], [79, '1'], [80, '2'], [81, '3'], [82, '0']];

export interface Keymap {
  /** The character of a key, or undefined for a key no card id uses. */
  char(code: number, shift: boolean, capsLock: boolean): string | undefined;
}

function build(layout: KeyboardLayout): Keymap {
  const plain = new Map<number, [string, string]>();
  for (const [code, a, b] of layout === 'de' ? DIGITS_DE : DIGITS_US) plain.set(code, [a, b]);
  const letters = new Map<number, string>();
  for (const [code, l] of LETTERS) letters.set(code, l);
  if (layout === 'de') {
    // QWERTZ: the keys named Y and Z swap.
    letters.set(21, 'z');
    letters.set(44, 'y');
    plain.set(53, ['-', '_']); // KEY_SLASH is - on a German keyboard
    plain.set(57, [' ', ' ']);
  } else {
    plain.set(12, ['-', '_']); // KEY_MINUS
    plain.set(57, [' ', ' ']);
  }
  const keypad = new Map(KEYPAD);
  return {
    char(code, shift, capsLock) {
      const l = letters.get(code);
      if (l) return shift !== capsLock ? l.toUpperCase() : l;
      const p = plain.get(code);
      if (p) return shift ? p[1] : p[0];
      return keypad.get(code);
    },
  };
}

const MAPS = new Map<KeyboardLayout, Keymap>(KEYBOARD_LAYOUTS.map((l) => [l, build(l)]));

export function keymap(layout: KeyboardLayout): Keymap {
  return MAPS.get(layout)!;
}
