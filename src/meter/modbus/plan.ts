import type { MeterModel, Quantity, ResolvedValue } from './model.js';

/** One read request: function code, first register, count. */
export interface ReadBlock {
  fc: 3 | 4;
  start: number;
  count: number;
}

export interface PlanLimits {
  /** Largest request (Modbus: 125). */
  maxRegisters: number;
  /** Unused registers read instead of opening a new request. */
  maxGap: number;
}

interface Span {
  fc: 3 | 4;
  start: number;
  end: number; // exclusive
}

function spansOf(values: Iterable<ResolvedValue>): Span[] {
  const spans: Span[] = [];
  for (const v of values) {
    spans.push({ fc: v.fc, start: v.address, end: v.address + v.words });
    if (v.exponentAddress !== undefined) spans.push({ fc: v.fc, start: v.exponentAddress, end: v.exponentAddress + 1 });
  }
  return spans;
}

/**
 * Coalesce the values into as few requests as the limits allow: values sorted by address are
 * joined while the block stays within maxRegisters and the hole before the next value is at most
 * maxGap registers. A value is never split across requests.
 */
export function planReads(values: Iterable<ResolvedValue>, limits: PlanLimits): ReadBlock[] {
  const max = Math.min(125, limits.maxRegisters);
  const blocks: ReadBlock[] = [];
  const spans = spansOf(values).sort((a, b) => a.fc - b.fc || a.start - b.start || a.end - b.end);
  let cur: Span | undefined;
  for (const s of spans) {
    if (s.end - s.start > max) throw new Error(`a value of ${s.end - s.start} registers at ${s.start} exceeds the ${max}-register read limit`);
    if (cur && s.fc === cur.fc && s.start - cur.end <= limits.maxGap && Math.max(cur.end, s.end) - cur.start <= max) {
      cur.end = Math.max(cur.end, s.end);
      continue;
    }
    if (cur) blocks.push({ fc: cur.fc, start: cur.start, count: cur.end - cur.start });
    cur = { ...s };
  }
  if (cur) blocks.push({ fc: cur.fc, start: cur.start, count: cur.end - cur.start });
  return blocks;
}

/** The registers one quantity occupies (its value, and its exponent register if it has one). */
export interface QuantitySpan {
  quantity: Quantity;
  fc: 3 | 4;
  start: number;
  end: number; // exclusive
}

export function quantitySpans(model: MeterModel): QuantitySpan[] {
  const out: QuantitySpan[] = [];
  for (const [quantity, v] of model.values) {
    out.push({ quantity, fc: v.fc, start: v.address, end: v.address + v.words });
    if (v.exponentAddress !== undefined) out.push({ quantity, fc: v.fc, start: v.exponentAddress, end: v.exponentAddress + 1 });
  }
  return out.sort((a, b) => a.fc - b.fc || a.start - b.start || a.end - b.end);
}

function inBlock(s: QuantitySpan, b: ReadBlock): boolean {
  return s.fc === b.fc && s.start < b.start + b.count && s.end > b.start;
}

/** Quantities whose registers a request reads. */
export function quantitiesIn(model: MeterModel, b: ReadBlock): Quantity[] {
  return [...new Set(quantitySpans(model).filter((s) => inBlock(s, b)).map((s) => s.quantity))];
}

/**
 * A request the meter refused (exception 2, illegal data address) split one step finer: first
 * into runs of adjacent values without the unused registers between them, then into single
 * values. Returns [b] when it cannot be split (one value).
 */
export function splitBlock(model: MeterModel, b: ReadBlock): ReadBlock[] {
  const spans = quantitySpans(model).filter((s) => inBlock(s, b));
  const runs: ReadBlock[] = [];
  for (const s of spans) {
    const last = runs[runs.length - 1];
    if (last && s.start <= last.start + last.count) last.count = Math.max(last.count, s.end - last.start);
    else runs.push({ fc: s.fc, start: s.start, count: s.end - s.start });
  }
  if (runs.length > 1) return runs;
  const singles = new Map<string, ReadBlock>();
  for (const s of spans) singles.set(`${s.start}:${s.end}`, { fc: s.fc, start: s.start, count: s.end - s.start });
  return singles.size > 1 ? [...singles.values()] : [b];
}

export function planForModel(model: MeterModel, overrides: { maxRegistersPerRead?: number } = {}): ReadBlock[] {
  return planReads(model.values.values(), {
    maxRegisters: overrides.maxRegistersPerRead ?? model.quirks.maxRegistersPerRead,
    maxGap: model.quirks.maxGapRegisters,
  });
}

/**
 * Computed RTU bus time for one request of `count` registers: request 8 bytes, response 5 + 2N
 * bytes, plus two silent intervals of 3.5 characters (fixed 1.75 ms above 19200 Bd). Turnaround
 * of the meter is not included (not published).
 */
export function rtuBusTimeMs(count: number, baudRate: number, bitsPerChar: number): number {
  const charMs = (bitsPerChar * 1000) / baudRate;
  const t35 = baudRate > 19200 ? 1.75 : 3.5 * charMs;
  return (8 + 5 + 2 * count) * charMs + 2 * t35;
}

/** Bits per RTU character (the line's own rule, kept with the bus). */
export { bitsPerChar } from '../../hal/modbus/bus.js';
