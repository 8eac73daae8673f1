import type { z } from 'zod';
import { isSecretPath, isUrlPath } from './secrets.js';

/** sysexits.h EX_CONFIG: what systemd and installers expect for a bad configuration. */
export const EXIT_CONFIG = 78;

export class ConfigError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** connectors[0].hardware.driver */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      // A key that is not a plain name (YAML allows a whole collection as a key) is quoted, on one line.
      const name = /^[A-Za-z0-9_-]+$/.test(String(seg)) ? String(seg) : JSON.stringify(String(seg).replace(/\s+/g, ' ').slice(0, 40));
      out += out ? `.${name}` : name;
    }
  }
  return out || '(top level)';
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  let s: string;
  try {
    s = JSON.stringify(value);
  } catch {
    s = Array.isArray(value) ? '[...]' : '{...}';
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The offending value, unless it is a secret: a URL is shown without its password, a secret not at all. */
function showSafely(path: ReadonlyArray<PropertyKey>, value: unknown): string {
  if (!isSecretPath(path)) return show(value);
  if (isUrlPath(path) && typeof value === 'string') return show(value.replace(/^((?:[a-z][a-z0-9+.-]*:)?\/\/)?[^/@\s]*@/i, (_m, scheme?: string) => `${scheme ?? ''}***@`));
  return 'a value not shown here: it is a secret';
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** Keys an object schema accepts at `path`, following arrays, defaults, optionals and unions by the data. */
function knownKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>, data: unknown): string[] {
  let s: any = schema;
  let d: any = data;
  const unwrap = () => {
    for (let guard = 0; guard < 20 && s; guard++) {
      const def = s._zod?.def;
      if (!def) return;
      if (['optional', 'default', 'nullable', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(def.type)) s = def.innerType;
      else if (def.type === 'pipe') s = def.in;
      else if (def.type === 'union') {
        const options: any[] = def.options;
        const match = options.find((o) => {
          const od = o._zod?.def;
          if (od?.type !== 'object' || !d || typeof d !== 'object') return false;
          return Object.entries(od.shape).some(([k, v]: [string, any]) => {
            const vd = v._zod?.def;
            if (vd?.type === 'literal') return vd.values.includes(d[k]);
            return vd?.type === 'enum' && Object.values(vd.entries).includes(d[k]);
          });
        });
        s = match ?? options.find((o) => o._zod?.def?.type === 'object') ?? options[0];
      } else return;
    }
  };
  unwrap();
  for (const seg of path) {
    const def = s?._zod?.def;
    if (!def) return [];
    if (def.type === 'object' && typeof seg === 'string') s = def.shape[seg];
    else if (def.type === 'array' && typeof seg === 'number') s = def.element;
    else return [];
    d = d?.[seg as any];
    unwrap();
  }
  const def = s?._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape) : [];
}

function suggest(key: string, known: string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(key, k);
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  if (best && bestD <= Math.max(2, Math.floor(key.length / 3))) return ` (did you mean ${best}?)`;
  return known.length ? ` (allowed: ${known.join(', ')})` : '';
}

/** One line per problem: "<key path>: <what is wrong and what would be right> (got X)". */
export function formatIssues(schema: z.ZodType, issues: z.core.$ZodIssue[], data: unknown): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path, data);
      for (const key of issue.keys) {
        lines.push(`${formatPath([...issue.path, key])}: unknown key${suggest(key, known)}`);
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length) {
      // Report the branch that got furthest (the one with the deepest path), not a wall of alternatives.
      const deepest = issue.errors.map((errs) => errs).sort((a, b) => depth(b) - depth(a))[0] ?? [];
      const nested = deepest.map((e) => ({ ...e, path: [...issue.path, ...e.path] })) as z.core.$ZodIssue[];
      lines.push(...formatIssues(schema, nested, data));
      continue;
    }
    let input = (issue as { input?: unknown }).input;
    const last = issue.path[issue.path.length - 1];
    // A bad discriminator (e.g. hardware.driver) is reported with the whole object as input.
    if (typeof last === 'string' && input && typeof input === 'object' && !Array.isArray(input) && last in input) {
      input = (input as Record<string, unknown>)[last];
    }
    const missing = input === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union');
    const msg = missing ? `is required (${requiredHint(issue)})` : issue.message;
    // A cross-field rule (custom) reported on an object says what is wrong on its own: no "(got {...})".
    const objectInput = input !== null && typeof input === 'object';
    const got = missing || (issue.code === 'custom' && objectInput) ? '' : ` (got ${showSafely(issue.path, input)})`;
    lines.push(`${formatPath(issue.path)}: ${msg}${got}`);
  }
  return [...new Set(lines)];
}

/** What a missing key should hold, in the technician's words rather than zod's "expected object, received undefined". */
function requiredHint(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'invalid_type' || !issue.message.startsWith('Invalid input')) return issue.message;
  const what: Record<string, string> = {
    object: 'a section: see config/evsed.example.yaml for its keys',
    array: 'a list',
    string: 'a text',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
  };
  return what[issue.expected] ?? `a ${issue.expected}`;
}

function depth(errs: z.core.$ZodIssue[]): number {
  return Math.max(0, ...errs.map((e) => e.path.length + (e.code === 'invalid_type' || e.code === 'invalid_value' ? 0 : 1)));
}
