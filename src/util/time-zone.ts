/**
 * Local time in IANA time zones through Intl only: one cached formatter per zone (the local calendar
 * fields, h23, of an instant), the UTC offset at an instant, whether a zone exists, the system zone;
 * from the platform's tz database (no tz package, no hand-written offsets or DST rules). Billing's
 * time-of-use and the owner's charging timers both read local time through it.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

export function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Offset of local time from UTC at instant `t` (ms, whole seconds): local = t + offset (Berlin in winter: +3,600,000). */
export function offsetMs(t: number, timeZone: string): number {
  const whole = Math.floor(t / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const part of zoneFormatter(timeZone).formatToParts(whole)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour! % 24, p.minute!, p.second!) - whole;
}

/** true when the platform's tz database knows the zone (an IANA name such as Europe/Berlin, or UTC). */
export function isTimeZone(name: string): boolean {
  try {
    zoneFormatter(name);
    return true;
  } catch {
    return false;
  }
}

/** The zone the system runs in (TZ, /etc/localtime). */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
