/**
 * One Intl formatter per IANA time zone, cached: the local calendar fields (h23) of an instant,
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
