import type { MeterSnapshot } from '../../hal/types.js';
import type { MeterModel, Quantity, ResolvedValue } from './model.js';

/** Largest energy register value accepted as real (1 TWh); also keeps Wh within safe integers. */
export const MAX_REGISTER_WH = 1e12;

/** A decade-exponent register beyond this magnitude is garbage, not a scale (Iskra counters use small exponents). */
export const MAX_ABS_EXPONENT = 6;

/**
 * Register words -> numbers. Scaling by powers of ten is done as an exact multiply or divide
 * (raw / 10, never raw * 0.1), so "x 0.1 V" of 2301 is 230.1, not 230.10000000000002.
 */

/** value x 10^pow10 x scale, exact for powers of ten. */
export function applyScale(raw: number, scale: number, pow10: number): number {
  let p = pow10;
  let s = scale;
  const ls = Math.round(Math.log10(s));
  if (s === 10 ** ls) {
    p += ls;
    s = 1;
  }
  const v = p >= 0 ? raw * 10 ** p : raw / 10 ** -p;
  return s === 1 ? v : v * s;
}

/** The value's words in wire order -> high word first. */
function ordered(words: readonly number[], order: ResolvedValue['wordOrder']): number[] {
  return order === 'low-first' ? [...words].reverse() : [...words];
}

function isNotAvailable(w: number[], signed: boolean): boolean {
  if (signed) return w[0] === 0x7fff && w.slice(1).every((x) => x === 0xffff);
  return w.every((x) => x === 0xffff);
}

/**
 * Decode one value from its words (wire order). `exponent` is the decade exponent read from the
 * value's exponent register, if it has one. Returns NaN for a "not available" marker when the
 * map enables them.
 */
export function decodeValue(v: ResolvedValue, wireWords: readonly number[], opts: { notAvailableMarkers?: boolean; exponent?: number } = {}): number {
  if (wireWords.length !== v.words) throw new Error(`expected ${v.words} registers, got ${wireWords.length}`);
  const w = ordered(wireWords, v.wordOrder);
  const signed = v.type.startsWith('int') || v.type === 'float32';
  if (opts.notAvailableMarkers && v.type !== 'float32' && !v.type.startsWith('iskra') && isNotAvailable(w, signed)) return NaN;
  let raw: number;
  let exp = opts.exponent ?? 0;
  switch (v.type) {
    case 'uint16':
      raw = w[0]!;
      break;
    case 'int16':
      raw = (w[0]! << 16) >> 16;
      break;
    case 'uint32':
      raw = w[0]! * 0x10000 + w[1]!;
      break;
    case 'int32':
      raw = ((w[0]! << 16) | w[1]!) | 0;
      break;
    case 'float32': {
      const b = Buffer.alloc(4);
      b.writeUInt16BE(w[0]!, 0);
      b.writeUInt16BE(w[1]!, 2);
      raw = b.readFloatBE(0);
      break;
    }
    case 'uint64':
    case 'int64': {
      let big = 0n;
      for (const x of w) big = (big << 16n) | BigInt(x);
      if (v.type === 'int64') big = BigInt.asIntN(64, big);
      if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < -BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`64-bit value ${big} exceeds exact range`);
      raw = Number(big);
      break;
    }
    case 'iskra-t5':
    case 'iskra-t6': {
      // 8-bit signed decade exponent, then a 24-bit mantissa (unsigned for T5, signed for T6).
      exp += (w[0]! << 16) >> 24;
      const mant = ((w[0]! & 0xff) << 16) | w[1]!;
      raw = v.type === 'iskra-t6' ? (mant << 8) >> 8 : mant;
      break;
    }
  }
  if (!Number.isFinite(raw)) return NaN;
  return applyScale(raw, v.scale, v.pow10 + exp);
}

/** Reads a register word the plan fetched. */
export type RegisterSource = (fc: 3 | 4, address: number) => number;

export class DecodeError extends Error {
  readonly kind = 'not-available' as const;
}

/**
 * Build the snapshot from fetched registers. Energy is rounded to the nearest whole Wh (half up):
 * float32 kWh x 1000 is exact in a double, so the rounding is the only loss (documented in docs/meters.md).
 */
export function decodeSnapshot(model: MeterModel, regs: RegisterSource, opts: { invertedCt?: boolean; skip?: ReadonlySet<Quantity> } = {}): Omit<MeterSnapshot, 'monoMs'> {
  const na = model.quirks.notAvailableMarkers;
  const get = (q: Quantity): number | undefined => {
    const v = model.values.get(q);
    if (!v || opts.skip?.has(q)) return undefined;
    const words: number[] = [];
    for (let i = 0; i < v.words; i++) words.push(regs(v.fc, v.address + i));
    const exponent = v.exponentAddress === undefined ? undefined : (regs(v.fc, v.exponentAddress) << 16) >> 16;
    if (exponent !== undefined && Math.abs(exponent) > MAX_ABS_EXPONENT) return NaN;
    return decodeValue(v, words, { notAvailableMarkers: na, exponent });
  };
  const inverted = opts.invertedCt ?? model.quirks.invertedCt;
  const sign = inverted ? -1 : 1;
  const phases = (prefix: 'voltage' | 'current' | 'powerPhase') =>
    Array.from({ length: model.phases }, (_, i) => get(`${prefix}.${i}` as Quantity) ?? NaN);
  let importE = get('energyImport')!;
  let exportE = get('energyExport');
  if (inverted) [importE, exportE] = [exportE!, importE];
  if (!Number.isFinite(importE) || importE < 0) throw new DecodeError(`energy import register reads ${importE} (not available)`);
  // No wallbox meter counts to a terawatt-hour: a larger value is a garbled register, not energy.
  if (importE > MAX_REGISTER_WH) throw new DecodeError(`energy import register reads ${importE} Wh, beyond any meter's range (not available)`);
  const powerPhaseW = phases('powerPhase').map((p) => p * sign + 0);
  const total = get('power');
  const powerW = (total === undefined ? powerPhaseW.reduce((a, b) => a + b, 0) : total * sign) + 0;
  const snap: Omit<MeterSnapshot, 'monoMs'> = {
    energyImportWh: Math.round(importE),
    powerW,
    voltageV: phases('voltage'),
    currentA: phases('current'),
    powerPhaseW,
  };
  if (exportE !== undefined && Number.isFinite(exportE)) snap.energyExportWh = Math.round(exportE);
  const f = get('frequency');
  if (f !== undefined) snap.frequencyHz = f;
  return snap;
}
