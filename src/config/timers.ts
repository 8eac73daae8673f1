import { z } from 'zod';
import { intBetween } from './zod-helpers.js';
import { MAX_ENERGY_TARGET_WH } from '../domain/charging.js';

import { expandDays, WEEKDAYS, type Weekday } from './tariff.js';

export { WEEKDAYS, type Weekday };
/** Shorthands a timer's `days` may use beside single days and ranges (mon-fri, as the tariff's windows). */
export const DAY_GROUPS: Record<string, readonly Weekday[]> = {
  daily: WEEKDAYS,
  weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  weekend: ['sat', 'sun'],
};

/** A day item of a timer: a day, a range (mon-fri, fri-mon) or a group; null when none. */
function dayItem(item: string): readonly Weekday[] | null {
  return DAY_GROUPS[item.trim().toLowerCase()] ?? expandDays(item);
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const localTime = z.string({ error: 'must be a local time HH:MM, e.g. 22:00' }).regex(HHMM, { error: 'must be a local time HH:MM (00:00 to 23:59), e.g. 22:00' });

const DAY_HINT = 'must be a day (mon .. sun), a range such as mon-fri, or weekdays | weekend | daily';
const days = z
  .array(z.string({ error: DAY_HINT }).refine((d) => dayItem(d) !== null, { error: DAY_HINT }), { error: 'must be a list of days, e.g. [weekdays] or [mon-fri, sun]' })
  .min(1, { error: 'must list at least one day (e.g. [daily]); to switch the timer off, remove it' })
  .transform((list) => WEEKDAYS.filter((w) => list.some((d) => dayItem(d)!.includes(w))));

/**
 * One charging window: on the given days (the day the window starts), from `start` to `end` local
 * time of station.timeZone; an end at or before the start runs past midnight into the next day
 * (22:00–06:00), and start = end is the whole day.
 */
export const chargingTimerSchema = z.strictObject({
  days: days.default([...WEEKDAYS]),
  start: localTime,
  end: localTime,
  /** Connector ids it applies to; absent = every connector. */
  connectors: z.array(intBetween(1, 8)).min(1, { error: 'must list at least one connector id, or leave connectors out for all' }).optional(),
  /** A cap on the current inside the window (A); absent = the window does not limit. */
  maxA: intBetween(6, 80).optional(),
});
export type ChargingTimerConfig = z.infer<typeof chargingTimerSchema>;
/** What a timer's days are after parsing: single days, Sunday first. */
export type ChargingTimer = Omit<ChargingTimerConfig, 'days'> & { days: readonly Weekday[] };

export const chargingTimersSchema = z.array(chargingTimerSchema, { error: 'must be a list of windows, e.g. [{ days: [weekdays], start: "22:00", end: "06:00" }]' }).max(32, { error: 'must list at most 32 windows' });

/**
 * Stop conditions of every session on a connector (connectors[].sessionLimits): the session ends
 * when one is reached. The API and MQTT change them per session.
 */
export const sessionLimitsSchema = z.strictObject({
  energyWh: intBetween(1, MAX_ENERGY_TARGET_WH).optional(),
  /** From the session's start (plugged-in and authorised), charging or not. */
  durationS: intBetween(60, 7 * 86_400).optional(),
  /** Only where the EV reports its state of charge. */
  socPercent: intBetween(1, 100).optional(),
});
export type SessionLimitsConfig = z.infer<typeof sessionLimitsSchema>;
