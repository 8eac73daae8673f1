import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/hal/clock.js';
import { MeterPoller, type PollerStatus } from '../../src/meter/poller.js';
import { silentLogger } from '../../src/log.js';
import type { Meter, MeterSnapshot } from '../../src/hal/types.js';

/** A meter at the device boundary: answers from a script. */
class ScriptedMeter implements Meter {
  script: (number | Error)[] = [];
  constructor(private readonly clock: FakeClock) {}
  async read(): Promise<MeterSnapshot> {
    const next = this.script.length > 1 ? this.script.shift()! : this.script[0]!;
    if (next instanceof Error) throw next;
    return { energyImportWh: next, powerW: 0, voltageV: [230], currentA: [0], powerPhaseW: [0], monoMs: this.clock.monoMs() };
  }
  async close(): Promise<void> {}
}

const flush = () => new Promise((r) => setImmediate(r));

function setup(opts: Partial<ConstructorParameters<typeof MeterPoller>[1]> = {}) {
  const clock = new FakeClock();
  const meter = new ScriptedMeter(clock);
  const poller = new MeterPoller(meter, { connectorId: 1, intervalMs: 1000, staleAfterMs: 5000, maxPowerW: 11_000, clock, log: silentLogger(), ...opts });
  const events: PollerStatus[] = [];
  poller.on('health', (s: PollerStatus) => events.push(s));
  return { clock, meter, poller, events };
}

describe('MeterPoller', () => {
  it('flags stale once when readings stop, never returns a stale snapshot as fresh, recovers', async () => {
    const { clock, meter, poller, events } = setup();
    meter.script = [1000];
    await poller.readNow();
    expect(poller.fresh()?.energyImportWh).toBe(1000);
    meter.script = [new Error('no answer')];
    clock.advance(5001);
    expect(poller.isStale()).toBe(true);
    expect(poller.fresh()).toBeUndefined();
    expect(poller.latest()?.energyImportWh).toBe(1000);
    expect(events.filter((e) => e.stale)).toHaveLength(1);
    meter.script = [1001];
    await poller.readNow();
    expect(poller.fresh()?.energyImportWh).toBe(1001);
    expect(events.at(-1)).toMatchObject({ stale: false, health: 'ok' });
  });

  it('backs off while failing (interval doubles, capped) and counts errors by kind', async () => {
    const { clock, meter, poller } = setup({ maxBackoffMs: 5000 });
    meter.script = [Object.assign(new Error('no answer'), { kind: 'timeout' })];
    poller.start();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(poller.status().nextPollMs);
      await flush();
      delays.push(poller.status().nextPollMs);
    }
    expect(delays).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(poller.status()).toMatchObject({ health: 'offline', errorCounts: { timeout: 5 }, failedReads: 5 });
    await poller.stop();
  });

  it('rejects backwards and impossible jumps; a glitch at start does not become the baseline', async () => {
    const { clock, meter, poller } = setup();
    meter.script = [9_999_999, 5000];
    await expect(poller.readNow()).rejects.toThrow(/first reading not confirmed: energy register went backwards/);
    expect(poller.latest()).toBeUndefined();
    meter.script = [5000];
    await poller.readNow();
    clock.advance(1000);
    meter.script = [4999];
    await expect(poller.readNow()).rejects.toThrow(/went backwards/);
    meter.script = [5000 + 5]; // 11 kW x 1 s = 3.06 Wh (+1 Wh slack)
    await expect(poller.readNow()).rejects.toThrow(/jumped 5 Wh/);
    meter.script = [5003];
    expect((await poller.readNow()).energyImportWh).toBe(5003);
    expect(poller.status().rejectedReads).toBe(3);
  });
});
