import { describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../src/store/db.js';
import { coreMigrations } from '../../src/store/core-migrations.js';
import { billingMigrations } from '../../src/store/billing/migrations.js';
import { SessionStore, wholeSeconds } from '../../src/store/sessions.js';
import { DateInputError, parseDate, parseDateRange, sessionRow } from '../../src/store/export.js';
import type { Stamp } from '../../src/hal/clock.js';
import { runCli, tempDir, writeSimConfig } from '../support/station.js';

const at = (wallMs: number, monoMs = 1000): Stamp => ({ wallMs, quality: 'synced', bootId: 'b1', monoMs });

describe('parseDate: only dates that mean one instant', () => {
  it('reads a bare date as a UTC day and a timestamp with its zone', () => {
    expect(parseDate('2026-11-30', '--from')).toBe(Date.UTC(2026, 10, 30));
    expect(parseDate('2026-11-30', '--to', true)).toBe(Date.UTC(2026, 11, 1));
    expect(parseDate('2026-11-30T18:05:00Z', '--from')).toBe(Date.UTC(2026, 10, 30, 18, 5));
    expect(parseDate('2026-11-30T19:05+01:00', '--from')).toBe(Date.UTC(2026, 10, 30, 18, 5));
    expect(parseDate('2026-11-30T13:05:07.250-05:00', '--from')).toBe(Date.UTC(2026, 10, 30, 18, 5, 7, 250));
    // A timestamp is an instant: endOfDay only widens a bare date.
    expect(parseDate('2026-11-30T18:05:00Z', '--to', true)).toBe(Date.UTC(2026, 10, 30, 18, 5));
  });

  const refused: [string, RegExp][] = [
    ['12', /not a date/],
    ['1', /not a date/],
    ['yesterday', /not a date/],
    ['2026-11-30 18:00', /not a date/], // zoneless text would be read in the machine's local time
    ['2026-11-30T18:00:00', /not a date/],
    ['2026-02-30', /no such date or time/], // Date.parse rolls this into March
    ['2026-13-01', /no such date or time/],
    ['2026-11-30T24:00:00Z', /no such date or time/],
    ['2026-11-30T18:00+15:00', /no such zone offset/],
  ];
  for (const [text, why] of refused) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      expect(() => parseDate(text, '--from')).toThrow(DateInputError);
      expect(() => parseDate(text, '--from')).toThrow(why);
      expect(() => parseDate(text, '--from')).toThrow(/^--from: .*use YYYY-MM-DD or an ISO timestamp with a zone/);
    });
  }

  it('refuses an empty range instead of answering nothing', () => {
    expect(() => parseDateRange('2026-12-02', '2026-12-01', ['--from', '--to'])).toThrow(/^--to: must be after --from/);
    // The same day as from and to is that whole day.
    expect(parseDateRange('2026-12-01', '2026-12-01', ['--from', '--to'])).toEqual({ fromMs: Date.UTC(2026, 11, 1), toMs: Date.UTC(2026, 11, 2) });
    expect(parseDateRange(undefined, null, ['from', 'to'])).toEqual({});
  });
});

describe('durations in whole seconds', () => {
  it('charging + idle = duration in seconds, as in milliseconds', () => {
    // Flooring each part alone gives 4 + 0 for a 5 s session.
    expect(wholeSeconds({ durationMs: 5_400, chargingMs: 4_700, idleMs: 700, meterGapMs: 1_999 })).toEqual({ durationS: 5, chargingS: 4, idleS: 1, meterGapS: 1 });
    expect(wholeSeconds({ durationMs: 5_999, chargingMs: 5_999, idleMs: 0, meterGapMs: 0 })).toEqual({ durationS: 5, chargingS: 5, idleS: 0, meterGapS: 0 });
    expect(wholeSeconds(null)).toEqual({ durationS: 0, chargingS: 0, idleS: 0, meterGapS: 0 });
  });
});

describe('evsed sessions export --from/--to over a real store', () => {
  function station() {
    const dir = tempDir();
    const config = writeSimConfig(dir);
    mkdirSync(join(dir, 'data'));
    const db = openDb(join(dir, 'data', 'evsed.db'), [coreMigrations, billingMigrations]);
    const s = new SessionStore(db);
    const durations = { durationMs: 3_600_400, chargingMs: 3_000_700, idleMs: 599_700, meterGapMs: 0 };
    // Sessions late on the 29th, on the 30th, and just after midnight on the 1st (UTC).
    let meter = 10_000;
    for (const [label, startMs] of [['A', Date.UTC(2026, 10, 29, 23, 0)], ['B', Date.UTC(2026, 10, 30, 12, 0)], ['C', Date.UTC(2026, 11, 1, 0, 30)]] as const) {
      const rec = s.start({ connectorId: 1, idTag: label, authSource: 'local', meterStartWh: meter, at: at(startMs) });
      meter += 7_123;
      s.stop(rec.id, { meterStopWh: meter, reason: 'EVDisconnected', at: at(startMs + 3_600_400, 3_601_400), ...durations });
    }
    db.close();
    return { config };
  }

  it('a bare --to includes that day; timestamps are instants; rows carry the register difference', async () => {
    const { config } = station();
    const day = await runCli(['sessions', 'export', '--format', 'json', '--config', config, '--from', '2026-11-30', '--to', '2026-11-30']);
    expect(day.stderr).toBe('');
    expect(day.code).toBe(0);
    const rows = JSON.parse(day.stdout) as ReturnType<typeof sessionRow>[];
    expect(rows.map((r) => r.idTag)).toEqual(['B']);
    expect(rows[0]).toMatchObject({ meterStartWh: 17_123, meterStopWh: 24_246, energyWh: 7_123, durationS: 3600, chargingS: 3000, idleS: 600 });

    const window = await runCli(['sessions', 'export', '--format', 'csv', '--config', config, '--from', '2026-11-29T23:30:00Z', '--to', '2026-12-01T01:31+01:00']);
    expect(window.code).toBe(0);
    const lines = window.stdout.trim().split('\r\n');
    const header = lines[0]!.split(',');
    expect(lines.slice(1).map((l) => l.split(',')[header.indexOf('idTag')])).toEqual(['B', 'C']);
  });

  it('a date that is no date, or an empty range, is a usage error (exit 64) naming the option', async () => {
    const { config } = station();
    for (const args of [['--from', '2026-02-30'], ['--from', '12'], ['--from', '2026-12-02', '--to', '2026-12-01']]) {
      const r = await runCli(['sessions', 'export', '--format', 'csv', '--config', config, ...args]);
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr).toMatch(/^evsed: --(from|to): /m);
      expect(r.stdout).toBe('');
    }
  });
});
