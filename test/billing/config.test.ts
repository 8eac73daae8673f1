import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { expandDays, parseTariff } from '../../src/config/tariff.js';
import { exampleTariff, stationYaml } from './helpers.js';

function problems(tariffYaml: string): string[] {
  try {
    parseConfig(stationYaml('/tmp/x', tariffYaml));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('tariff config', () => {
  it('converts the issue example to integer minor units (rates in 1/10 000 minor units)', () => {
    const cfg = parseConfig(
      stationYaml(
        '/tmp/x',
        `tariff:
  currency: EUR
  energyPerKWh: 0.30
  sessionFee: 0.50
  timeOfUse: [ { days: [mon-fri], from: "07:00", to: "22:00", energyPerKWh: 0.35 } ]
  parkingPerHour: 0.00
  idleFeePerMinute: 0.10
  idleGraceMinutes: 15
  taxPercent: 19
  timeZone: Europe/Berlin
`,
      ),
    );
    expect(cfg.tariff).toEqual({
      currency: 'EUR',
      exponent: 2,
      timeZone: 'Europe/Berlin',
      energyPerKWh: 300_000,
      sessionFee: 50,
      timeOfUse: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '22:00', fromMin: 420, toMin: 1320, energyPerKWh: 350_000 }],
      parkingPerHour: 0,
      idleFeePerMinute: 100_000,
      idleGraceMinutes: 15,
      taxBasisPoints: 1900,
    });
  });

  it('defaults the time zone to the system zone and optional prices to 0', () => {
    const t = parseTariff({ currency: 'CHF', energyPerKWh: 0.25 });
    expect(t.timeZone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect([t.sessionFee, t.parkingPerHour, t.idleFeePerMinute, t.taxBasisPoints, t.idleGraceMinutes]).toEqual([0, 0, 0, 0, 15]);
  });

  it('uses the ISO 4217 exponent: JPY has no decimals, KWD three', () => {
    expect(parseTariff({ currency: 'JPY', energyPerKWh: 31.25, sessionFee: 100 })).toMatchObject({ exponent: 0, energyPerKWh: 312_500, sessionFee: 100 });
    expect(parseTariff({ currency: 'KWD', energyPerKWh: 0.015, sessionFee: 0.125 })).toMatchObject({ exponent: 3, energyPerKWh: 150_000, sessionFee: 125 });
  });

  it('accepts rates with up to 4 more decimals than the currency, and decimal strings', () => {
    expect(parseTariff({ currency: 'EUR', energyPerKWh: 0.345678 }).energyPerKWh).toBe(345_678);
    expect(parseTariff({ currency: 'EUR', energyPerKWh: '0.30', taxPercent: 7.7 })).toMatchObject({ energyPerKWh: 300_000, taxBasisPoints: 770 });
  });

  it('says which key is wrong and why', () => {
    expect(problems(`tariff: { currency: EUR, energyPerKWh: 0.3, timeOfUse: [ { days: [mon-fri], from: "7:00", to: "22:00", energyPerKWh: 0.35 } ] }`)).toEqual([
      'tariff.timeOfUse[0].from: must be HH:MM (got "7:00")',
    ]);
    expect(problems(`tariff: { currency: EUR, energyPerKWh: 0.3000001, sessionFee: 0.505 }`)).toEqual([
      'tariff.energyPerKWh: must have at most 6 decimals for EUR (a price per kWh) (got 0.3000001)',
      'tariff.sessionFee: must have at most 2 decimals for EUR (got 0.505)',
    ]);
    expect(problems(`tariff: { currency: JPY, energyPerKWh: 30, sessionFee: 100.5 }`)).toEqual([
      'tariff.sessionFee: must be a whole amount for JPY (no decimals) (got 100.5)',
    ]);
    expect(problems(`tariff: { currency: eur, energyPerKWh: -1, taxPercent: 19.123, timeZone: Mars/Base, energyPerKwh: 1 }`)).toEqual([
      'tariff.energyPerKWh: must be a non-negative decimal price in major units, e.g. 0.30 (got -1)',
      'tariff.timeZone: must be an IANA time zone, e.g. Europe/Berlin (got "Mars/Base")',
      'tariff.energyPerKwh: unknown key (did you mean energyPerKWh?)',
      'tariff.currency: must be an ISO 4217 currency code in capitals, e.g. EUR, CHF, GBP, JPY (got "eur")',
      'tariff.taxPercent: must have at most 2 decimals, e.g. 7.7 (got 19.123)',
    ]);
    expect(problems(`tariff: { currency: EUR, energyPerKWh: 1e20, sessionFee: 0.500 }`)).toEqual(['tariff.energyPerKWh: is too large for a price (got 100000000000000000000)']);
    expect(problems(`tariff: { currency: XAU, energyPerKWh: 1 }`)).toEqual([
      'tariff.currency: must be an ISO 4217 currency code in capitals, e.g. EUR, CHF, GBP, JPY (got "XAU")',
    ]);
  });

  it('rejects windows across midnight and bad days with advice', () => {
    expect(problems(`tariff: { currency: EUR, energyPerKWh: 0.3, timeOfUse: [ { days: [xyz], from: "22:00", to: "06:00", energyPerKWh: 0.2 } ] }`)).toEqual([
      'tariff.timeOfUse[0].days[0]: must be a day: mon tue wed thu fri sat sun, or a range such as mon-fri (got "xyz")',
      'tariff.timeOfUse[0].to: must be after from (22:00); for a window across midnight use two windows, one to "24:00" and one from "00:00" (got "06:00")',
    ]);
  });

  it('rejects overlapping windows, naming the day and hours', () => {
    const p = problems(`tariff:
  currency: EUR
  energyPerKWh: 0.3
  timeOfUse:
    - { days: [mon-fri], from: "07:00", to: "22:00", energyPerKWh: 0.35 }
    - { days: [fri, sat], from: "21:00", to: "24:00", energyPerKWh: 0.20 }
`);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^tariff\.timeOfUse\[1\]: overlaps timeOfUse\[0\] on fri 21:00-22:00: windows must not overlap/);
  });

  it('allows windows that touch (to 07:00 and from 07:00) and weekend-only windows', () => {
    const t = exampleTariff({
      timeOfUse: [
        { days: ['mon-fri'], from: '00:00', to: '07:00', energyPerKWh: 0.2 },
        { days: ['mon-fri'], from: '07:00', to: '24:00', energyPerKWh: 0.35 },
        { days: ['sat', 'sun'], from: '00:00', to: '24:00', energyPerKWh: 0.25 },
      ],
    });
    expect(t.timeOfUse.map((w) => [w.days.join(','), w.fromMin, w.toMin])).toEqual([
      ['mon,tue,wed,thu,fri', 0, 420],
      ['mon,tue,wed,thu,fri', 420, 1440],
      ['sat,sun', 0, 1440],
    ]);
  });

  it('expands day ranges, including ranges over the weekend', () => {
    expect(expandDays('mon-fri')).toEqual(['mon', 'tue', 'wed', 'thu', 'fri']);
    expect(expandDays('fri-mon')).toEqual(['fri', 'sat', 'sun', 'mon']);
    expect(expandDays('Sun')).toEqual(['sun']);
    expect(expandDays('monday')).toBeNull();
  });
});
