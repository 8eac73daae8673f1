import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { DEFAULT_PATTERNS, signalPatterns } from '../../src/config/signals.js';
import { problems } from '../support/config-problems.js';

const base = (signals: string) => `station: { id: CP-001, vendor: Example, model: EVSE-1 }
storage: { dir: ./data }
auth: { mode: free }
connectors:
  - { id: 1, maxCurrentA: 32, phases: 3, hardware: { driver: sim }, meter: { model: sim } }
${signals}`;

describe('config: signals', () => {
  it('is optional; defaults fill the rest; overrides replace single patterns', () => {
    expect(parseConfig(base('')).signals).toBeUndefined();
    const c = parseConfig(base('signals: { light: { driver: gpio, red: 20, green: 21 }, patterns: { Charging: { mode: blink, color: white } } }'));
    expect(c.signals).toMatchObject({ root: '/', light: { driver: 'gpio', red: 20, green: 21, activeLow: false }, buzzer: { driver: 'none' }, sounds: { accepted: 'beep', refused: 'double' }, feedbackMs: 2000 });
    const p = signalPatterns(c.signals!);
    expect(p.Charging).toEqual({ mode: 'blink', color: 'white', periodMs: 1000 });
    expect(p.Available).toEqual(DEFAULT_PATTERNS.Available);
  });

  it('names the key and the fix', () => {
    expect(problems(base('signals: { light: { driver: gpio } }')).join('\n')).toMatch(/signals\.light: a gpio light needs its pin: pin for one LED, or red\/green\/blue/);
    expect(problems(base('signals: { light: { driver: gpio, pin: 20, red: 21 } }')).join('\n')).toMatch(/signals\.light\.pin: give pin \(one LED\) or red\/green\/blue \(RGB LED\), not both/);
    expect(problems(base('signals: { light: { driver: gpio, red: 20 }, buzzer: { driver: gpio, pin: 20 } }')).join('\n')).toMatch(/signals\.buzzer\.pin: GPIO20 is already signals\.light\.red/);
    expect(problems(base('signals: { connector: 2, light: { driver: sim } }')).join('\n')).toMatch(/signals\.connector: no connector 2/);
    expect(problems(base('signals: { light: { driver: ws2812 } }')).join('\n')).toMatch(/signals\.light.*driver must be one of gpio \| sim \| none/);
    expect(problems(base('signals: { patterns: { Charging: { mode: flash } } }')).join('\n')).toMatch(/signals\.patterns\.Charging\.mode: must be one of off \| on \| blink \| pulse/);
    expect(problems(base('signals: { patterns: { Sleeping: { mode: on } } }')).join('\n')).toMatch(/signals\.patterns.*Sleeping/);
    expect(problems(base('signals: { sounds: { refused: siren } }')).join('\n')).toMatch(/signals\.sounds\.refused: must be one of none \| beep \| long \| double/);
  });
});
