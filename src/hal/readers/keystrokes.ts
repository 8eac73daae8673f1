import { EV_KEY, EV_MAX, EV_SYN, SYN_DROPPED, type InputEvent } from './input-event.js';
import { KEY, keymap, type KeyboardLayout } from './keymaps.js';

/** The longest text taken as one card; a longer run of keys without Enter is not a card. */
const MAX_CARD_TEXT = 40;

export type KeystrokeResult = { card: string } | { problem: string } | undefined;

/**
 * Key events to cards: presses (value 1) become characters through the reader's layout, Shift and
 * CapsLock as a keyboard would apply them, Enter ends a card. A pause longer than `gapMs` between
 * two keys starts over (someone typed on a keyboard, or a card was cut off). Pure: the time is
 * passed in.
 */
export class KeystrokeAssembler {
  private text = '';
  private shift = 0;
  private capsLock = false;
  private lastKeyMs = -Infinity;
  private readonly map;

  constructor(layout: KeyboardLayout, private readonly gapMs = 1000) {
    this.map = keymap(layout);
  }

  push(e: InputEvent, nowMs: number): KeystrokeResult {
    if (e.type > EV_MAX || (e.type === EV_KEY && (e.value < 0 || e.value > 2))) {
      this.text = '';
      return { problem: `malformed input event (type ${e.type}, value ${e.value}): check the reader's inputEventBytes (24 for a 64-bit system, 16 for 32-bit)` };
    }
    if (e.type === EV_SYN && e.code === SYN_DROPPED) {
      this.text = '';
      return { problem: 'the kernel dropped key events (SYN_DROPPED): the card was lost, present it again' };
    }
    if (e.type !== EV_KEY) return undefined;
    if (e.code === KEY.LEFTSHIFT || e.code === KEY.RIGHTSHIFT) {
      if (e.value === 1) this.shift++;
      else if (e.value === 0) this.shift = Math.max(0, this.shift - 1);
      return undefined;
    }
    if (e.value !== 1) return undefined; // releases and auto-repeat
    if (e.code === KEY.CAPSLOCK) {
      this.capsLock = !this.capsLock;
      return undefined;
    }
    if (nowMs - this.lastKeyMs > this.gapMs) this.text = '';
    this.lastKeyMs = nowMs;
    if (e.code === KEY.ENTER || e.code === KEY.KPENTER) {
      const card = this.text;
      this.text = '';
      return card ? { card } : undefined;
    }
    const c = this.map.char(e.code, this.shift > 0, this.capsLock);
    if (c === undefined) return { problem: `ignored key code ${e.code} (not part of a card id)` };
    if (this.text.length >= MAX_CARD_TEXT) {
      return { problem: `more than ${MAX_CARD_TEXT} keys without Enter: not a card` };
    }
    this.text += c;
    return undefined;
  }
}
