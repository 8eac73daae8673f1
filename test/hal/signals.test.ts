import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { FakeSysfs } from './fake-sysfs.js';
import { FakeClock } from '../../src/hal/clock.js';
import { createSignals } from '../../src/hal/signals/factory.js';
import { StatusSignals, type CardOutcomes } from '../../src/panel/signals.js';
import { signalsConfigSchema, type SignalsConfig } from '../../src/config/signals.js';
import type { ConnectorStatus } from '../../src/domain/types.js';
import type { ConnectorView, StationEvents, StationPort, TagOutcome } from '../../src/evse/port.js';
import type { TagRead } from '../../src/panel/readers.js';
import { silentLogger } from '../../src/log.js';

// The header chip of the fake tree starts at 512: BCM n is sysfs 512 + n.
const RED = 512 + 20;
const GREEN = 512 + 21;
const BLUE = 512 + 16;
const BUZZER = 512 + 12;

let tree: FakeSysfs | undefined;
afterEach(() => {
  tree?.dispose();
  tree = undefined;
});

/** The part of the station the signals use: status and auth-rejected events, a connector's view. */
class FakePort extends EventEmitter<StationEvents> {
  status: ConnectorStatus = 'Available';
  constructor(readonly clock: FakeClock) {
    super();
  }
  connectorIds() {
    return [1];
  }
  connectorView(id: number) {
    return { id, status: this.status } as ConnectorView;
  }
  set(status: ConnectorStatus) {
    const prev = this.status;
    this.status = status;
    this.emit('status', this.connectorView(1), prev);
  }
}

async function rig(signals: Record<string, unknown>) {
  tree = new FakeSysfs();
  const clock = new FakeClock();
  const cfg: SignalsConfig = signalsConfigSchema.parse({ root: tree.root, ...signals });
  const { light, buzzer } = await createSignals(cfg, clock);
  const port = new FakePort(clock);
  const readers = new EventEmitter<{ 'tag outcome': [TagRead, TagOutcome] }>();
  const s = new StatusSignals({ station: port as unknown as StationPort, cfg, light, buzzer, readers: readers as CardOutcomes, log: silentLogger(), clock });
  s.start();
  const t = tree;
  /** The LED channels' electrical levels, r g b. */
  const rgb = () => `${t.value(RED)}${t.value(GREEN)}${t.value(BLUE)}`;
  /** The levels of `pin` every `stepMs` for `n` steps (the first before any time passes). */
  const trace = (read: () => string, stepMs: number, n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      if (i) clock.advance(stepMs);
      out.push(read());
    }
    return out;
  };
  return { clock, port, readers, signals: s, rgb, trace, tree: t };
}

const RGB_LIGHT = { light: { driver: 'gpio', red: 20, green: 21, blue: 16 }, buzzer: { driver: 'gpio', pin: 12 } };

describe('status light at the pin (fake sysfs, real gpio driver, fake clock)', () => {
  it('exports the LED and buzzer pins as outputs, dark and silent, then shows the state', async () => {
    const { tree: t, rgb } = await rig(RGB_LIGHT);
    for (const n of [RED, GREEN, BLUE, BUZZER]) expect(t.attr(n, 'direction')).toMatch(/^(out|low)$/);
    expect(t.value(BUZZER)).toBe('0');
    expect(rgb()).toBe('010'); // Available: green, steady
  });

  it('maps each state to its colour and rhythm', async () => {
    const { port, rgb, trace, clock } = await rig(RGB_LIGHT);
    // Available: green on, steady over time
    expect(trace(rgb, 1000, 4)).toEqual(['010', '010', '010', '010']);
    // Charging: blue pulse every 2 s, on for an eighth (250 ms)
    port.set('Charging');
    expect(trace(rgb, 125, 17)).toEqual(['001', '001', '000', '000', '000', '000', '000', '000', '000', '000', '000', '000', '000', '000', '000', '000', '001']);
    // Faulted: red blink, 250 ms on, 250 ms off
    port.set('Faulted');
    expect(trace(rgb, 250, 5)).toEqual(['100', '000', '100', '000', '100']);
    // SuspendedEVSE: yellow = red + green, steady
    port.set('SuspendedEVSE');
    expect(trace(rgb, 500, 3)).toEqual(['110', '110', '110']);
    // Preparing: cyan = green + blue, blinking once a second
    port.set('Preparing');
    expect(trace(rgb, 500, 3)).toEqual(['011', '000', '011']);
    // Reserved: magenta = red + blue
    port.set('Reserved');
    expect(rgb()).toBe('101');
    // Finishing: green blink every 2 s; Unavailable: yellow pulse every 4 s
    port.set('Finishing');
    expect(trace(rgb, 1000, 3)).toEqual(['010', '000', '010']);
    port.set('Unavailable');
    expect(trace(rgb, 500, 9)).toEqual(['110', '000', '000', '000', '000', '000', '000', '000', '110']);
    clock.advance(10_000);
  });

  it('the same state again keeps the rhythm (a status event that changes nothing does not restart the blink)', async () => {
    const { port, rgb, clock } = await rig(RGB_LIGHT);
    port.set('Faulted');
    clock.advance(250);
    expect(rgb()).toBe('000');
    port.set('Faulted');
    expect(rgb()).toBe('000');
    clock.advance(250);
    expect(rgb()).toBe('100');
  });

  it('a refused card: fast red blink and a double beep, then back to the state', async () => {
    const { port, rgb, trace, tree: t, clock, signals } = await rig(RGB_LIGHT);
    port.emit('auth-rejected', { connectorId: 1, idTag: 'BAD', status: 'Invalid' });
    expect(signals.status().feedback).toBe('refused');
    // red blink 100 ms: 50 on, 50 off
    expect(trace(rgb, 50, 5)).toEqual(['100', '000', '100', '000', '100']);
    const buzz: string[] = [];
    // restart a sound to trace it from its start
    port.emit('auth-rejected', { connectorId: 1, idTag: 'BAD', status: 'Invalid' });
    for (let i = 0; i < 6; i++) {
      buzz.push(t.value(BUZZER));
      clock.advance(75);
    }
    // double: 150 on, 150 off, 150 on, then silent
    expect(buzz).toEqual(['1', '1', '0', '0', '1', '1']);
    clock.advance(100);
    expect(t.value(BUZZER)).toBe('0');
    clock.advance(2000);
    expect(signals.status().feedback).toBeNull();
    expect(trace(rgb, 1000, 2)).toEqual(['010', '010']);
  });

  it('an accepted card: green fast blink and one short beep; a card at a connector that cannot charge is refused', async () => {
    const { readers, rgb, trace, tree: t, clock, signals } = await rig(RGB_LIGHT);
    readers.emit('tag outcome', { readerId: 'front', connectorId: 1, idTag: 'GOOD' }, { status: 'Accepted', source: 'local', action: 'started' });
    expect(signals.status().feedback).toBe('accepted');
    expect(t.value(BUZZER)).toBe('1');
    expect(trace(rgb, 100, 3)).toEqual(['010', '000', '010']);
    expect(t.value(BUZZER)).toBe('0'); // beep: 100 ms
    clock.advance(2000);
    expect(signals.status().feedback).toBeNull();
    readers.emit('tag outcome', { readerId: 'front', connectorId: 1, idTag: 'X' }, { status: 'Invalid', source: 'local', action: 'unavailable' });
    expect(signals.status().feedback).toBe('refused');
    expect(rgb()).toBe('100');
    // A card refused by the authoriser is signalled once, by the station's auth-rejected, not again here.
    clock.advance(2000);
    readers.emit('tag outcome', { readerId: 'front', connectorId: 1, idTag: 'X' }, { status: 'Invalid', source: 'local', action: 'rejected' });
    expect(signals.status().feedback).toBeNull();
  });

  it('one LED, wired active low: every colour lights it, the level is inverted at the pin', async () => {
    const { port, trace, tree: t } = await rig({ light: { driver: 'gpio', pin: 20, activeLow: true } });
    const led = () => t.value(RED);
    expect(led()).toBe('0'); // Available: on = low
    port.set('Faulted');
    expect(trace(led, 250, 4)).toEqual(['0', '1', '0', '1']);
  });

  it('patterns and sounds come from the config', async () => {
    const { port, rgb, trace, tree: t } = await rig({ ...RGB_LIGHT, patterns: { Charging: { mode: 'blink', color: 'white', periodMs: 400 } }, sounds: { refused: 'long' } });
    port.set('Charging');
    expect(trace(rgb, 200, 3)).toEqual(['111', '000', '111']);
    port.emit('auth-rejected', { connectorId: 1, idTag: 'BAD', status: 'Blocked' });
    expect(trace(() => t.value(BUZZER), 400, 3)).toEqual(['1', '1', '0']);
  });

  it('stop: dark and silent', async () => {
    const { port, signals, rgb, tree: t } = await rig(RGB_LIGHT);
    port.emit('auth-rejected', { connectorId: 1, idTag: 'BAD', status: 'Invalid' });
    signals.stop();
    expect(rgb()).toBe('000');
    expect(t.value(BUZZER)).toBe('0');
  });
});
