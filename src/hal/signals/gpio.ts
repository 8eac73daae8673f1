import type { Clock } from '../clock.js';
import { SysfsGpio, type Bit, type EdgeSource, type GpioLine } from '../gpio/sysfs-gpio.js';
import { PatternPlayer, SoundPlayer } from './blinker.js';
import type { LightColor, LightPattern, Sound } from '../../domain/signals.js';
import type { Buzzer, StatusLight } from './types.js';

/** Which channels of an RGB LED each colour lights. */
const CHANNELS: Record<LightColor, readonly ('red' | 'green' | 'blue')[]> = {
  red: ['red'],
  green: ['green'],
  blue: ['blue'],
  yellow: ['red', 'green'],
  cyan: ['green', 'blue'],
  magenta: ['red', 'blue'],
  white: ['red', 'green', 'blue'],
};

/** The light's pins (BCM): one LED (`pin`), or the channels of an RGB LED that are wired. */
export interface GpioLightPins {
  pin?: number;
  red?: number;
  green?: number;
  blue?: number;
}

/** Outputs only: no line of the light or buzzer is ever watched for edges. */
const NO_EDGES: EdgeSource = () => ({ close() {} });

/**
 * A status LED on sysfs GPIO, like the station's other outputs: exported dark, then blinked by a
 * PatternPlayer on the clock. With one LED every colour lights it (the pattern still tells states
 * apart by its rhythm); with RGB, the colour mixes the channels wired (a missing channel is dark).
 */
export class GpioLight implements StatusLight {
  readonly driver = 'gpio' as const;
  private readonly player: PatternPlayer;

  private constructor(
    private readonly gpio: SysfsGpio,
    private readonly lines: { single?: GpioLine; red?: GpioLine; green?: GpioLine; blue?: GpioLine },
    clock: Pick<Clock, 'setTimeout' | 'monoMs'>,
  ) {
    this.player = new PatternPlayer(clock, (color) => this.render(color));
  }

  static async open(o: { root: string; pins: GpioLightPins; activeLow: boolean; clock: Pick<Clock, 'setTimeout' | 'monoMs'> }): Promise<GpioLight> {
    const gpio = new SysfsGpio({ root: o.root, edges: NO_EDGES });
    try {
      const out = (name: string, bcm: number | undefined) => (bcm === undefined ? undefined : gpio.output(name, bcm, { activeLow: o.activeLow, safe: 0 }));
      const lines = {
        single: await out('light', o.pins.pin),
        red: await out('light.red', o.pins.red),
        green: await out('light.green', o.pins.green),
        blue: await out('light.blue', o.pins.blue),
      };
      return new GpioLight(gpio, lines, o.clock);
    } catch (err) {
      gpio.close();
      throw err;
    }
  }

  show(pattern: LightPattern): void {
    this.player.show(pattern);
  }

  current(): LightPattern {
    return this.player.current();
  }

  close(): void {
    this.player.stop();
    this.gpio.close();
  }

  private render(color: LightColor | null): void {
    const { single, red, green, blue } = this.lines;
    single?.write(color ? 1 : 0);
    const lit = color ? CHANNELS[color] : [];
    const level = (ch: 'red' | 'green' | 'blue'): Bit => (lit.includes(ch) ? 1 : 0);
    red?.write(level('red'));
    green?.write(level('green'));
    blue?.write(level('blue'));
  }
}

/** An active buzzer (it sounds while its pin is active) on sysfs GPIO. */
export class GpioBuzzer implements Buzzer {
  readonly driver = 'gpio' as const;
  private readonly player: SoundPlayer;

  private constructor(private readonly gpio: SysfsGpio, line: GpioLine, clock: Pick<Clock, 'setTimeout' | 'monoMs'>) {
    this.player = new SoundPlayer(clock, (on) => line.write(on ? 1 : 0));
  }

  static async open(o: { root: string; pin: number; activeLow: boolean; clock: Pick<Clock, 'setTimeout' | 'monoMs'> }): Promise<GpioBuzzer> {
    const gpio = new SysfsGpio({ root: o.root, edges: NO_EDGES });
    try {
      return new GpioBuzzer(gpio, await gpio.output('buzzer', o.pin, { activeLow: o.activeLow, safe: 0 }), o.clock);
    } catch (err) {
      gpio.close();
      throw err;
    }
  }

  play(sound: Sound): void {
    this.player.play(sound);
  }

  last(): { sound: Sound; monoMs: number } | null {
    return this.player.last();
  }

  close(): void {
    this.player.stop();
    this.gpio.close();
  }
}
