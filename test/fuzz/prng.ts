/**
 * A small seeded PRNG (mulberry32) and mutators for the fuzzers. No dependencies: a failure is
 * reproduced from the printed seed alone (EVSED_FUZZ_SEED=<seed>).
 */

/** The fixed default seed; EVSED_FUZZ_SEED overrides it (decimal or 0x hex). */
export function fuzzSeed(fallback = 0x5eed7): number {
  const v = process.env.EVSED_FUZZ_SEED;
  if (!v) return fallback >>> 0;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`EVSED_FUZZ_SEED must be a number (got ${JSON.stringify(v)})`);
  return n >>> 0;
}

/** `small` cases in `npm test`, `full` under EVSED_TORTURE=1. */
export function fuzzCount(small: number, full: number): number {
  return process.env.EVSED_TORTURE === '1' ? full : small;
}

/** One line a failing run can be reproduced from. */
export function banner(name: string, seed: number, cases: number): string {
  const line = `[fuzz] ${name}: ${cases} cases, seed ${seed} (reproduce: EVSED_FUZZ_SEED=${seed}${process.env.EVSED_TORTURE === '1' ? ' EVSED_TORTURE=1' : ''})`;
  console.log(line);
  return line;
}

/**
 * The one line a run is recorded from in docs/reliability.md: `[summary] <name> {json}` with the
 * seed, the case count, the count of every outcome and the duration, so filling a table is mechanical.
 */
export function summary(name: string, fields: Record<string, unknown>): string {
  const line = `[summary] ${name} ${JSON.stringify({ full: process.env.EVSED_TORTURE === '1', ...fields })}`;
  console.log(line);
  return line;
}

/** Seconds since `t0` (a performance.now() reading), one decimal. */
export const secondsSince = (t0: number) => +((performance.now() - t0) / 1000).toFixed(1);

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** mulberry32: uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** A derived generator (so one case's randomness does not shift the next case's). */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }
}

const SPECIAL_CHARS = [':', '-', '{', '}', '[', ']', ',', '"', "'", '#', '&', '*', '!', '|', '>', '%', '@', '`', '?', '\\', '\t', '\n', '\r', ' ', '\0', '\u00a0', '\ufeff', '\ud800', '\u{1f50c}', '~', '=', '<<'];

const INTERESTING_NUMBERS = [0, -1, 1, 6, 80, 255, 256, 65535, 65536, 2 ** 31 - 1, -(2 ** 31), 2 ** 53, -(2 ** 53), 1e308, -1e308, 1e-308, 0.5, -0.0, 3.14159];

const INTERESTING_STRINGS = ['', ' ', 'null', 'true', 'NaN', 'Infinity', '-1', '1e999', '0x10', '__proto__', 'constructor', 'toString', '../../etc/passwd', '%00', '\u0000', '\ud800', 'A'.repeat(300), '💥', '<script>', "'; DROP TABLE sessions; --", '${x}', '2024-02-30T25:61:00Z'];

/** An own property even for "__proto__" (as JSON.parse makes it), never the prototype. */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A random JSON-able value, `depth` levels deep at most. */
export function randomValue(rng: Rng, depth = 3): unknown {
  switch (rng.int(depth > 0 ? 9 : 6)) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.pick(INTERESTING_NUMBERS);
    case 3: return rng.range(-1000, 100_000);
    case 4: return rng.pick(INTERESTING_STRINGS);
    case 5: return randomString(rng, rng.int(24));
    case 6: return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth - 1));
    case 7:
    case 8: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) setOwn(o, rng.chance(0.7) ? randomString(rng, rng.range(1, 8), true) : rng.pick(INTERESTING_STRINGS), randomValue(rng, depth - 1));
      return o;
    }
  }
  return null;
}

export function randomString(rng: Rng, len: number, ident = false): string {
  const alpha = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_';
  let s = '';
  for (let i = 0; i < len; i++) {
    if (ident || rng.chance(0.8)) s += alpha[rng.int(alpha.length)];
    else if (rng.chance(0.5)) s += rng.pick(SPECIAL_CHARS);
    else s += String.fromCharCode(rng.int(0x3000));
  }
  return s;
}

/** JSON nested `depth` levels deep: [[[...]]] or {"a":{"a":...}}. */
export function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Text-level mutation: the kind of damage a bad edit, a truncated write or a bit flip does. */
export function mutateText(rng: Rng, text: string, rounds = rng.range(1, 4)): string {
  let s = text;
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(s.length + 1);
    const span = rng.range(1, 12);
    switch (rng.int(10)) {
      case 0: // replace a character
        s = s.slice(0, at) + rng.pick(SPECIAL_CHARS) + s.slice(at + 1);
        break;
      case 1: // insert special characters
        s = s.slice(0, at) + Array.from({ length: rng.range(1, 3) }, () => rng.pick(SPECIAL_CHARS)).join('') + s.slice(at);
        break;
      case 2: // delete a span
        s = s.slice(0, at) + s.slice(at + span);
        break;
      case 3: { // duplicate a span elsewhere
        const from = rng.int(s.length + 1);
        s = s.slice(0, at) + s.slice(from, from + span * 3) + s.slice(at);
        break;
      }
      case 4: { // swap two lines
        const lines = s.split('\n');
        const i = rng.int(lines.length);
        const j = rng.int(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        s = lines.join('\n');
        break;
      }
      case 5: { // re-indent a line
        const lines = s.split('\n');
        const i = rng.int(lines.length);
        lines[i] = rng.chance(0.5) ? ' '.repeat(rng.range(1, 5)) + lines[i] : lines[i]!.trimStart();
        s = lines.join('\n');
        break;
      }
      case 6: // truncate (a short write)
        s = s.slice(0, at);
        break;
      case 7: // a digit changed / a number replaced
        s = s.replace(/\d+(\.\d+)?/g, (m) => (rng.chance(0.15) ? String(rng.pick(INTERESTING_NUMBERS)) : m));
        break;
      case 8: // random characters
        s = s.slice(0, at) + randomString(rng, rng.range(1, 6)) + s.slice(at);
        break;
      case 9: // flip a bit of a character
        if (s.length) {
          const i = rng.int(s.length);
          s = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << rng.int(7))) + s.slice(i + 1);
        }
        break;
    }
  }
  return s;
}

/** Structure-level mutation of a parsed JSON/YAML value: wrong types, missing and unknown keys, odd numbers. */
export function mutateValue(rng: Rng, value: unknown, rounds = rng.range(1, 3)): unknown {
  let v = structuredClone(value);
  for (let r = 0; r < rounds; r++) v = mutateOnce(rng, v, 0);
  return v;
}

function mutateOnce(rng: Rng, v: unknown, depth: number): unknown {
  const container = v !== null && typeof v === 'object';
  // descend into a child most of the time
  if (container && rng.chance(depth < 1 ? 0.9 : 0.7)) {
    if (Array.isArray(v)) {
      if (!v.length || rng.chance(0.15)) {
        if (rng.chance(0.5)) v.push(randomValue(rng, 2));
        else v.splice(rng.int(v.length + 1), 0, structuredClone(v[0] ?? null));
        return v;
      }
      const i = rng.int(v.length);
      v[i] = mutateOnce(rng, v[i], depth + 1);
      return v;
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (!keys.length || rng.chance(0.12)) {
      setOwn(o, rng.chance(0.5) ? randomString(rng, rng.range(1, 10), true) : rng.pick(INTERESTING_STRINGS), randomValue(rng, 2));
      return o;
    }
    const k = rng.pick(keys);
    if (rng.chance(0.12)) {
      delete o[k];
      return o;
    }
    setOwn(o, k, mutateOnce(rng, o[k], depth + 1));
    return o;
  }
  // replace this node
  switch (rng.int(6)) {
    case 0: return randomValue(rng, 2);
    case 1: return typeof v === 'number' ? rng.pick(INTERESTING_NUMBERS) : typeof v === 'string' ? rng.pick(INTERESTING_STRINGS) : randomValue(rng, 1);
    case 2: return typeof v === 'string' ? mutateText(rng, v, 1) : container ? JSON.stringify(v) : String(v);
    case 3: return typeof v === 'number' ? v + rng.pick([-1, 1, 0.5, -1000, 1e6]) : null;
    case 4: return Array.isArray(v) ? v : [v];
    default: return container ? (Array.isArray(v) ? {} : []) : { value: v };
  }
}

/** Byte-level mutation (bit flips, inserted/deleted/duplicated bytes, truncation). */
export function mutateBytes(rng: Rng, b: Buffer, rounds = rng.range(1, 3)): Buffer {
  let out = Buffer.from(b);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(out.length + 1);
    switch (rng.int(6)) {
      case 0:
        if (out.length) out[rng.int(out.length)]! ^= 1 << rng.int(8);
        break;
      case 1:
        if (out.length) out[rng.int(out.length)] = rng.int(256);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: rng.range(1, 4) }, () => rng.int(256))), out.subarray(at)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + rng.range(1, 4))]);
        break;
      case 4:
        out = out.subarray(0, at);
        break;
      case 5:
        out = Buffer.concat([out, out.subarray(at, at + rng.range(1, 8))]);
        break;
    }
  }
  return out;
}

export function randomBytes(rng: Rng, len: number): Buffer {
  return Buffer.from(Array.from({ length: len }, () => rng.int(256)));
}

/**
 * Failures grouped by kind, so one bug found a thousand times reads as one line with its count and
 * the first case that showed it (case number + seed reproduce it).
 */
export class Findings {
  private readonly byKind = new Map<string, { count: number; first: string }>();

  add(kind: string, example: string): void {
    const key = kind.replace(/\d+/g, 'N').slice(0, 160);
    const e = this.byKind.get(key);
    if (e) e.count++;
    else this.byKind.set(key, { count: 1, first: example });
  }

  get size(): number {
    return this.byKind.size;
  }

  total(): number {
    let n = 0;
    for (const e of this.byKind.values()) n += e.count;
    return n;
  }

  /** One entry per kind: "<count>x <kind>\n  first: <example>". Empty when nothing was found. */
  report(): string[] {
    return [...this.byKind].map(([k, e]) => `${e.count}x ${k}\n  first: ${e.first}`);
  }
}
