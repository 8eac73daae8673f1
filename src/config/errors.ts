import type { z } from 'zod';
import { isSecretPath, isUrlPath } from './secrets.js';

/** sysexits.h EX_CONFIG: what systemd and installers expect for a bad configuration. */
export const EXIT_CONFIG = 78;

/** One problem of a config file; line and column (from 1) where the file has the key, or its nearest parent. */
export interface ConfigProblem {
  text: string;
  line?: number;
  column?: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = EXIT_CONFIG;
  /** One line per problem, "<key path>: <what is wrong and what would be right>", in the order found. */
  readonly problems: string[];
  /** The same problems in file order, with their positions. */
  readonly located: ConfigProblem[];

  constructor(readonly file: string, problems: readonly (string | ConfigProblem)[]) {
    const all = problems.map((p) => (typeof p === 'string' ? { text: p } : p));
    const located = all
      .map((p, i) => ({ p, i }))
      .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
      .map(({ p }) => p);
    const where = (p: ConfigProblem) => (p.line === undefined ? '' : `line ${p.line}${p.column === undefined ? '' : `, column ${p.column}`}: `);
    super(`${file}: invalid configuration${all.length > 1 ? ` (${all.length} problems)` : ''}\n${located.map((p) => `  - ${where(p)}${p.text}`).join('\n')}`);
    this.problems = all.map((p) => p.text);
    this.located = located;
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

/** Edits (insert, delete, change, swap of two neighbours) from a to b, ignoring case. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[x.length]![y.length]!;
}

/**
 * The value a technician most likely meant, only when it is close: one edit in a short word (one
 * per four letters in a long one), a different case, or the word cut short or run on (warning for
 * warn). Nothing when two are equally close: a guess between two would mislead.
 */
export function closestValue(value: string, candidates: readonly string[]): string | undefined {
  const v = value.toLowerCase();
  const scored = candidates.map((c) => {
    const l = c.toLowerCase();
    const prefix = Math.min(v.length, l.length) >= 3 && (v.startsWith(l) || l.startsWith(v));
    return { c, d: editDistance(value, c), prefix };
  });
  const close = scored.filter((s) => s.d <= Math.max(1, Math.floor(value.length / 4)) || s.prefix);
  if (!close.length) return undefined;
  const best = Math.min(...close.map((s) => s.d));
  const top = close.filter((s) => s.d === best);
  return top.length === 1 ? top[0]!.c : undefined;
}

const WRAPPERS = ['optional', 'default', 'nullable', 'prefault', 'readonly', 'catch', 'nonoptional'];

/** The schema that checks the value at `path`, following arrays, wrappers and unions by the data; unions at the end are kept. */
function schemaAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>, data: unknown): any {
  let s: any = schema;
  let d: any = data;
  const unwrap = (unions: boolean) => {
    for (let guard = 0; guard < 20 && s; guard++) {
      const def = s._zod?.def;
      if (!def) return;
      if (WRAPPERS.includes(def.type)) s = def.innerType;
      else if (def.type === 'pipe') s = def.in;
      else if (def.type === 'union' && unions) s = unionBranch(def, d);
      else return;
    }
  };
  unwrap(path.length > 0);
  for (const [i, seg] of path.entries()) {
    const def = s?._zod?.def;
    if (!def) return undefined;
    if (def.type === 'object' && typeof seg === 'string') s = def.shape[seg];
    else if (def.type === 'array' && typeof seg === 'number') s = def.element;
    else return undefined;
    d = d?.[seg as any];
    unwrap(i < path.length - 1);
  }
  return s;
}

/** The branch of a union the data is meant for: the one whose literal or enum key matches. */
function unionBranch(def: any, d: any): any {
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
  return match ?? options.find((o) => o._zod?.def?.type === 'object') ?? options[0];
}

/** Keys an object schema accepts at `path`. */
function knownKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>, data: unknown): string[] {
  let s = schemaAt(schema, path, data);
  if (s?._zod?.def?.type === 'union') s = unionBranch(s._zod.def, path.reduce((d: any, k) => d?.[k as any], data));
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

/** A problem with the key path it is about; `key`: it is about the key itself (an unknown key), not its value. */
export interface DescribedIssue {
  path: PropertyKey[];
  text: string;
  key?: boolean;
}

/** One line per problem: "<key path>: <what is wrong and what would be right> (got X)". */
export function formatIssues(schema: z.ZodType, issues: z.core.$ZodIssue[], data: unknown): string[] {
  return describeIssues(schema, issues, data).map((i) => i.text);
}

/** formatIssues with the path of each line, for finding it in the file. */
export function describeIssues(schema: z.ZodType, issues: z.core.$ZodIssue[], data: unknown): DescribedIssue[] {
  const out: DescribedIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path, data);
      for (const key of issue.keys) {
        out.push({ path: [...issue.path, key], text: `${formatPath([...issue.path, key])}: unknown key${suggest(key, known)}`, key: true });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length) {
      // Report the branch that got furthest (the one with the deepest path), not a wall of alternatives.
      const deepest = issue.errors.map((errs) => errs).sort((a, b) => depth(b) - depth(a))[0] ?? [];
      const nested = deepest.map((e) => ({ ...e, path: [...issue.path, ...e.path] })) as z.core.$ZodIssue[];
      out.push(...describeIssues(schema, nested, data));
      continue;
    }
    let input = (issue as { input?: unknown }).input;
    const last = issue.path[issue.path.length - 1];
    // A bad discriminator (e.g. hardware.driver) is reported with the whole object as input.
    const parent = input;
    if (typeof last === 'string' && input && typeof input === 'object' && !Array.isArray(input) && last in input) {
      input = (input as Record<string, unknown>)[last];
    }
    const missing = input === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union');
    const hint = requiredHint(issue);
    const msg = missing ? `is required (${hint})` : issue.code === 'invalid_type' && hint !== issue.message ? `must be ${hint}` : issue.message;
    // A cross-field rule (custom) reported on an object says what is wrong on its own: no "(got {...})".
    const objectInput = input !== null && typeof input === 'object';
    const meant = typeof input === 'string' ? meantValue(issue, input) : undefined;
    const got = missing || (issue.code === 'custom' && objectInput) ? '' : ` (got ${showSafely(issue.path, input)}${meant ? `, did you mean ${meant}?` : ''})`;
    out.push({ path: [...issue.path], text: `${formatPath(issue.path)}: ${msg}${got}` });
    // The rest of an object whose kind (driver, model) is misspelt: checked as the kind it is most likely meant to be.
    if (meant && issue.code === 'invalid_union' && parent && typeof parent === 'object') {
      out.push(...asMeant(schema, issue.path, data, parent as Record<string, unknown>, meant));
    }
  }
  const seen = new Set<string>();
  return out.filter((i) => !seen.has(i.text) && seen.add(i.text));
}

/** The allowed value closest to a wrong one (enum, literal, discriminator), when it is close. */
function meantValue(issue: z.core.$ZodIssue, input: string): string | undefined {
  let allowed: unknown[] = [];
  if (issue.code === 'invalid_value') allowed = issue.values as unknown[];
  else if (issue.code === 'invalid_union' && 'options' in issue) allowed = (issue as { options?: unknown[] }).options ?? [];
  const strings = allowed.filter((v): v is string => typeof v === 'string');
  return strings.length ? closestValue(input, strings) : undefined;
}

function asMeant(schema: z.ZodType, path: PropertyKey[], data: unknown, parent: Record<string, unknown>, meant: string): DescribedIssue[] {
  const discriminator = path[path.length - 1] as string;
  const at = path.slice(0, -1);
  const union = schemaAt(schema, at, data);
  const def = union?._zod?.def;
  if (def?.type !== 'union') return [];
  const branch = (def.options as any[]).find((o) => o._zod?.def?.shape?.[discriminator]?.safeParse(meant).success);
  if (!branch) return [];
  const fixed = { ...parent, [discriminator]: meant };
  const r = (branch as z.ZodType).safeParse(fixed, { reportInput: true });
  if (r.success) return [];
  return describeIssues(branch, r.error.issues, fixed).map((i) => ({ ...i, path: [...at, ...i.path], text: `${formatPath([...at, ...i.path])}${i.text.slice(formatPath(i.path).length)}` }));
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
