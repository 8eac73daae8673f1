/**
 * Does a Node version satisfy a package.json `engines.node` range? The subset npm ranges use for
 * engines: `||` alternatives of space-separated comparators (>=, >, <=, <, =), caret and tilde
 * ranges, x-ranges (20, 20.x, 20.6.x, *) and hyphen ranges (20 - 22). Pre-release tags are ignored.
 * Throws on a range it cannot read: a bundle whose range cannot be read is refused, not guessed.
 */
type V = [number, number, number];

export function satisfiesEngine(version: string, range: string): boolean {
  const v = parseFull(version);
  return range.split('||').some((alt) => comparators(alt.trim()).every(([op, bound]) => test(v, op, bound)));
}

function parseFull(s: string): V {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(s.trim());
  if (!m) throw new Error(`not a version: ${s}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** A partial version: missing or x parts are undefined. */
function parsePartial(s: string): (number | undefined)[] {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?$/.exec(s);
  if (!m) throw new Error(`cannot read the engine range part "${s}"`);
  const parts = [m[1], m[2], m[3]].map((p) => (p === undefined || /[xX*]/.test(p) ? undefined : Number(p)));
  // Anything after an x is an x too (1.x.3 = 1.x).
  const first = parts.indexOf(undefined);
  return first < 0 ? parts : parts.map((p, i) => (i >= first ? undefined : p));
}

type Op = '>=' | '>' | '<=' | '<' | '=';

function comparators(alt: string): [Op, V][] {
  if (alt === '' || alt === '*' || /^[xX]$/.test(alt)) return [];
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(alt);
  if (hyphen) return [...lowerOf(parsePartial(hyphen[1]!)), ...upperInclusive(parsePartial(hyphen[2]!))];
  const out: [Op, V][] = [];
  for (const token of alt.replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/)) {
    const m = /^(>=|<=|>|<|=|\^|~)?(.+)$/.exec(token)!;
    const op = m[1] ?? '';
    const p = parsePartial(m[2]!);
    const [a = 0, b = 0, c = 0] = p;
    if (op === '^') {
      out.push(['>=', [a, b, c]]);
      if (p[0] === undefined) continue;
      out.push(['<', a > 0 || p[1] === undefined ? [a + 1, 0, 0] : b > 0 || p[2] === undefined ? [0, b + 1, 0] : [0, 0, c + 1]]);
    } else if (op === '~') {
      out.push(['>=', [a, b, c]]);
      if (p[0] !== undefined) out.push(['<', p[1] === undefined ? [a + 1, 0, 0] : [a, b + 1, 0]]);
    } else if (op === '' || op === '=') {
      out.push(...lowerOf(p), ...upperOf(p));
    } else if (op === '>=') out.push(...lowerOf(p));
    else if (op === '<') out.push(['<', [a, b, c]]);
    else if (op === '>') out.push(p[2] !== undefined ? ['>', [a, b, c]] : upperOf(p)[0] ? ['>=', upperOf(p)[0]![1]] : ['<', [0, 0, 0]]);
    else out.push(...upperInclusive(p));
  }
  return out;
}

const lowerOf = (p: (number | undefined)[]): [Op, V][] => (p[0] === undefined ? [] : [['>=', [p[0], p[1] ?? 0, p[2] ?? 0]]]);
/** The exclusive upper bound of an x-range (20 = <21.0.0; 20.6 = <20.7.0; 20.6.1 = =20.6.1). */
function upperOf(p: (number | undefined)[]): [Op, V][] {
  const [a, b, c] = p;
  if (a === undefined) return [];
  if (b === undefined) return [['<', [a + 1, 0, 0]]];
  if (c === undefined) return [['<', [a, b + 1, 0]]];
  return [['<=', [a, b, c]]];
}
const upperInclusive = upperOf;

function cmp(x: V, y: V): number {
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

function test(v: V, op: Op, bound: V): boolean {
  const c = cmp(v, bound);
  return op === '>=' ? c >= 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : op === '<' ? c < 0 : c === 0;
}
