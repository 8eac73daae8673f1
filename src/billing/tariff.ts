import type { Tariff } from '../config/tariff.js';
import { RATE_SCALE, divRoundHalfUp } from '../domain/money.js';
import { splitByLocalTime } from './zone.js';

/**
 * The cost of a session under a tariff: pure, integer, exact.
 *
 * Rounding: every line item is computed exactly (as a fraction) and rounded ONCE to whole minor
 * units, half up (0.5 cent → 1 cent). net = sum of the rounded lines; tax = net × rate, rounded
 * half up once; gross = net + tax. Energy split points between time-of-use bands are interpolated
 * and rounded half up to whole Wh, so the parts add up exactly to the session energy.
 */

/** A meter reading: wall time (ms since epoch) and the energy register (Wh). */
export interface MeterPoint {
  wallMs: number;
  energyWh: number;
}

export interface CostInput {
  startWallMs: number;
  meterStartWh: number;
  /** End of the priced period: the stop (final cost) or the latest reading (live cost). */
  endWallMs: number;
  meterEndWh: number;
  /** The session's readings between start and end, in order. */
  samples: readonly MeterPoint[];
  /** Time plugged in (monotonic), for parking. */
  pluggedMs: number;
  /** Time from when the EV stopped drawing to the end (monotonic), for the idle fee. */
  idleAfterChargingMs: number;
}

export type CostLineKind = 'energy' | 'sessionFee' | 'parking' | 'idle';

export interface CostLine {
  kind: CostLineKind;
  /** Human text, e.g. "Energy mon-fri 07:00-22:00". */
  label: string;
  /** energy: Wh; parking, idle: billed ms (idle: beyond the grace); sessionFee: 1. */
  quantity: number;
  /** energy: per kWh, parking: per hour, idle: per minute, all in 1/10 000 minor units; sessionFee: minor units. */
  unitPrice: number;
  /** Minor units, rounded once. */
  amount: number;
  /** energy lines: index into tariff.timeOfUse, or null for the base price. */
  window?: number | null;
}

export interface Cost {
  currency: string;
  exponent: number;
  energyWh: number;
  lines: CostLine[];
  net: number;
  taxBasisPoints: number;
  tax: number;
  gross: number;
}

const MS_PER_HOUR = 3_600_000n;
const MS_PER_MINUTE = 60_000n;
const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** Which time-of-use window applies at a local weekday / ms of day: its index, or -1 for the base price. */
export function windowAt(tariff: Tariff, weekday: number, msOfDay: number): number {
  const name = WEEKDAY_NAMES[weekday]!;
  return tariff.timeOfUse.findIndex((w) => w.days.includes(name) && msOfDay >= w.fromMin * 60_000 && msOfDay < w.toMin * 60_000);
}

/** [from, to) cut where the energy price changes, each piece with its window (-1 = base). */
export function priceBands(tariff: Tariff, fromMs: number, toMs: number): { fromMs: number; toMs: number; window: number }[] {
  const edges = tariff.timeOfUse.flatMap((w) => [w.fromMin * 60_000, w.toMin * 60_000]);
  return splitByLocalTime(fromMs, toMs, tariff.timeZone, edges, (wd, ms) => windowAt(tariff, wd, ms)).map((s) => ({
    fromMs: s.fromMs,
    toMs: s.toMs,
    window: s.value,
  }));
}

/**
 * The register as a non-decreasing piecewise-linear function of wall time through start, the
 * samples and end, in whole ms and whole Wh (a live meter value may have decimals). Readings out
 * of time order, outside the period or going backwards are ignored or clamped: the session
 * energy is always meterEnd − meterStart.
 */
function meterCurve(input: CostInput): MeterPoint[] {
  const startWh = Math.round(input.meterStartWh);
  const startMs = Math.round(input.startWallMs);
  const endWh = Math.max(Math.round(input.meterEndWh), startWh);
  const endMs = Math.max(Math.round(input.endWallMs), startMs);
  const pts: MeterPoint[] = [{ wallMs: startMs, energyWh: startWh }];
  for (const s of input.samples) {
    const prev = pts[pts.length - 1]!;
    const wallMs = Math.round(s.wallMs);
    if (!(wallMs >= prev.wallMs && wallMs <= endMs) || !Number.isFinite(s.energyWh)) continue;
    pts.push({ wallMs, energyWh: Math.min(endWh, Math.max(prev.energyWh, Math.round(s.energyWh))) });
  }
  pts.push({ wallMs: endMs, energyWh: endWh });
  return pts;
}

/** Register value at instant t, interpolated linearly and rounded half up to whole Wh. */
function registerAt(curve: MeterPoint[], t: number): number {
  if (t <= curve[0]!.wallMs) return curve[0]!.energyWh;
  const last = curve[curve.length - 1]!;
  if (t >= last.wallMs) return last.energyWh;
  // last point with wallMs <= t
  let lo = 0;
  let hi = curve.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (curve[mid]!.wallMs <= t) lo = mid;
    else hi = mid;
  }
  const a = curve[lo]!;
  const b = curve[hi]!;
  if (b.wallMs === a.wallMs) return b.energyWh;
  const span = BigInt(b.wallMs - a.wallMs);
  const num = BigInt(a.energyWh) * span + BigInt(b.energyWh - a.energyWh) * BigInt(t - a.wallMs);
  return Number(divRoundHalfUp(num, span));
}

/** Energy (Wh) per price band over the session, in order of first use; the parts sum to the session energy. */
export function splitEnergy(tariff: Tariff, input: CostInput): { window: number; energyWh: number }[] {
  const curve = meterCurve(input);
  const start = curve[0]!.wallMs;
  const end = curve[curve.length - 1]!.wallMs;
  const bands = end > start ? priceBands(tariff, start, end) : [{ fromMs: start, toMs: end, window: priceBands(tariff, start, start + 1)[0]!.window }];
  const byWindow = new Map<number, number>();
  for (const b of bands) {
    const wh = registerAt(curve, b.toMs) - registerAt(curve, b.fromMs);
    byWindow.set(b.window, (byWindow.get(b.window) ?? 0) + wh);
  }
  // The first band begins at the start reading and the last ends at the end reading, so the sum telescopes exactly.
  return [...byWindow].map(([window, energyWh]) => ({ window, energyWh }));
}

function lineAmount(quantity: number, unitPrice: number, per: bigint): number {
  return Number(divRoundHalfUp(BigInt(quantity) * BigInt(unitPrice), per * BigInt(RATE_SCALE)));
}

/** The itemised cost of a session (or of a session so far). */
export function computeCost(tariff: Tariff, input: CostInput): Cost {
  const energyWh = Math.max(0, Math.round(input.meterEndWh) - Math.round(input.meterStartWh));
  const lines: CostLine[] = [];

  for (const part of splitEnergy(tariff, input)) {
    const w = part.window >= 0 ? tariff.timeOfUse[part.window]! : null;
    const unitPrice = w ? w.energyPerKWh : tariff.energyPerKWh;
    lines.push({
      kind: 'energy',
      label: w ? `Energy ${daysText(w.days)} ${w.from}-${w.to}` : tariff.timeOfUse.length ? 'Energy (other times)' : 'Energy',
      quantity: part.energyWh,
      unitPrice,
      amount: lineAmount(part.energyWh, unitPrice, 1000n),
      window: w ? part.window : null,
    });
  }
  if (tariff.sessionFee > 0 && energyWh > 0) {
    lines.push({ kind: 'sessionFee', label: 'Session fee', quantity: 1, unitPrice: tariff.sessionFee, amount: tariff.sessionFee });
  }
  if (tariff.parkingPerHour > 0) {
    const ms = Math.max(0, Math.round(input.pluggedMs));
    lines.push({ kind: 'parking', label: 'Parking', quantity: ms, unitPrice: tariff.parkingPerHour, amount: lineAmount(ms, tariff.parkingPerHour, MS_PER_HOUR) });
  }
  if (tariff.idleFeePerMinute > 0) {
    const ms = Math.max(0, Math.round(input.idleAfterChargingMs) - tariff.idleGraceMinutes * 60_000);
    lines.push({
      kind: 'idle',
      label: `Idle after charging (beyond ${tariff.idleGraceMinutes} min grace)`,
      quantity: ms,
      unitPrice: tariff.idleFeePerMinute,
      amount: lineAmount(ms, tariff.idleFeePerMinute, MS_PER_MINUTE),
    });
  }

  const net = lines.reduce((s, l) => s + l.amount, 0);
  const tax = Number(divRoundHalfUp(BigInt(net) * BigInt(tariff.taxBasisPoints), 10_000n));
  return { currency: tariff.currency, exponent: tariff.exponent, energyWh, lines, net, taxBasisPoints: tariff.taxBasisPoints, tax, gross: net + tax };
}

/**
 * When the EV stopped drawing: the wall time of the first reading at which the register already
 * had its final value (or the start, if no energy flowed). Readings are taken every few seconds,
 * so this may be late by up to one interval: in the driver's favour for the idle fee.
 */
export function chargingEndWallMs(start: MeterPoint, samples: readonly MeterPoint[], end: MeterPoint): number {
  const i = chargingEndIndex(start, samples, end);
  return i < 0 ? start.wallMs : i >= samples.length ? end.wallMs : samples[i]!.wallMs;
}

/** As chargingEndWallMs, as an index into samples: -1 = the start, samples.length = the end. */
export function chargingEndIndex(start: MeterPoint, samples: readonly MeterPoint[], end: MeterPoint): number {
  if (end.energyWh <= start.energyWh) return -1;
  let first: number | null = null;
  samples.forEach((s, i) => {
    if (s.wallMs < start.wallMs || s.wallMs > end.wallMs) return;
    if (s.energyWh >= end.energyWh) first ??= i;
    else first = null;
  });
  return first ?? samples.length;
}

/**
 * The cost of an active session so far. `now` is the latest reading; `pluggedMs` the monotonic
 * time since the session began. Idle time is taken from the readings (wall clock), which is
 * good enough for a running display; the final cost uses monotonic durations.
 */
export function liveCost(
  tariff: Tariff,
  session: { startWallMs: number; meterStartWh: number },
  samples: readonly MeterPoint[],
  now: MeterPoint,
  pluggedMs: number = now.wallMs - session.startWallMs,
): Cost {
  const endWh = Math.max(now.energyWh, session.meterStartWh);
  const chargingEnd = chargingEndWallMs({ wallMs: session.startWallMs, energyWh: session.meterStartWh }, samples, { wallMs: now.wallMs, energyWh: endWh });
  return computeCost(tariff, {
    startWallMs: session.startWallMs,
    meterStartWh: session.meterStartWh,
    endWallMs: now.wallMs,
    meterEndWh: endWh,
    samples,
    pluggedMs,
    idleAfterChargingMs: Math.max(0, now.wallMs - chargingEnd),
  });
}

/** Days as short text: [mon..fri] → "mon-fri", [sat, sun] → "sat,sun". */
export function daysText(days: readonly string[]): string {
  const order = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  const idx = days.map((d) => order.indexOf(d)).sort((a, b) => a - b);
  const contiguous = idx.every((v, i) => i === 0 || v === idx[i - 1]! + 1);
  if (idx.length > 2 && contiguous) return `${order[idx[0]!]}-${order[idx[idx.length - 1]!]}`;
  return idx.map((i) => order[i]).join(',');
}
