import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { localDay, localHour, offsetSegments, StationStatsRepository } from '../../src/store/stats.js';
import { insertFixture, PERIOD } from './fixture.js';

let dir: string;
let db: Db;
let stats: StationStatsRepository;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'evsed-stats-'));
  db = openDb(join(dir, 'evsed.db'), [coreMigrations]);
  insertFixture(db);
  stats = new StationStatsRepository(db);
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const berlin = { ...PERIOD, timeZone: 'Europe/Berlin' };

describe('energy per day', () => {
  it('groups by the local day of the start, across the DST change, every day listed', () => {
    expect(stats.energyPerDay(berlin)).toEqual([
      { day: '2026-10-24', energyWh: 26000, sessions: 2 },
      { day: '2026-10-25', energyWh: 7400, sessions: 2 },
      { day: '2026-10-26', energyWh: 27500, sessions: 3 },
    ]);
  });

  it('uses UTC days when no zone is given (the same instants, other days)', () => {
    expect(stats.energyPerDay(PERIOD)).toEqual([
      { day: '2026-10-23', energyWh: 0, sessions: 0 },
      { day: '2026-10-24', energyWh: 26000, sessions: 2 },
      { day: '2026-10-25', energyWh: 10400, sessions: 3 },
      { day: '2026-10-26', energyWh: 24500, sessions: 2 },
    ]);
  });
});

describe('sessions by hour of day', () => {
  it('counts starts per local hour, 24 entries', () => {
    const hours = stats.sessionsByHour(berlin);
    expect(hours).toHaveLength(24);
    expect(hours.filter((h) => h.sessions > 0)).toEqual([
      { hour: 0, sessions: 1, energyWh: 3000 },
      { hour: 2, sessions: 1, energyWh: 0 },
      { hour: 7, sessions: 2, energyWh: 18400 },
      { hour: 17, sessions: 1, energyWh: 2500 },
      { hour: 23, sessions: 2, energyWh: 37000 },
    ]);
  });
});

describe('utilisation', () => {
  it('counts the part of each session inside the period, charging pro-rated', () => {
    // 73 h x 2 connectors. Occupied: F 7199 s (from 22:00:00), A 7200, B 10800, D 1800, C 3600, G 3600, E 3600, H 3600 (to the end).
    // Charging: F 3600 x 7199/7200 = 3599.5, A 5400, B 7200, D 0, C 3600, G 1800, E 3600, H 3600.
    expect(stats.utilisation(berlin, 2)).toEqual({
      capacityS: 525_600,
      occupiedS: 41_399,
      chargingS: 28_799,
      occupiedPercent: 7.9,
      chargingPercent: 5.5,
    });
  });

  it('ends the period at now, so days to come do not dilute it', () => {
    const now = Date.parse('2026-10-25T01:00:00Z');
    // 27 h x 2. F 7199, A 7200, B 10800 (ends 00:30 UTC); charging 3599.5 + 5400 + 7200.
    expect(stats.utilisation(berlin, 2, now)).toEqual({
      capacityS: 194_400,
      occupiedS: 25_199,
      chargingS: 16_199,
      occupiedPercent: 13,
      chargingPercent: 8.3,
    });
  });

  it('is zero for a period without sessions and refuses a connector count below 1', () => {
    const empty = { fromMs: Date.parse('2025-01-01T00:00:00Z'), toMs: Date.parse('2025-01-02T00:00:00Z') };
    expect(stats.utilisation(empty, 1)).toEqual({ capacityS: 86_400, occupiedS: 0, chargingS: 0, occupiedPercent: 0, chargingPercent: 0 });
    expect(() => stats.utilisation(empty, 0)).toThrow(/connectors/);
  });
});

describe('averages', () => {
  it('counts sessions started in the period and averages the completed ones', () => {
    // Completed in period: A, B, D, C, G, H. Energy (11000+15000+0+7400+3000+22000)/6 = 9733.3.
    expect(stats.averages(berlin)).toEqual({
      sessions: 7,
      completed: 6,
      totalEnergyWh: 60_900,
      avgEnergyWh: 9733,
      avgDurationS: 6300,
      avgChargingS: 4800,
    });
  });

  it('has no averages when nothing completed', () => {
    const empty = { fromMs: Date.parse('2025-01-01T00:00:00Z'), toMs: Date.parse('2025-01-02T00:00:00Z') };
    expect(stats.averages(empty)).toEqual({ sessions: 0, completed: 0, totalEnergyWh: 0, avgEnergyWh: null, avgDurationS: null, avgChargingS: null });
  });
});

describe('period checks', () => {
  it('refuses an empty or reversed period and an unknown zone, plainly', () => {
    expect(() => stats.stationStats({ fromMs: PERIOD.toMs, toMs: PERIOD.fromMs }, 1)).toThrow('period: "to" must be after "from"');
    expect(() => stats.energyPerDay({ ...PERIOD, timeZone: 'Mars/Olympus' })).toThrow('unknown time zone "Mars/Olympus"');
    expect(() => stats.averages({ fromMs: 0, toMs: 1001 * 86_400_000 })).toThrow('period: at most 1000 days');
  });

  it('lists every local day of a 1000-day period, DST days included', () => {
    const fromMs = Date.parse('2024-01-01T00:00:00Z');
    const days = stats.energyPerDay({ fromMs, toMs: fromMs + 1000 * 86_400_000, timeZone: 'Europe/Berlin' });
    // 00:00 UTC is 01:00 in Berlin: the period touches 1001 local dates.
    expect(days.length).toBe(1001);
    expect(days[0]!.day).toBe('2024-01-01');
    expect(days[1000]!.day).toBe('2026-09-27');
  });
});

describe('local days and hours in SQL agree with Intl', () => {
  const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Santiago', 'UTC'];
  const period = { fromMs: Date.parse('2025-01-01T00:00:00Z'), toMs: Date.parse('2027-01-01T00:00:00Z') };

  it('finds every offset change to the second (Berlin 2026: 29 March 01:00 UTC, 25 October 01:00 UTC)', () => {
    const segs = offsetSegments(Date.parse('2026-01-01T00:00:00Z'), Date.parse('2027-01-01T00:00:00Z'), 'Europe/Berlin');
    expect(segs).toEqual([
      { untilMs: Date.parse('2026-03-29T01:00:00Z'), offsetMs: 3_600_000 },
      { untilMs: Date.parse('2026-10-25T01:00:00Z'), offsetMs: 7_200_000 },
      { untilMs: Infinity, offsetMs: 3_600_000 },
    ]);
    // Lord Howe moves by half an hour.
    const lh = offsetSegments(Date.parse('2026-01-01T00:00:00Z'), Date.parse('2027-01-01T00:00:00Z'), 'Australia/Lord_Howe');
    expect(lh.map((s) => s.offsetMs)).toEqual([39_600_000, 37_800_000, 39_600_000]);
  });

  it.each(ZONES)('%s: every session counted on the day and hour Intl gives', (tz) => {
    const dir2 = mkdtempSync(join(tmpdir(), 'evsed-stats-tz-'));
    const db2 = openDb(join(dir2, 'evsed.db'), [coreMigrations]);
    try {
      // Pseudo-random starts over two years, plus the seconds either side of each offset change.
      let seed = 42;
      const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
      const starts: number[] = [];
      for (let i = 0; i < 1500; i++) starts.push(period.fromMs + Math.floor(rnd() * (period.toMs - period.fromMs)));
      for (const seg of offsetSegments(period.fromMs, period.toMs, tz).slice(0, -1)) starts.push(seg.untilMs - 1000, seg.untilMs, seg.untilMs + 1000);
      insertFixture(db2, starts.map((ms, i) => ({ name: String(i), start: new Date(ms).toISOString(), durationMin: 1, chargingMin: 1, energyWh: 1 + (i % 7) })));

      const wantDays = new Map<string, { energyWh: number; sessions: number }>();
      const wantHours = Array.from({ length: 24 }, (_, hour) => ({ hour, sessions: 0, energyWh: 0 }));
      starts.forEach((ms, i) => {
        const day = localDay(ms, tz);
        const d = wantDays.get(day) ?? { energyWh: 0, sessions: 0 };
        d.energyWh += 1 + (i % 7);
        d.sessions += 1;
        wantDays.set(day, d);
        wantHours[localHour(ms, tz)]!.sessions += 1;
        wantHours[localHour(ms, tz)]!.energyWh += 1 + (i % 7);
      });
      const p = { ...period, timeZone: tz };
      const stats2 = new StationStatsRepository(db2);
      const days = stats2.energyPerDay(p).filter((x) => x.sessions > 0);
      expect(days).toEqual([...wantDays].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, v]) => ({ day, ...v })));
      expect(stats2.sessionsByHour(p)).toEqual(wantHours);
    } finally {
      db2.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
