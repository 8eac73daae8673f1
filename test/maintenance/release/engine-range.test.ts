import { describe, expect, it } from 'vitest';
import { satisfiesEngine } from '../../../src/maintenance/release/engine-range.js';

describe('engines.node ranges', () => {
  it.each([
    ['v20.19.4', '>=20', true],
    ['v18.20.0', '>=20', false],
    ['v20.19.4', '>=20.6.0 <23', true],
    ['v23.0.0', '>=20.6.0 <23', false],
    ['v20.5.9', '>=20.6.0 <23', false],
    ['v22.1.0', '^20 || ^22', true],
    ['v21.1.0', '^20 || ^22', false],
    ['v20.19.4', '^20.6', true],
    ['v20.5.0', '^20.6', false],
    ['v20.19.4', '~20.19.1', true],
    ['v20.20.0', '~20.19.1', false],
    ['v20.19.4', '20.x', true],
    ['v21.0.0', '20', false],
    ['v20.19.4', '20 - 22', true],
    ['v22.9.0', '20 - 22', true],
    ['v23.0.0', '20 - 22', false],
    ['v20.19.4', '*', true],
    ['v20.19.4', '>20', false],
    ['v21.0.0', '>20', true],
    ['v20.19.4', '<=20', true],
    ['v20.19.4', '>= 20.0.0', true],
  ])('%s in "%s": %s', (version, range, ok) => {
    expect(satisfiesEngine(version, range)).toBe(ok);
  });

  it('throws on a range it cannot read (the bundle is refused, not guessed)', () => {
    expect(() => satisfiesEngine('v20.0.0', '>=twenty')).toThrow(/cannot read/);
  });
});
