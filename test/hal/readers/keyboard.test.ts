import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyboardCardReader } from '../../../src/hal/readers/keyboard.js';
import { KeystrokeAssembler } from '../../../src/hal/readers/keystrokes.js';
import { decodeInputEvents, encodeInputEvent, nativeInputEventBytes, type InputEventBytes } from '../../../src/hal/readers/input-event.js';
import { normaliseCard } from '../../../src/hal/readers/normalise.js';
import type { KeyboardLayout } from '../../../src/hal/readers/keymaps.js';
import type { CardRead } from '../../../src/hal/readers/types.js';
import { until } from '../../support/station.js';
import { FakeInputDevice } from '../../support/input-device.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));

interface Harness {
  dev: FakeInputDevice;
  reader: KeyboardCardReader;
  cards: string[];
  errors: string[];
  gone: string[];
}
const open: KeyboardCardReader[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
});

/** grab false: a FIFO is no evdev device (the grab itself has its own test below). */
async function harness(layout: KeyboardLayout = 'us', inputEventBytes?: InputEventBytes, grab = false): Promise<Harness> {
  const dev = new FakeInputDevice();
  const reader = new KeyboardCardReader({ device: dev.path, layout, inputEventBytes, pollMs: 5, grab });
  const h: Harness = { dev, reader, cards: [], errors: [], gone: [] };
  reader.on('card', (c: CardRead) => h.cards.push(normaliseCard(c)));
  reader.on('error', (e) => h.errors.push(e.message));
  reader.on('gone', (e) => h.gone.push(e.message));
  await reader.open();
  open.push(reader);
  return h;
}

describe('input_event records', () => {
  it('the record size follows the process: 24 bytes on 64-bit, 16 on 32-bit (armhf)', () => {
    expect(nativeInputEventBytes('arm64')).toBe(24);
    expect(nativeInputEventBytes('x64')).toBe(24);
    expect(nativeInputEventBytes('arm')).toBe(16);
    expect(nativeInputEventBytes('ia32')).toBe(16);
  });

  it('both fixtures hold the same key events in their own layout', () => {
    const a = decodeInputEvents(fixture('card-decimal-x64.bin'), 24);
    const b = decodeInputEvents(fixture('card-decimal-armhf.bin'), 16);
    expect(a.rest.length).toBe(0);
    expect(b.rest.length).toBe(0);
    expect(a.events).toEqual(b.events);
    expect(a.events.slice(0, 3)).toEqual([{ type: 4, code: 4, value: 0x70027 }, { type: 1, code: 11, value: 1 }, { type: 0, code: 0, value: 0 }]);
  });
});

describe('keyboard reader on a fake input device (FIFO fed with real input_event records)', () => {
  it('64-bit records: a 125 kHz reader typing 10 digits and Enter is one card', async () => {
    const h = await harness('us', 24);
    h.dev.write(fixture('card-decimal-x64.bin'));
    await until(() => h.cards.length === 1, 'the card');
    expect(h.cards).toEqual(['0012345678']);
    expect(h.errors).toEqual([]);
  });

  it('exclusive access: EVIOCGRAB is asked on the reader\'s own open file; where it cannot be taken (here a FIFO, no evdev) that is reported once and cards still come', async () => {
    const h = await harness('us', 24, true);
    h.dev.write(fixture('card-decimal-x64.bin'));
    await until(() => h.cards.length === 1, 'the card');
    expect(h.cards).toEqual(['0012345678']);
    // ENOTTY, not EBADF: the ioctl reached the descriptor the reader reads from (the grab is per open file).
    const py = spawnSync('python3', ['--version']);
    if (py.status === 0) expect(h.errors).toEqual([expect.stringMatching(/not taken for evsed alone \(EVIOCGRAB: OSError: \[Errno 25\] Inappropriate ioctl for device\): card numbers also reach the console/)]);
    else expect(h.errors).toEqual([expect.stringMatching(/not taken for evsed alone \(EVIOCGRAB: python3 not found\)/)]);
  });

  it('32-bit (armhf) records: the same card', async () => {
    const h = await harness('us', 16);
    h.dev.write(fixture('card-decimal-armhf.bin'));
    await until(() => h.cards.length === 1, 'the card');
    expect(h.cards).toEqual(['0012345678']);
  });

  it('hex with Shift and Caps Lock is one uppercase id; a stray key is reported and left out', async () => {
    const h = await harness('us', 24);
    h.dev.write(fixture('card-hex-shift-caps-x64.bin'));
    await until(() => h.cards.length === 1, 'the card');
    expect(h.cards).toEqual(['04A2B3C4D5E680']);
    expect(h.errors).toEqual([expect.stringMatching(/ignored key code 63/)]);
  });

  it('records split across reads (a slow reader) still make one card', async () => {
    const h = await harness('us', 16);
    const bytes = fixture('card-hex-shift-caps-armhf.bin');
    for (let i = 0; i < bytes.length; i += 37) {
      h.dev.write(bytes.subarray(i, i + 37));
      await new Promise((r) => setTimeout(r, 2));
    }
    await until(() => h.cards.length === 1, 'the card');
    expect(h.cards).toEqual(['04A2B3C4D5E680']);
  });

  it('the reader\'s layout decides the letters: de swaps Y and Z', async () => {
    const us = await harness('us', 24);
    us.dev.write(fixture('card-de-layout-x64.bin'));
    const de = await harness('de', 24);
    de.dev.write(fixture('card-de-layout-x64.bin'));
    await until(() => us.cards.length === 1 && de.cards.length === 1, 'both cards');
    expect(us.cards).toEqual(['12y3']);
    expect(de.cards).toEqual(['12z3']);
  });

  it('64-bit records read as 32-bit ones (wrong inputEventBytes) give no card and say what to check', async () => {
    const h = await harness('us', 16);
    h.dev.write(fixture('card-decimal-x64.bin'));
    await until(() => h.errors.some((e) => /inputEventBytes/.test(e)), 'the misread reported');
    await new Promise((r) => setTimeout(r, 30));
    expect(h.cards.filter((c) => c === '0012345678')).toEqual([]);
  });

  it('a pause in the middle of a card (someone typing, a card cut off) starts over', () => {
    const a = new KeystrokeAssembler('us', 1000);
    const press = (code: number, t: number) => a.push({ type: 1, code, value: 1 }, t);
    press(2, 0); // '1'
    press(3, 10); // '2'
    press(4, 2000); // '3' after 2 s: the 12 before it is dropped
    expect(press(28, 2010)).toEqual({ card: '3' });
  });

  it('the device vanishing mid-card: gone, the partial card is not taken, a cut record is reported', async () => {
    const h = await harness('us', 24);
    const bytes = fixture('card-decimal-x64.bin');
    h.dev.write(bytes.subarray(0, 24 * 12 + 10)); // two keys and part of a record
    await new Promise((r) => setTimeout(r, 30));
    h.dev.unplug();
    await until(() => h.gone.length === 1, 'gone');
    expect(h.gone[0]).toMatch(/went away/);
    expect(h.errors).toEqual([expect.stringMatching(/10 bytes of an unfinished input event were cut off/)]);
    expect(h.cards).toEqual([]);
  });

  it('opening a device that is not there says to plug the reader in', async () => {
    const r = new KeyboardCardReader({ device: '/dev/input/by-id/usb-nothing-event-kbd', layout: 'us' });
    await expect(r.open()).rejects.toThrow(/no such device \(is the reader plugged in/);
  });

  it('SYN_DROPPED (the kernel lost events) drops the card being typed', () => {
    const a = new KeystrokeAssembler('us');
    a.push({ type: 1, code: 2, value: 1 }, 0);
    expect(a.push({ type: 0, code: 3, value: 0 }, 1)).toMatchObject({ problem: expect.stringMatching(/dropped/) });
    a.push({ type: 1, code: 3, value: 1 }, 2);
    expect(a.push({ type: 1, code: 28, value: 1 }, 3)).toEqual({ card: '2' });
  });

  it('encodes records as the kernel lays them out', () => {
    const r = encodeInputEvent({ type: 1, code: 28, value: 1, sec: 1, usec: 2 }, 16);
    expect(r.toString('hex')).toBe('01000000020000000100' + '1c0001000000');
  });
});
