import { describe, expect, it } from 'vitest';
import { chargingEndWallMs, computeCost, liveCost, priceBands, splitEnergy, type CostInput, type MeterPoint } from '../../src/billing/tariff.js';
import { parseTariff } from '../../src/config/tariff.js';
import { at, exampleTariff } from './helpers.js';

const MIN = 60_000;
const HOUR = 3_600_000;

/** Readings every `stepMs` at constant power from start to end (energy rounded to Wh). */
function constantPower(startIso: string, endIso: string, watts: number, stepMs = 15 * MIN, meterStartWh = 1_000_000): CostInput {
  const start = at(startIso);
  const end = at(endIso);
  const samples: MeterPoint[] = [];
  for (let t = start + stepMs; t < end; t += stepMs) samples.push({ wallMs: t, energyWh: meterStartWh + Math.round(((t - start) * watts) / HOUR) });
  return {
    startWallMs: start,
    meterStartWh,
    endWallMs: end,
    meterEndWh: meterStartWh + Math.round(((end - start) * watts) / HOUR),
    samples,
    pluggedMs: end - start,
    idleAfterChargingMs: 0,
  };
}

/** Only energy, in Berlin: base 0.30, the given windows, no fees, no tax. */
function energyOnly(timeOfUse: unknown[]) {
  return parseTariff({ currency: 'EUR', energyPerKWh: 0.3, timeOfUse, idleGraceMinutes: 0, timeZone: 'Europe/Berlin' });
}

function energyLines(c: ReturnType<typeof computeCost>) {
  return c.lines.filter((l) => l.kind === 'energy').map((l) => [l.label, l.quantity, l.amount]);
}

describe('computeCost: the issue example tariff', () => {
  it('itemises a weekend session: energy, session fee, idle beyond grace, 19 % tax', () => {
    const input = { ...constantPower('2026-11-07T10:00:00+01:00', '2026-11-07T12:00:00+01:00', 5000), pluggedMs: 2.5 * HOUR, idleAfterChargingMs: 30 * MIN };
    const c = computeCost(exampleTariff(), input);
    expect(c.lines).toEqual([
      { kind: 'energy', label: 'Energy (other times)', quantity: 10_000, unitPrice: 300_000, amount: 300, window: null },
      { kind: 'sessionFee', label: 'Session fee', quantity: 1, unitPrice: 50, amount: 50 },
      { kind: 'idle', label: 'Idle after charging (beyond 15 min grace)', quantity: 15 * MIN, unitPrice: 100_000, amount: 150 },
    ]);
    expect([c.energyWh, c.net, c.tax, c.gross, c.currency]).toEqual([10_000, 500, 95, 595, 'EUR']);
  });

  it('splits energy at 07:00 by interpolating between the readings that straddle it (half up to whole Wh)', () => {
    const start = at('2026-11-02T06:00:00+01:00'); // Monday
    const input: CostInput = {
      startWallMs: start,
      meterStartWh: 0,
      endWallMs: at('2026-11-02T08:00:00+01:00'),
      meterEndWh: 22_000,
      samples: [
        { wallMs: at('2026-11-02T06:56:00+01:00'), energyWh: 10_000 },
        { wallMs: at('2026-11-02T07:04:00+01:00'), energyWh: 11_001 },
      ],
      pluggedMs: 2 * HOUR,
      idleAfterChargingMs: 0,
    };
    // at 07:00: 10 000 + 1001 × 4/8 = 10 500.5 → 10 501 Wh
    const c = computeCost(exampleTariff(), input);
    expect(energyLines(c)).toEqual([
      ['Energy (other times)', 10_501, 315], // 315.03 ct
      ['Energy mon-fri 07:00-22:00', 11_499, 402], // 402.465 ct
    ]);
    expect([c.net, c.tax, c.gross]).toEqual([767, 146, 913]); // fee 50; tax 145.73 → 146
  });

  it('prices a reading exactly on the boundary to the window that begins there', () => {
    const input = constantPower('2026-11-02T06:00:00+01:00', '2026-11-02T08:00:00+01:00', 11_000, 30 * MIN, 0);
    expect(energyLines(computeCost(exampleTariff(), input))).toEqual([
      ['Energy (other times)', 11_000, 330],
      ['Energy mon-fri 07:00-22:00', 11_000, 385],
    ]);
  });

  it('follows midnight and the weekday change (Friday evening into Saturday, Sunday night into Monday)', () => {
    const fri = computeCost(exampleTariff(), constantPower('2026-11-06T21:00:00+01:00', '2026-11-07T08:00:00+01:00', 1000));
    expect(energyLines(fri)).toEqual([
      ['Energy mon-fri 07:00-22:00', 1000, 35],
      ['Energy (other times)', 10_000, 300],
    ]);
    const sun = computeCost(exampleTariff(), constantPower('2026-11-08T23:00:00+01:00', '2026-11-09T08:00:00+01:00', 1000));
    expect(energyLines(sun)).toEqual([
      ['Energy (other times)', 8000, 240],
      ['Energy mon-fri 07:00-22:00', 1000, 35],
    ]);
  });

  it('sums energy of the same window on different days into one line', () => {
    const c = computeCost(exampleTariff(), constantPower('2026-11-02T21:00:00+01:00', '2026-11-03T08:00:00+01:00', 1000));
    expect(energyLines(c)).toEqual([
      ['Energy mon-fri 07:00-22:00', 2000, 70],
      ['Energy (other times)', 9000, 270],
    ]);
  });
});

describe('computeCost: daylight saving time in Europe/Berlin (windows follow the local clock)', () => {
  const night = [{ days: ['sun'], from: '00:00', to: '03:00', energyPerKWh: 0.2 }];
  const gapEdge = [{ days: ['sun'], from: '00:00', to: '02:30', energyPerKWh: 0.2 }];

  it('spring forward (29 Mar 2026): 00:00-03:00 lasts 2 real hours', () => {
    // 23:00 CET → 04:00 CEST is 4 real hours at 1 kW
    const input = constantPower('2026-03-28T23:00:00+01:00', '2026-03-29T04:00:00+02:00', 1000);
    expect(input.meterEndWh - input.meterStartWh).toBe(4000);
    expect(energyLines(computeCost(energyOnly(night), input))).toEqual([
      ['Energy (other times)', 2000, 60],
      ['Energy sun 00:00-03:00', 2000, 40],
    ]);
  });

  it('spring forward: a window edge inside the missing hour (02:30) takes effect when the clock jumps to 03:00', () => {
    const input = constantPower('2026-03-28T23:00:00+01:00', '2026-03-29T04:00:00+02:00', 1000);
    const bands = priceBands(energyOnly(gapEdge), input.startWallMs, input.endWallMs);
    expect(bands.map((b) => [new Date(b.fromMs).toISOString(), b.window])).toEqual([
      ['2026-03-28T22:00:00.000Z', -1],
      ['2026-03-28T23:00:00.000Z', 0],
      ['2026-03-29T01:00:00.000Z', -1],
    ]);
    expect(splitEnergy(energyOnly(gapEdge), input)).toEqual([
      { window: -1, energyWh: 2000 },
      { window: 0, energyWh: 2000 },
    ]);
  });

  it('fall back (25 Oct 2026): 00:00-03:00 lasts 4 real hours', () => {
    const input = constantPower('2026-10-24T23:00:00+02:00', '2026-10-25T04:00:00+01:00', 1000);
    expect(input.meterEndWh - input.meterStartWh).toBe(6000);
    expect(energyLines(computeCost(energyOnly(night), input))).toEqual([
      ['Energy (other times)', 2000, 60],
      ['Energy sun 00:00-03:00', 4000, 80],
    ]);
  });

  it('fall back: the repeated hour is priced by the clock both times (window to 02:30)', () => {
    const input = constantPower('2026-10-24T23:00:00+02:00', '2026-10-25T04:00:00+01:00', 1000);
    const bands = priceBands(energyOnly(gapEdge), input.startWallMs, input.endWallMs);
    expect(bands.map((b) => [new Date(b.fromMs).toISOString(), b.window])).toEqual([
      ['2026-10-24T21:00:00.000Z', -1],
      ['2026-10-24T22:00:00.000Z', 0], // 00:00 CEST
      ['2026-10-25T00:30:00.000Z', -1], // 02:30 CEST
      ['2026-10-25T01:00:00.000Z', 0], // 02:00 CET, the clock went back
      ['2026-10-25T01:30:00.000Z', -1], // 02:30 CET
    ]);
    expect(splitEnergy(energyOnly(gapEdge), input)).toEqual([
      { window: -1, energyWh: 3000 },
      { window: 0, energyWh: 3000 },
    ]);
  });

  it('reads windows in the configured zone, not the system zone', () => {
    const ny = parseTariff({ currency: 'USD', energyPerKWh: 0.3, timeOfUse: [{ days: ['mon-fri'], from: '07:00', to: '22:00', energyPerKWh: 0.35 }], timeZone: 'America/New_York' });
    // 12:00-13:00 UTC on a Monday in November is 07:00-08:00 in New York (EST, UTC-5)
    const c = computeCost(ny, constantPower('2026-11-02T11:00:00Z', '2026-11-02T13:00:00Z', 1000));
    expect(energyLines(c)).toEqual([
      ['Energy (other times)', 1000, 30],
      ['Energy mon-fri 07:00-22:00', 1000, 35],
    ]);
  });
});

describe('computeCost: rounding (half up, once per line, tax on the rounded net)', () => {
  const flat = (price: number | string, over: Record<string, unknown> = {}) =>
    parseTariff({ currency: 'EUR', energyPerKWh: price, idleGraceMinutes: 0, timeZone: 'Europe/Berlin', ...over });
  const energy = (wh: number): CostInput => ({
    startWallMs: at('2026-11-07T10:00:00+01:00'),
    meterStartWh: 0,
    endWallMs: at('2026-11-07T11:00:00+01:00'),
    meterEndWh: wh,
    samples: [],
    pluggedMs: HOUR,
    idleAfterChargingMs: 0,
  });

  it('rounds a line of exactly half a cent up, and below half down', () => {
    expect(computeCost(flat(0.35), energy(100)).net).toBe(4); // 3.5 ct
    expect(computeCost(flat(0.35), energy(143)).net).toBe(5); // 5.005 ct
    expect(computeCost(flat(0.35), energy(1)).net).toBe(0); // 0.035 ct
    expect(computeCost(flat(0.345678), energy(1000)).net).toBe(35); // 34.5678 ct
  });

  it('rounds each line on its own, so two half-cent lines cost 2 cents', () => {
    const t = parseTariff({
      currency: 'EUR',
      energyPerKWh: 0.1,
      timeOfUse: [{ days: ['sat'], from: '10:30', to: '24:00', energyPerKWh: 0.1 }],
      timeZone: 'Europe/Berlin',
    });
    const c = computeCost(t, { ...energy(100), samples: [] }); // 50 Wh before 10:30, 50 after
    expect(energyLines(c)).toEqual([
      ['Energy (other times)', 50, 1],
      ['Energy sat 10:30-24:00', 50, 1],
    ]);
    expect(c.net).toBe(2);
  });

  it('computes tax once on the rounded net, half up', () => {
    const c = computeCost(flat(0.5, { taxPercent: 19 }), energy(1000)); // net 50 ct, tax 9.5 ct
    expect([c.net, c.tax, c.gross]).toEqual([50, 10, 60]);
    const d = computeCost(flat(0.3, { taxPercent: 7.7 }), energy(3333)); // 99.99 → 100 ct, tax 7.7 ct
    expect([d.net, d.tax, d.gross]).toEqual([100, 8, 108]);
  });

  it('uses the currency exponent: JPY has no minor unit', () => {
    const c = computeCost(parseTariff({ currency: 'JPY', energyPerKWh: 31.25, sessionFee: 100, taxPercent: 10, timeZone: 'Asia/Tokyo' }), energy(10_500));
    expect(energyLines(c)).toEqual([['Energy', 10_500, 328]]); // 328.125 yen
    expect([c.net, c.tax, c.gross, c.exponent]).toEqual([428, 43, 471, 0]); // tax 42.8
  });
});

describe('computeCost: idle fee, parking, zero energy', () => {
  const t = exampleTariff({ timeOfUse: [], taxPercent: 0, sessionFee: 0 }); // 0.10/min idle after 15 min
  const base = (idleMin: number, pluggedMs = 3 * HOUR): CostInput => ({
    startWallMs: at('2026-11-07T10:00:00+01:00'),
    meterStartWh: 0,
    endWallMs: at('2026-11-07T13:00:00+01:00'),
    meterEndWh: 1000,
    samples: [],
    pluggedMs,
    idleAfterChargingMs: idleMin * MIN,
  });
  const idle = (c: ReturnType<typeof computeCost>) => c.lines.find((l) => l.kind === 'idle')!;

  it('charges nothing within the grace and pro rata beyond it', () => {
    expect(idle(computeCost(t, base(15)))).toMatchObject({ quantity: 0, amount: 0 });
    expect(idle(computeCost(t, base(14)))).toMatchObject({ quantity: 0, amount: 0 });
    expect(idle(computeCost(t, base(15 + 3 / 60)))).toMatchObject({ quantity: 3000, amount: 1 }); // 0.5 ct → 1
    expect(idle(computeCost(t, base(15 + 2 / 60)))).toMatchObject({ quantity: 2000, amount: 0 }); // 0.33 ct
    expect(idle(computeCost(t, base(27)))).toMatchObject({ quantity: 12 * MIN, amount: 120 });
  });

  it('charges parking per hour plugged in, pro rata', () => {
    const p = exampleTariff({ timeOfUse: [], taxPercent: 0, sessionFee: 0, parkingPerHour: 1.2, idleFeePerMinute: 0 });
    const c = computeCost(p, base(0, 2.5 * HOUR));
    expect(c.lines.map((l) => [l.kind, l.quantity, l.amount])).toEqual([
      ['energy', 1000, 30],
      ['parking', 2.5 * HOUR, 300],
    ]);
    expect(computeCost(p, base(0, 1)).lines[1]!.amount).toBe(0);
  });

  it('a session without energy costs no session fee and no energy; idle counts from the start', () => {
    const start = { wallMs: at('2026-11-07T10:00:00+01:00'), energyWh: 5000 };
    const end = { wallMs: at('2026-11-07T10:40:00+01:00'), energyWh: 5000 };
    expect(chargingEndWallMs(start, [{ wallMs: start.wallMs + MIN, energyWh: 5000 }], end)).toBe(start.wallMs);
    const c = computeCost(exampleTariff(), {
      startWallMs: start.wallMs,
      meterStartWh: 5000,
      endWallMs: end.wallMs,
      meterEndWh: 5000,
      samples: [],
      pluggedMs: 40 * MIN,
      idleAfterChargingMs: 40 * MIN,
    });
    expect(c.lines.map((l) => [l.kind, l.quantity, l.amount])).toEqual([
      ['energy', 0, 0],
      ['idle', 25 * MIN, 250],
    ]);
    expect([c.energyWh, c.net, c.tax, c.gross]).toEqual([0, 250, 48, 298]); // tax 47.5 → 48
  });

  it('ignores readings that go backwards or lie outside the session; energy is always end − start', () => {
    const input: CostInput = {
      startWallMs: at('2026-11-02T06:00:00+01:00'),
      meterStartWh: 100,
      endWallMs: at('2026-11-02T08:00:00+01:00'),
      meterEndWh: 2100,
      samples: [
        { wallMs: at('2026-11-02T05:00:00+01:00'), energyWh: 50 },
        { wallMs: at('2026-11-02T06:30:00+01:00'), energyWh: 600 },
        { wallMs: at('2026-11-02T06:45:00+01:00'), energyWh: 0 }, // bad read
        { wallMs: at('2026-11-02T07:00:00+01:00'), energyWh: 1100 },
        { wallMs: at('2026-11-02T09:00:00+01:00'), energyWh: 9999 },
      ],
      pluggedMs: 2 * HOUR,
      idleAfterChargingMs: 0,
    };
    expect(splitEnergy(exampleTariff(), input)).toEqual([
      { window: -1, energyWh: 1000 },
      { window: 0, energyWh: 1000 },
    ]);
  });
});

describe('chargingEndWallMs and liveCost', () => {
  const s0 = { wallMs: at('2026-11-07T10:00:00+01:00'), energyWh: 0 };
  const samples: MeterPoint[] = [
    { wallMs: at('2026-11-07T10:20:00+01:00'), energyWh: 2000 },
    { wallMs: at('2026-11-07T10:40:00+01:00'), energyWh: 4000 },
    { wallMs: at('2026-11-07T11:00:00+01:00'), energyWh: 5000 },
    { wallMs: at('2026-11-07T11:20:00+01:00'), energyWh: 5000 },
  ];

  it('finds the first reading with the final register value; no such reading → still charging at the end', () => {
    const end = { wallMs: at('2026-11-07T11:30:00+01:00'), energyWh: 5000 };
    expect(chargingEndWallMs(s0, samples, end)).toBe(at('2026-11-07T11:00:00+01:00'));
    expect(chargingEndWallMs(s0, samples, { ...end, energyWh: 5100 })).toBe(end.wallMs);
    // charging resumed after a pause: the end of the last rise counts
    expect(chargingEndWallMs(s0, [...samples, { wallMs: at('2026-11-07T11:25:00+01:00'), energyWh: 5200 }], { ...end, energyWh: 5200 })).toBe(
      at('2026-11-07T11:25:00+01:00'),
    );
  });

  it('live cost accepts a meter value with decimals and a fractional wall time (rounded to Wh and ms)', () => {
    const c = liveCost(exampleTariff(), { startWallMs: s0.wallMs, meterStartWh: 0 }, samples.slice(0, 1), { wallMs: at('2026-11-07T10:30:00+01:00') + 0.4, energyWh: 3000.6 });
    expect(c.energyWh).toBe(3001);
    expect(c.lines[0]).toMatchObject({ kind: 'energy', quantity: 3001, amount: 90 });
  });

  it('live cost so far: energy, fee and idle time since the register stopped rising', () => {
    const now = { wallMs: at('2026-11-07T11:40:00+01:00'), energyWh: 5000 };
    const c = liveCost(exampleTariff(), { startWallMs: s0.wallMs, meterStartWh: 0 }, samples, now);
    expect(c.lines.map((l) => [l.kind, l.quantity, l.amount])).toEqual([
      ['energy', 5000, 150],
      ['sessionFee', 1, 50],
      ['idle', 25 * MIN, 250], // 40 min since 11:00, 15 min grace
    ]);
    expect([c.net, c.tax, c.gross]).toEqual([450, 86, 536]); // tax 85.5 → 86
  });
});
