/**
 * Exact money arithmetic. Amounts are integer minor units (cents); rates (per kWh, per hour, per
 * minute) carry RATE_EXTRA_DIGITS more decimals than the currency, so 0.3456 EUR/kWh is exact.
 * Every division goes through `divRoundHalfUp` on BigInt: no floating point touches money.
 */

/** Rates are stored in 1/10^RATE_EXTRA_DIGITS of a minor unit (EUR: 0.000001 EUR). */
export const RATE_EXTRA_DIGITS = 4;
export const RATE_SCALE = 10 ** RATE_EXTRA_DIGITS;

/**
 * ISO 4217 minor-unit exponents that are not 2. Every other code Intl knows has 2.
 * (From the ISO 4217 list one; not from CLDR, whose "digits" differ for a few codes such as IQD.)
 */
const EXPONENT: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0,
  VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};
/** Codes without a minor unit (funds, SDR, metals, test): not usable for prices. */
const NO_MINOR_UNIT = new Set(['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX']);

let known: Set<string> | undefined;

/** The minor-unit exponent of an ISO 4217 code, or null if it is not a usable currency. */
export function currencyExponent(code: string): number | null {
  if (!/^[A-Z]{3}$/.test(code) || NO_MINOR_UNIT.has(code)) return null;
  known ??= new Set(Intl.supportedValuesOf('currency'));
  if (!known.has(code) && !(code in EXPONENT)) return null;
  return EXPONENT[code] ?? 2;
}

/**
 * A decimal as written (number or string) → integer × 10^-decimals, exactly, or null when it has
 * more decimals than that. Numbers are read through their shortest round-trip text, which is what
 * the YAML said (0.3 → "0.3"), so 0.1 + float noise is never silently accepted.
 */
export function toScaledInteger(value: number | string, decimals: number): number | null {
  const m = DECIMAL.exec(decimalText(value));
  if (!m) return null;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > decimals) return null;
  const n = BigInt(m[1]! + frac.padEnd(decimals, '0'));
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(n);
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** Number of significant decimals written (trailing zeros do not count): "0.300" → 1. */
export function decimalPlaces(value: number | string): number {
  const m = DECIMAL.exec(decimalText(value));
  return m ? (m[2] ?? '').replace(/0+$/, '').length : 0;
}

/** true for a non-negative plain decimal (number or text such as "0.30"). */
export function isPlainDecimal(value: number | string): boolean {
  return DECIMAL.test(decimalText(value));
}

function decimalText(value: number | string): string {
  return typeof value === 'number' ? numberText(value) : value.trim();
}

/** Plain decimal text of a finite non-negative number, without exponent notation. */
function numberText(v: number): string {
  if (!Number.isFinite(v) || v < 0) return 'NaN';
  const s = String(v);
  const e = /^(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!e) return s;
  const digits = e[1]! + (e[2] ?? '');
  const point = e[1]!.length + Number(e[3]);
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * n / d rounded half up (ties away from zero; every amount here is ≥ 0, so "half up").
 * The one rounding rule of evsed billing: 0.5 cent → 1 cent, 0.4999 cent → 0.
 */
export function divRoundHalfUp(n: bigint, d: bigint): bigint {
  if (d <= 0n) throw new Error('divRoundHalfUp: divisor must be positive');
  if (n < 0n) return -divRoundHalfUp(-n, d);
  return (2n * n + d) / (2n * d);
}

/** Integer minor units as a plain decimal text in major units: 1234, 2 → "12.34"; 5, 0 → "5". */
export function formatMinor(minor: number, exponent: number): string {
  const neg = minor < 0;
  const s = String(Math.abs(minor)).padStart(exponent + 1, '0');
  const out = exponent === 0 ? s : `${s.slice(0, -exponent)}.${s.slice(-exponent)}`;
  return neg ? `-${out}` : out;
}

/** A rate in rate units as major units per unit, trailing zeros beyond the currency's digits dropped: 0.35, 0.3456. */
export function formatRate(rate: number, exponent: number): string {
  const full = formatMinor(rate, exponent + RATE_EXTRA_DIGITS);
  if (!full.includes('.')) return full;
  const [int, frac] = full.split('.') as [string, string];
  let f = frac.replace(/0+$/, '');
  if (f.length < exponent) f = f.padEnd(exponent, '0');
  return f ? `${int}.${f}` : int;
}

/** Whole Wh as kWh text with three decimals: 12345 → "12.345". */
export function formatKWh(wh: number): string {
  return formatMinor(wh, 3);
}
