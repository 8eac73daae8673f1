import type { Clock } from '../clock.js';
import type { SignalsConfig } from '../../config/signals.js';
import { GpioBuzzer, GpioLight } from './gpio.js';
import { SimBuzzer, SimLight } from './sim.js';
import type { Buzzer, StatusLight } from './types.js';

/** The configured light and buzzer (driver none: a silent stand-in, so callers need no branch). */
export async function createSignals(cfg: SignalsConfig, clock: Pick<Clock, 'setTimeout' | 'monoMs'>): Promise<{ light: StatusLight; buzzer: Buzzer }> {
  const l = cfg.light;
  const light: StatusLight = l.driver === 'gpio'
    ? await GpioLight.open({ root: cfg.root, pins: { pin: l.pin, red: l.red, green: l.green, blue: l.blue }, activeLow: l.activeLow, clock })
    : new SimLight(l.driver);
  try {
    const b = cfg.buzzer;
    const buzzer: Buzzer = b.driver === 'gpio' ? await GpioBuzzer.open({ root: cfg.root, pin: b.pin, activeLow: b.activeLow, clock }) : new SimBuzzer(clock, b.driver);
    return { light, buzzer };
  } catch (err) {
    light.close();
    throw err;
  }
}
