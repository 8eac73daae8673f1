import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';

/**
 * Minimal reproductions of what the config fuzzer (test/fuzz/config.test.ts, seed 388823, 2,000
 * cases) found: YAML that escapes parseConfig as an exception other than ConfigError, so
 * `evsed config check` / `evsed run` fail with a stack instead of "line N: ..." and exit 78.
 * src/config/load.ts calls doc.toJS() outside any try; src/config/errors.ts show() JSON.stringifies
 * a self-referencing value.
 */
const base = `station: { id: CP-1, vendor: v, model: m }
storage: { dir: ./data }
auth: { mode: free }
connectors:
  - { id: 1, maxCurrentA: 32, phases: 3, hardware: { driver: sim }, meter: { model: sim } }
`;

function thrown(text: string): unknown {
  try {
    parseConfig(text, 'bug.yaml');
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('config parsing bugs found by fuzzing', () => {
  it('regression: an alias without its anchor throws ReferenceError instead of ConfigError', () => {
    const err = thrown(`${base}api: *nope\n`);
    expect(err).toBeInstanceOf(ConfigError);
  });

  it('regression: an alias-expansion bomb throws ReferenceError ("Excessive alias count") instead of ConfigError', () => {
    const bomb = 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
    const err = thrown(`${base.replace('storage: { dir: ./data }', `storage: { dir: ./data }\n${bomb}`)}`);
    expect(err).toBeInstanceOf(ConfigError);
  });

  it('regression: a self-referencing alias (storage: &s { dir: *s }) throws TypeError "Converting circular structure to JSON" instead of ConfigError', () => {
    const err = thrown(base.replace('storage: { dir: ./data }', 'storage: &s\n  dir: *s'));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.every((p) => p.startsWith('storage.dir') || /^line \d+/.test(p))).toBe(true);
  });
});
