/**
 * The number in a grid-power message: the payload itself ("-1234.5") or a value inside JSON at a
 * dotted path ("ENERGY.Power", "$.meters[0].w"). `invert` turns a feed-in-positive topic into
 * evsed's import-positive sign.
 */
export type PowerParse = { ok: true; powerW: number } | { ok: false; reason: string };

const MAX_PAYLOAD = 4096;
/** No house connection imports or exports more than this (W): a bigger number is a wrong unit or a broken value. */
const MAX_ABS_W = 1_000_000;

export function parsePowerPayload(payload: Buffer | string, jsonPath: string | undefined, invert: boolean): PowerParse {
  if (payload.length > MAX_PAYLOAD) return { ok: false, reason: `payload longer than ${MAX_PAYLOAD} bytes` };
  const text = (typeof payload === 'string' ? payload : payload.toString('utf8')).trim();
  let value: unknown = text;
  if (jsonPath !== undefined) {
    try {
      value = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'payload is not JSON (jsonPath is set)' };
    }
    for (const seg of pathSegments(jsonPath)) {
      if (value === null || typeof value !== 'object') return { ok: false, reason: `nothing at ${jsonPath}` };
      value = (value as Record<string | number, unknown>)[seg];
    }
  }
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(n)) return { ok: false, reason: `not a number: ${JSON.stringify(String(value ?? text)).slice(0, 30)}` };
  if (Math.abs(n) > MAX_ABS_W) return { ok: false, reason: `${n} W is beyond any house connection (wrong unit?)` };
  // `|| 0`: an inverted zero is 0, not -0.
  return { ok: true, powerW: (invert ? -n : n) || 0 };
}

function pathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.replace(/^\$\./, '').split('.')) {
    const m = /^([^[]+)(?:\[(\d+)\])?$/.exec(part)!;
    out.push(m[1]!);
    if (m[2] !== undefined) out.push(Number(m[2]));
  }
  return out;
}
