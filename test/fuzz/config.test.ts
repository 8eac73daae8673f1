import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { ROOT } from '../support/station.js';
import { exampleWithEverythingOn } from '../support/example-config.js';
import { Findings, Rng, banner, fuzzCount, fuzzSeed, mutateText, mutateValue, randomString, randomValue, secondsSince, summary } from './prng.js';

/**
 * Config fuzzing: mutated and random YAML into parseConfig. It either returns a config or throws a
 * ConfigError whose every problem is one line starting with a key path or "line N"; never another
 * exception, never a hang (the vitest timeout bounds every run).
 */

const example = readFileSync(join(ROOT, 'config/evsed.example.yaml'), 'utf8');
const sim = readFileSync(join(ROOT, 'config/sim.yaml'), 'utf8');
// The example with its optional sections switched on, so their schemas are fuzzed too.
const full = exampleWithEverythingOn();
const parsesOk = (t: string) => {
  try {
    parseConfig(t);
    return true;
  } catch {
    return false;
  }
};
// The switched-on example only when it is valid (the example's commented sections change over time).
const CORPUS = [example, sim, ...(parsesOk(full) ? [full] : [])];
const TOP_KEYS = ['station', 'storage', 'auth', 'api', 'connectors', 'log', 'clock', 'supervision', 'ocpp', 'mqtt', 'tariff'];

/** Top-level keys of the document as YAML reads it (an unknown key is named by its own path). */
function dataKeys(text: string): string[] {
  try {
    const v = parseDocument(text, { uniqueKeys: false, logLevel: 'error' }).toJS({ maxAliasCount: -1 }) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [];
  } catch {
    return [];
  }
}

/** Why a problem line breaks the contract, or null when it is fine. */
export function badProblem(problem: string, keys: string[]): string | null {
  if (typeof problem !== 'string' || !problem.length) return 'empty problem';
  if (problem.includes('\n')) return 'problem spans several lines';
  if (/^line \d+(, column \d+)?: /.test(problem)) return null;
  // A key that is not a plain name (spaces, a collection used as a key) is quoted by the formatter.
  if (/^"(?:[^"\\]|\\.)*"[.[:]/.test(problem)) return null;
  if (problem.startsWith('(top level): ')) return null;
  for (const k of keys) {
    if (problem.startsWith(k) && /^[.[:]/.test(problem.slice(k.length))) return null;
  }
  return 'does not start with a key path or "line N"';
}

type Outcome = { kind: 'ok' } | { kind: 'config-error'; problems: string[] } | { kind: 'other'; error: unknown };

function run(text: string): Outcome {
  try {
    const c = parseConfig(text, 'fuzz.yaml');
    if (!c || typeof c !== 'object') return { kind: 'other', error: new Error(`parseConfig returned ${String(c)}`) };
    return { kind: 'ok' };
  } catch (err) {
    if (err instanceof ConfigError) return { kind: 'config-error', problems: err.problems };
    return { kind: 'other', error: err };
  }
}

/** A generated config text and how it was made (for the failure message). */
function generate(rng: Rng): { how: string; text: string } {
  const base = rng.pick(CORPUS);
  switch (rng.int(6)) {
    case 0:
    case 1:
      return { how: 'text mutation', text: mutateText(rng, base) };
    case 2:
    case 3: {
      const data = parseDocument(base).toJS() as unknown;
      return { how: 'structure mutation', text: stringify(mutateValue(rng, data, rng.range(1, 4))) };
    }
    case 4: {
      const data = parseDocument(base).toJS() as unknown;
      return { how: 'structure + text mutation', text: mutateText(rng, stringify(mutateValue(rng, data)), 1) };
    }
    default:
      return { how: 'random YAML', text: randomYaml(rng) };
  }
}

/** YAML features a hand-edited file or an attacker might use: anchors, aliases, tags, merges, multi-docs. */
function randomYaml(rng: Rng): string {
  switch (rng.int(8)) {
    case 0: return stringify(randomValue(rng, 4));
    case 1: return randomString(rng, rng.range(0, 200));
    case 2: { // alias expansion ("billion laughs")
      const n = rng.range(2, 12);
      let s = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
      for (let i = 1; i < n; i++) s += `a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]\n`;
      return s + `station: *a${n - 1}\n`;
    }
    case 3: return `station: !!${rng.pick(['binary', 'js/function', 'timestamp', 'set', 'omap', 'pairs', 'float', 'int', 'str', 'map', 'seq', 'foo'])} ${rng.pick(['AAAA', '2024-01-01', '1', 'x', '{a: 1}', '[1]', 'function(){}'])}\n` + sim;
    case 4: return `base: &b { id: 1, maxCurrentA: 32 }\n` + sim.replace('  - id: 1\n', `  - <<: ${rng.pick(['*b', '[*b, *b]', '*nope', '1', 'x'])}\n    id: 1\n`);
    case 5: return `${sim}\n---\n${rng.pick([sim, 'x: 1', '', '...'])}`;
    case 6: return sim.replace('station:', `station: ${rng.pick(['', '~', '&s', '!x'])}\n  ${rng.pick(['id', 'vendor', '?', '- x'])}: ${rng.pick(['1', '', '"', '{', '*s'])}\nstation2:`);
    default: return `${rng.pick(['%YAML 1.1', '%YAML 9.9', '%TAG ! tag:x,2000:', '%FOO'])}\n---\n${sim}`;
  }
}

describe('config fuzzing: parseConfig returns a config or throws ConfigError with key-path lines', () => {
  it('the seed corpus itself is valid', () => {
    for (const text of [example, sim]) expect(run(text)).toEqual({ kind: 'ok' });
  });

  it('random and mutated YAML', () => {
    const t0 = performance.now();
    const seed = fuzzSeed();
    const cases = fuzzCount(2_000, 100_000);
    banner('config files', seed, cases);
    const rng = new Rng(seed);
    // Every case is exactly one of: valid (a config), configError, or otherError (anything else thrown:
    // a contract breach). problemLines counts the ConfigError lines, badProblemLines those breaking the format.
    const tally = { ok: 0, configError: 0, lines: 0 };
    const other = new Map<string, number>();
    let badLines = 0;
    const found = new Findings();
    for (let i = 0; i < cases; i++) {
      const { how, text } = generate(rng.fork());
      const out = run(text);
      const example = () => `case ${i} (${how})\n--- input ---\n${text.slice(0, 400)}`;
      if (out.kind === 'ok') tally.ok++;
      else if (out.kind === 'config-error') {
        tally.configError++;
        const keys = [...TOP_KEYS, ...dataKeys(text)];
        if (!out.problems.length) found.add('ConfigError without problems', example());
        for (const p of out.problems) {
          tally.lines++;
          const why = badProblem(p, keys);
          if (why) {
            badLines++;
            found.add(`${why}: ${p.slice(0, 60)}`, `${JSON.stringify(p)} ${example()}`);
          }
        }
      } else {
        const e = out.error as Error;
        const kind = e?.constructor?.name ?? typeof e;
        other.set(kind, (other.get(kind) ?? 0) + 1);
        found.add(`${e?.constructor?.name ?? typeof e} instead of ConfigError: ${e?.message}`, example());
      }
    }
    console.log(`[fuzz] config files: ${JSON.stringify(tally)}`);
    const otherErrors = [...other.values()].reduce((a, b) => a + b, 0);
    summary('config-fuzz', { seed, cases, valid: tally.ok, configError: tally.configError, otherError: otherErrors, otherErrorByKind: Object.fromEntries(other), problemLines: tally.lines, badProblemLines: badLines, findings: found.total(), durationS: secondsSince(t0) });
    expect(found.report(), `seed ${seed}`).toEqual([]);
  }, 900_000); // 100,000 cases under EVSED_TORTURE take minutes; the small run a few seconds
});
