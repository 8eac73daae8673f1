import { z } from 'zod';

/**
 * Rules that span keys (phases and phaseRelay, a duplicate id, a password without a user) as zod
 * checks that run even while other keys of the object are wrong. zod skips a refinement once a
 * type error is found anywhere below it, so such a problem used to show only on the next run, after
 * the first ones were fixed. Here the rule sees the partly parsed value through a guard: reading a
 * key that has a problem of its own (or lies under one) abandons the rule (or the `ifReadable`
 * block around the read), because its verdict would rest on a wrong value. What it reported before
 * that stands: it rested on values that are right.
 */

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];
type Ctx<T> = z.core.$RefinementCtx<T>;

const UNREADABLE = Symbol('unreadable: a key the rule reads has its own problem');

export function crossKeys<T>(rule: (value: T, ctx: Ctx<T>) => void): z.core.$ZodCheck<T> {
  return z.superRefine<T>(
    (value, ctx) => {
      const bad: Path[] = ctx.issues.filter((i) => i.code !== 'unrecognized_keys').map((i) => i.path ?? []);
      if (!bad.length) return rule(value, ctx);
      if (bad.some((p) => p.length === 0) || value === null || typeof value !== 'object') return;
      // An issue keeps the plain value as its input: the guard is only for the rule's reads.
      const addIssue: Ctx<T>['addIssue'] = (issue) => {
        if (typeof issue === 'object' && issue.input !== null && typeof issue.input === 'object') issue = { ...issue, input: TARGETS.get(issue.input) ?? issue.input } as typeof issue;
        ctx.addIssue(issue);
      };
      try {
        rule(guard(value, [], bad), Object.assign(Object.create(ctx) as Ctx<T>, { addIssue }));
      } catch (err) {
        if (err !== UNREADABLE) throw err;
      }
    },
    { when: () => true },
  );
}

/**
 * Runs one part of a rule; reading a wrong key there skips only that part (a rule that checks each
 * connector goes on with the next one). Outside crossKeys it simply runs `part`.
 */
export function ifReadable(part: () => void): void {
  try {
    part();
  } catch (err) {
    if (err !== UNREADABLE) throw err;
  }
}

const startsWith = (path: Path, prefix: Path) => prefix.length <= path.length && prefix.every((k, i) => k === path[i]);

const TARGETS = new WeakMap<object, object>();

function guard<T extends object>(value: T, at: Path, bad: Path[]): T {
  const proxy = new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown;
      if (typeof key === 'symbol') return v;
      const seg = Array.isArray(target) && /^\d+$/.test(key) ? Number(key) : key;
      const path = [...at, seg];
      // A problem at this key or above it: the value is not what the schema promises.
      if (bad.some((p) => startsWith(path, p))) throw UNREADABLE;
      // A problem further down: hand out a guarded view, so reads below are checked too.
      if (v !== null && typeof v === 'object' && bad.some((p) => startsWith(p, path))) return guard(v, path, bad);
      return v;
    },
  });
  TARGETS.set(proxy, value);
  return proxy;
}
