import type { SignalsConfig } from '../../config/signals.js';
import { SIGNAL_STATES, signalPatterns } from '../../config/signals.js';
import { describePattern, SOUNDS, SOUND_STEPS } from '../../domain/signals.js';
import { realTimeClock } from '../../hal/clock.js';
import { GpioBuzzer, GpioLight } from '../../hal/signals/gpio.js';

export interface SignalsTestRow {
  connector: number;
  item: string;
  pin: string;
  action: string;
  result: string;
  ok: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * `evsed hw test` for the status light and buzzer (signals: with driver gpio): shows every state's
 * pattern and the card answers for `dwellMs` each, then plays every sound, so the technician sees
 * and hears each one; a pin that cannot be opened or written is a FAIL.
 */
export async function testSignals(cfg: SignalsConfig, connectorId: number, io: { out: (l: string) => void; dwellMs: number }): Promise<SignalsTestRow[]> {
  const rows: SignalsTestRow[] = [];
  const row = (item: string, pin: string, action: string, result: string, ok: boolean) => {
    rows.push({ connector: connectorId, item, pin, action, result, ok });
    io.out(`  [${ok ? ' ok ' : 'FAIL'}] ${item}: ${result}`);
  };
  const l = cfg.light;
  if (l.driver === 'gpio') {
    const pins = l.pin !== undefined ? `GPIO${l.pin}` : (['red', 'green', 'blue'] as const).filter((c) => l[c] !== undefined).map((c) => `${c[0]!.toUpperCase()}=GPIO${l[c]}`).join(' ');
    io.out(`status light (${pins}): watch it show each pattern for ${io.dwellMs} ms`);
    let light: GpioLight | undefined;
    try {
      light = await GpioLight.open({ root: cfg.root, pins: { pin: l.pin, red: l.red, green: l.green, blue: l.blue }, activeLow: l.activeLow, clock: realTimeClock });
      const patterns = signalPatterns(cfg);
      for (const name of [...SIGNAL_STATES, 'accepted', 'refused'] as const) {
        const p = patterns[name];
        light.show(p);
        await sleep(io.dwellMs);
        row(`light ${name}`, pins, describePattern(p), 'shown (check it by eye)', true);
      }
    } catch (err) {
      row('light', pins, 'open and show', (err as Error).message, false);
    } finally {
      light?.close();
    }
  }
  const b = cfg.buzzer;
  if (b.driver === 'gpio') {
    let buzzer: GpioBuzzer | undefined;
    try {
      buzzer = await GpioBuzzer.open({ root: cfg.root, pin: b.pin, activeLow: b.activeLow, clock: realTimeClock });
      for (const s of SOUNDS.filter((x) => x !== 'none')) {
        buzzer.play(s);
        await sleep(SOUND_STEPS[s].reduce((a, x) => a + x, 0) + Math.min(400, io.dwellMs));
        row(`buzzer ${s}`, `GPIO${b.pin}`, `play ${s}`, 'played (check it by ear)', true);
      }
    } catch (err) {
      row('buzzer', `GPIO${b.pin}`, 'open and play', (err as Error).message, false);
    } finally {
      buzzer?.close();
    }
  }
  return rows;
}
