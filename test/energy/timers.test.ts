import { describe, expect, it } from 'vitest';
import { timerState } from '../../src/energy/timers.js';
import { fromLocal, offsetMs, toLocal } from '../../src/energy/local-time.js';
import { chargingTimersSchema, type ChargingTimer } from '../../src/config/timers.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';

const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
const utc = (y: number, mo: number, d: number, h: number, mi = 0) => Date.UTC(y, mo - 1, d, h, mi);
const H = 3_600_000;
const timers = (list: unknown[]): ChargingTimer[] => chargingTimersSchema.parse(list);
const night = timers([{ days: ['weekdays'], start: '22:00', end: '06:00' }]);

describe('local time through Intl', () => {
  it('reads Berlin and New York offsets in winter and summer', () => {
    expect(offsetMs(utc(2026, 1, 15, 12), BERLIN)).toBe(1 * H);
    expect(offsetMs(utc(2026, 7, 15, 12), BERLIN)).toBe(2 * H);
    expect(offsetMs(utc(2026, 1, 15, 12), NEW_YORK)).toBe(-5 * H);
    expect(offsetMs(utc(2026, 7, 15, 12), NEW_YORK)).toBe(-4 * H);
    expect(toLocal(utc(2026, 3, 28, 23, 30), BERLIN)).toMatchObject({ day: 29, hour: 0, minute: 30, weekday: 0 });
  });

  it('a local time in the spring gap is read past it, a doubled one in autumn as the first', () => {
    // Berlin 2026-03-29: 02:00 CET → 03:00 CEST. 02:30 does not exist: 03:30 CEST = 01:30Z.
    expect(fromLocal(2026, 3, 29, 2, 30, BERLIN)).toBe(utc(2026, 3, 29, 1, 30));
    // Berlin 2026-10-25: 03:00 CEST → 02:00 CET. 02:30 occurs twice: the first is CEST = 00:30Z.
    expect(fromLocal(2026, 10, 25, 2, 30, BERLIN)).toBe(utc(2026, 10, 25, 0, 30));
    expect(fromLocal(2026, 10, 25, 3, 0, BERLIN)).toBe(utc(2026, 10, 25, 2, 0));
    // New York 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
    expect(fromLocal(2026, 3, 8, 2, 15, NEW_YORK)).toBe(utc(2026, 3, 8, 7, 15));
    expect(fromLocal(2026, 11, 1, 1, 30, NEW_YORK)).toBe(utc(2026, 11, 1, 5, 30));
  });
});

describe('charging timer windows (pure, any instant)', () => {
  it('a weekday window across midnight: closed before, open through the night, next boundary each time', () => {
    // Wednesday 2026-01-14, Berlin (CET, UTC+1).
    const before = timerState(night, 1, utc(2026, 1, 14, 20, 59), BERLIN);
    expect(before).toMatchObject({ applies: true, open: false, maxA: 0, nextChangeMs: utc(2026, 1, 14, 21) });
    const inside = timerState(night, 1, utc(2026, 1, 14, 23), BERLIN);
    expect(inside).toMatchObject({ open: true, maxA: undefined, nextChangeMs: utc(2026, 1, 15, 5), untilMs: utc(2026, 1, 15, 5) });
    // Past midnight, Thursday 03:00 local: still Wednesday's window.
    expect(timerState(night, 1, utc(2026, 1, 15, 2), BERLIN)).toMatchObject({ open: true, nextChangeMs: utc(2026, 1, 15, 5) });
    expect(timerState(night, 1, utc(2026, 1, 15, 5), BERLIN)).toMatchObject({ open: false, maxA: 0, nextChangeMs: utc(2026, 1, 15, 21) });
  });

  it('Friday night runs into Saturday; Saturday night has no window, the next opens on Monday', () => {
    // Saturday 2026-01-17 05:00 local = 04:00Z: Friday's window.
    expect(timerState(night, 1, utc(2026, 1, 17, 4), BERLIN)).toMatchObject({ open: true, nextChangeMs: utc(2026, 1, 17, 5) });
    const sat = timerState(night, 1, utc(2026, 1, 17, 22), BERLIN);
    expect(sat).toMatchObject({ open: false, maxA: 0, nextChangeMs: utc(2026, 1, 19, 21), untilMs: utc(2026, 1, 19, 21) });
  });

  it('Europe/Berlin spring forward: the night that loses an hour is 7 hours long; a start in the gap opens after it', () => {
    const daily = timers([{ days: ['daily'], start: '22:00', end: '06:00' }]);
    // Saturday 2026-03-28 22:30 CET = 21:30Z; the window ends Sunday 06:00 CEST = 04:00Z.
    const s = timerState(daily, 1, utc(2026, 3, 28, 21, 30), BERLIN);
    expect(s).toMatchObject({ open: true, nextChangeMs: utc(2026, 3, 29, 4) });
    expect(utc(2026, 3, 29, 4) - utc(2026, 3, 28, 21)).toBe(7 * H);
    const gap = timers([{ days: ['sun'], start: '02:30', end: '04:00' }]);
    expect(timerState(gap, 1, utc(2026, 3, 29, 0, 45), BERLIN)).toMatchObject({ open: false, nextChangeMs: utc(2026, 3, 29, 1, 30) });
    expect(timerState(gap, 1, utc(2026, 3, 29, 1, 30), BERLIN)).toMatchObject({ open: true, nextChangeMs: utc(2026, 3, 29, 2) });
  });

  it('Europe/Berlin fall back: the long night is 9 hours; a window in the doubled hour opens once', () => {
    const daily = timers([{ days: ['daily'], start: '22:00', end: '06:00' }]);
    // Saturday 2026-10-24 22:00 CEST = 20:00Z; Sunday 06:00 CET = 05:00Z.
    expect(timerState(daily, 1, utc(2026, 10, 24, 20), BERLIN)).toMatchObject({ open: true, nextChangeMs: utc(2026, 10, 25, 5) });
    const doubled = timers([{ days: ['sun'], start: '02:30', end: '03:00' }]);
    expect(timerState(doubled, 1, utc(2026, 10, 25, 0, 15), BERLIN)).toMatchObject({ open: false, nextChangeMs: utc(2026, 10, 25, 0, 30) });
    // 02:40 CET (the second 02:40) is still inside: the window runs 00:30Z–02:00Z.
    expect(timerState(doubled, 1, utc(2026, 10, 25, 1, 40), BERLIN)).toMatchObject({ open: true, nextChangeMs: utc(2026, 10, 25, 2) });
    expect(timerState(doubled, 1, utc(2026, 10, 25, 2), BERLIN)).toMatchObject({ open: false });
  });

  it('America/New_York: 22:00–06:00 over both DST changes of 2026', () => {
    const daily = timers([{ days: ['daily'], start: '22:00', end: '06:00' }]);
    // Saturday 2026-03-07 22:00 EST = 03:00Z; Sunday 06:00 EDT = 10:00Z: 7 hours.
    expect(timerState(daily, 1, utc(2026, 3, 8, 3), NEW_YORK)).toMatchObject({ open: true, nextChangeMs: utc(2026, 3, 8, 10) });
    expect(timerState(daily, 1, utc(2026, 3, 8, 2, 59), NEW_YORK)).toMatchObject({ open: false, nextChangeMs: utc(2026, 3, 8, 3) });
    // Saturday 2026-10-31 22:00 EDT = 02:00Z; Sunday 06:00 EST = 11:00Z: 9 hours.
    expect(timerState(daily, 1, utc(2026, 11, 1, 2), NEW_YORK)).toMatchObject({ open: true, nextChangeMs: utc(2026, 11, 1, 11) });
  });

  it('an empty day set never opens: the connector waits, and no boundary ever comes', () => {
    const never: ChargingTimer[] = [{ days: [], start: '22:00', end: '06:00' }];
    expect(timerState(never, 1, utc(2026, 1, 14, 23), BERLIN)).toEqual({ applies: true, open: false, maxA: 0, nextChangeMs: null, untilMs: null });
  });

  it('windows for other connectors leave a connector alone; maxA caps inside; overlapping windows take the most generous', () => {
    const list = timers([
      { days: ['daily'], start: '00:00', end: '06:00', connectors: [2], maxA: 10 },
      { days: ['daily'], start: '05:00', end: '07:00', connectors: [2], maxA: 16 },
    ]);
    expect(timerState(list, 1, utc(2026, 1, 14, 3), 'UTC')).toEqual({ applies: false, open: false, maxA: undefined, nextChangeMs: null, untilMs: null });
    expect(timerState(list, 2, utc(2026, 1, 14, 3), 'UTC')).toMatchObject({ open: true, maxA: 10, nextChangeMs: utc(2026, 1, 14, 5), untilMs: utc(2026, 1, 14, 7) });
    expect(timerState(list, 2, utc(2026, 1, 14, 5, 30), 'UTC')).toMatchObject({ open: true, maxA: 16 });
    // start = end: the whole day.
    const allDay = timers([{ days: ['mon'], start: '00:00', end: '00:00' }]);
    expect(timerState(allDay, 1, utc(2026, 1, 12, 23, 59), 'UTC')).toMatchObject({ open: true, nextChangeMs: utc(2026, 1, 13, 0) });
  });

  it('the config schema expands day groups and names what is wrong', () => {
    expect(timers([{ days: ['weekend', 'MON', 'tue-wed'], start: '22:00', end: '06:00' }])[0]!.days).toEqual(['sun', 'mon', 'tue', 'wed', 'sat']);
    const empty = chargingTimersSchema.safeParse([{ days: [], start: '22:00', end: '06:00' }]);
    expect(empty.success || empty.error.issues[0]!.message).toMatch(/at least one day/);
    const bad = chargingTimersSchema.safeParse([{ start: '24:00', end: '6:00' }]);
    expect(bad.success || bad.error.issues.map((i) => i.path.join('.'))).toEqual(['0.start', '0.end']);
  });
});

describe('owner config', () => {
  const base = `station: { id: CP-1, vendor: v, model: m, timeZone: Europe/Berlin }
storage: { dir: /tmp/x }
auth: { mode: free }
connectors:
  - id: 1
    maxCurrentA: 16
    phases: 3
    hardware: { driver: sim }
    meter: { model: sim }
    sessionLimits: { energyWh: 20000, durationS: 3600 }
    energyTargetStops: true
`;
  const problems = (text: string): string => {
    try {
      parseConfig(text);
      return '';
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
  };

  it('reads the time zone, timers and session limits', () => {
    const c = parseConfig(`${base}timers:\n  - { days: [mon-fri], start: "22:00", end: "06:00", maxA: 10 }\n`);
    expect(c.station.timeZone).toBe('Europe/Berlin');
    expect(c.timers).toEqual([{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '22:00', end: '06:00', maxA: 10 }]);
    expect(c.connectors[0]).toMatchObject({ sessionLimits: { energyWh: 20000, durationS: 3600 }, energyTargetStops: true });
  });

  it('names the key and the fix of a bad time zone, timer or limit', () => {
    expect(problems(base.replace('Europe/Berlin', 'Europe/Bonn'))).toMatch(/station\.timeZone: must be an IANA time zone name/);
    expect(problems(`${base}timers:\n  - { days: [someday], start: "22:00", end: "06:00" }\n`)).toMatch(/timers\[0\]\.days\[0\]: must be a day/);
    expect(problems(`${base}timers:\n  - { start: "22:00", end: "06:00", connectors: [2] }\n`)).toMatch(/timers\[0\]\.connectors\[0\]: no connector 2/);
    expect(problems(`${base}timers:\n  - { start: "22:00", end: "06:00", maxA: 32 }\n`)).toMatch(/timers\[0\]\.maxA: must be at most 16 A/);
    expect(problems(base.replace('durationS: 3600', 'durationS: 5'))).toMatch(/connectors\[0\]\.sessionLimits\.durationS: must be between 60 and 604800/);
  });
});
