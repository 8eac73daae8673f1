import { describe, expect, it } from 'vitest';
import { localIso, localMidnight, localTime, offsetMs } from '../../src/billing/zone.js';

describe('zone helpers (Intl only)', () => {
  it('offsets of Europe/Berlin around the 2026 changes', () => {
    expect(offsetMs(Date.parse('2026-03-29T00:59:59Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(offsetMs(Date.parse('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe(7_200_000);
    expect(offsetMs(Date.parse('2026-10-25T00:59:59Z'), 'Europe/Berlin')).toBe(7_200_000);
    expect(offsetMs(Date.parse('2026-10-25T01:00:00Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(localIso(Date.parse('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toBe('2026-10-25T02:30:00+01:00');
    expect(localIso(Date.parse('2026-07-01T12:00:00Z'), 'Asia/Kolkata')).toBe('2026-07-01T17:30:00+05:30');
  });

  it('weekday and ms of day are local', () => {
    // Sunday 23:30 UTC is Monday 00:30 in Berlin in November
    expect(localTime(Date.parse('2026-11-08T23:30:00Z'), 'Europe/Berlin')).toMatchObject({ weekday: 1, msOfDay: 30 * 60_000 });
    expect(localTime(Date.parse('2026-11-08T23:30:00Z'), 'UTC')).toMatchObject({ weekday: 0, msOfDay: 23.5 * 3_600_000 });
  });

  it('localMidnight is the first instant of every local day of 2026, also where midnight is skipped', () => {
    // America/Santiago and America/Havana change the clock at midnight; Europe/Berlin and Australia/Lord_Howe (30 min) do not.
    for (const zone of ['Europe/Berlin', 'America/Santiago', 'America/Havana', 'Australia/Lord_Howe', 'Pacific/Kiritimati', 'UTC']) {
      for (let d = 0; d < 365; d++) {
        const date = new Date(Date.UTC(2026, 0, 1 + d));
        const m = localMidnight(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), zone);
        const target = Math.floor(date.getTime() / 86_400_000);
        const here = localTime(m, zone).day;
        const before = localTime(m - 1, zone).day;
        if (here !== target || before !== target - 1) throw new Error(`${zone} ${date.toISOString().slice(0, 10)}: got ${new Date(m).toISOString()}`);
      }
    }
    // Santiago skips 00:00-01:00 on 2026-09-06: the day begins at 01:00 -03
    expect(localIso(localMidnight(2026, 9, 6, 'America/Santiago'), 'America/Santiago')).toBe('2026-09-06T01:00:00-03:00');
  });
});
