import type { MeterModel, ResolvedValue } from './model.js';

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

/** Bits per RTU character: start + data + parity + stop bits. */
export function bitsPerChar(dataBits: number, parity: 'none' | 'even' | 'odd', stopBits: number): number {
  return 1 + dataBits + (parity === 'none' ? 0 : 1) + stopBits;
}
