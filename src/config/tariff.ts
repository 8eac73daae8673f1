import { z } from 'zod';
import { isTimeZone, systemTimeZone } from '../util/time-zone.js';
import { crossKeys, ifReadable } from './cross-keys.js';
import { intBetween, nonEmptyString } from './zod-helpers.js';
import { RATE_EXTRA_DIGITS, currencyExponent, decimalPlaces, isPlainDecimal, toScaledInteger } from '../domain/money.js';

/**
 * The `tariff` section (issue 4). Absent = no cost computed. Prices are written in major units
 * (0.30 = 30 cents) and converted here, once, to integers:
 *   - sessionFee: whole minor units, so at most the currency's decimals (EUR 2, JPY 0, KWD 3);
 *   - rates (energyPerKWh, parkingPerHour, idleFeePerMinute): up to 4 decimals more than the
 *     currency (EUR 0.123456/kWh), stored in 1/10 000 of a minor unit;
 *   - taxPercent: up to 2 decimals (7.7), stored in basis points (19 % = 1900).
 * More precision than that is rejected, never rounded away.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface TouWindow {
  /** Local days the window applies to, in week order (mon first). */
  days: Weekday[];
  /** "HH:MM" as configured; `to` may be "24:00". */
  from: string;
  to: string;
  /** Minutes after local midnight, [fromMin, toMin). */
  fromMin: number;
  toMin: number;
  /** 1/10 000 minor units per kWh. */
  energyPerKWh: number;
}

/** The normalised tariff: what is computed with and snapshotted with each session (as JSON). */
export interface Tariff {
  currency: string;
  /** ISO 4217 minor-unit exponent (EUR 2, JPY 0). */
  exponent: number;
  /** IANA zone in which the time-of-use windows are read. */
  timeZone: string;
  /** Base energy price outside every window: 1/10 000 minor units per kWh. */
  energyPerKWh: number;
  /** Minor units per session. */
  sessionFee: number;
  timeOfUse: TouWindow[];
  /** 1/10 000 minor units per hour plugged in. */
  parkingPerHour: number;
  /** 1/10 000 minor units per minute idle after charging ended, beyond the grace. */
  idleFeePerMinute: number;
  idleGraceMinutes: number;
  /** Tax added on the net: basis points (1900 = 19 %). */
  taxBasisPoints: number;
}
/** What `config.tariff` holds after loading. */
export type TariffConfig = Tariff;

const price = z.union([z.number(), z.string()], { error: 'must be a price in major units, e.g. 0.30' }).refine(
  isPlainDecimal,
  { error: 'must be a non-negative decimal price in major units, e.g. 0.30' },
);

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const dayItem = z.string({ error: 'must be a day: mon tue wed thu fri sat sun, or a range such as mon-fri' }).refine(
  (s) => expandDays(s) !== null,
  { error: 'must be a day: mon tue wed thu fri sat sun, or a range such as mon-fri' },
);

const windowSchema = z.strictObject({
  days: z.array(dayItem, { error: 'must be a list of days, e.g. [mon-fri] or [sat, sun]' }).min(1, { error: 'must name at least one day, e.g. [mon-fri]' }),
  from: z.string({ error: 'must be HH:MM' }).regex(HHMM, { error: 'must be HH:MM' }),
  to: z.string({ error: 'must be HH:MM (24:00 for midnight)' }).refine((s) => HHMM.test(s) || s === '24:00', { error: 'must be HH:MM (24:00 for midnight)' }),
  energyPerKWh: price,
});

const inputSchema = z.strictObject({
  currency: nonEmptyString('an ISO 4217 currency code, e.g. EUR'),
  energyPerKWh: price,
  sessionFee: price.default(0),
  timeOfUse: z.array(windowSchema, { error: 'must be a list of windows, e.g. [{ days: [mon-fri], from: "07:00", to: "22:00", energyPerKWh: 0.35 }]' }).default([]),
  parkingPerHour: price.default(0),
  idleFeePerMinute: price.default(0),
  idleGraceMinutes: intBetween(0, 1440).default(15),
  taxPercent: z.number({ error: 'must be a percentage, e.g. 19' }).min(0, { error: 'must be between 0 and 100' }).max(100, { error: 'must be between 0 and 100' }).default(0),
  timeZone: z.string({ error: 'must be an IANA time zone, e.g. Europe/Berlin' }).refine(isTimeZone, { error: 'must be an IANA time zone, e.g. Europe/Berlin' }).optional(),
});
type TariffInput = z.infer<typeof inputSchema>;

export const tariffConfigSchema = inputSchema
  .check(crossKeys((t, ctx) => {
    const add = (path: (string | number)[], message: string, input: unknown) => ctx.addIssue({ code: 'custom', path, message, input });
    ifReadable(() => {
      const exp = currencyExponent(t.currency);
      if (exp === null) {
        add(['currency'], 'must be an ISO 4217 currency code in capitals, e.g. EUR, CHF, GBP, JPY', t.currency);
      } else {
        const rateDigits = exp + RATE_EXTRA_DIGITS;
        const checkRate = (path: (string | number)[], v: number | string, per: string) => {
          if (!isPlainDecimal(v)) return;
          if (decimalPlaces(v) > rateDigits) add(path, `must have at most ${rateDigits} decimals for ${t.currency} (a price ${per})`, v);
          else if (toScaledInteger(v, rateDigits) === null) add(path, 'is too large for a price', v);
        };
        checkRate(['energyPerKWh'], t.energyPerKWh, 'per kWh');
        checkRate(['parkingPerHour'], t.parkingPerHour, 'per hour');
        checkRate(['idleFeePerMinute'], t.idleFeePerMinute, 'per minute');
        t.timeOfUse.forEach((w, i) => checkRate(['timeOfUse', i, 'energyPerKWh'], w.energyPerKWh, 'per kWh'));
        if (isPlainDecimal(t.sessionFee) && decimalPlaces(t.sessionFee) > exp) {
          add(['sessionFee'], exp === 0 ? `must be a whole amount for ${t.currency} (no decimals)` : `must have at most ${exp} decimals for ${t.currency}`, t.sessionFee);
        } else if (isPlainDecimal(t.sessionFee) && toScaledInteger(t.sessionFee, exp) === null) add(['sessionFee'], 'is too large for a price', t.sessionFee);
      }
    });
    ifReadable(() => {
      if (toScaledInteger(t.taxPercent, 2) === null) add(['taxPercent'], 'must have at most 2 decimals, e.g. 7.7', t.taxPercent);
    });
    // The order within a window needs only its times; an overlap needs the days too.
    t.timeOfUse.forEach((w, i) => ifReadable(() => {
      if (toMinutes(w.to) <= toMinutes(w.from)) {
        add(['timeOfUse', i, 'to'], `must be after from (${w.from}); for a window across midnight use two windows, one to "24:00" and one from "00:00"`, w.to);
      }
    }));
    ifReadable(() => {
      const windows = t.timeOfUse.map((w) => ({ days: w.days.flatMap((d) => expandDays(d) ?? []), from: toMinutes(w.from), to: toMinutes(w.to) }));
      for (let i = 0; i < windows.length; i++) {
        for (let j = 0; j < i; j++) {
          const a = windows[j]!;
          const b = windows[i]!;
          const shared = WEEKDAYS.filter((d) => a.days.includes(d) && b.days.includes(d));
          const lo = Math.max(a.from, b.from);
          const hi = Math.min(a.to, b.to);
          if (shared.length && lo < hi) {
            add(
              ['timeOfUse', i],
              `overlaps timeOfUse[${j}] on ${shared.join(', ')} ${fromMinutes(lo)}-${fromMinutes(hi)}: windows must not overlap (a window ends where the next begins, e.g. to "07:00" and from "07:00")`,
              t.timeOfUse[i],
            );
          }
        }
      }
    });
  }))
  .transform((t): Tariff => normalise(t));

function normalise(t: TariffInput): Tariff {
  const exp = currencyExponent(t.currency)!;
  const rate = (v: number | string) => toScaledInteger(v, exp + RATE_EXTRA_DIGITS)!;
  return {
    currency: t.currency,
    exponent: exp,
    timeZone: t.timeZone ?? systemTimeZone(),
    energyPerKWh: rate(t.energyPerKWh),
    sessionFee: toScaledInteger(t.sessionFee, exp)!,
    timeOfUse: t.timeOfUse.map((w) => {
      const days = new Set(w.days.flatMap((d) => expandDays(d)!));
      return {
        days: [...WEEKDAYS.slice(1), WEEKDAYS[0]].filter((d) => days.has(d)),
        from: w.from,
        to: w.to,
        fromMin: toMinutes(w.from),
        toMin: toMinutes(w.to),
        energyPerKWh: rate(w.energyPerKWh),
      };
    }),
    parkingPerHour: rate(t.parkingPerHour),
    idleFeePerMinute: rate(t.idleFeePerMinute),
    idleGraceMinutes: t.idleGraceMinutes,
    taxBasisPoints: toScaledInteger(t.taxPercent, 2)!,
  };
}

/** "mon" → [mon]; "mon-fri" → [mon..fri]; "fri-mon" wraps over the weekend; else null. */
export function expandDays(item: string): Weekday[] | null {
  const s = item.trim().toLowerCase();
  const idx = (d: string) => WEEKDAYS.indexOf(d as Weekday);
  const m = /^([a-z]{3})(?:\s*-\s*([a-z]{3}))?$/.exec(s);
  if (!m) return null;
  const a = idx(m[1]!);
  const b = m[2] === undefined ? a : idx(m[2]);
  if (a < 0 || b < 0) return null;
  const out: Weekday[] = [];
  for (let d = a; ; d = (d + 1) % 7) {
    out.push(WEEKDAYS[d]!);
    if (d === b) break;
  }
  return out;
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

function fromMinutes(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

/** Parse a `tariff` section on its own (tests, API): throws the zod error on bad input. */
export function parseTariff(input: unknown): Tariff {
  return tariffConfigSchema.parse(input, { reportInput: true });
}
