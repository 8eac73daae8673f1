import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError, EXIT_CONFIG } from '../../src/config/errors.js';
import { runCli, tempDir, writeSimConfig } from '../support/station.js';
import { readFileSync } from 'node:fs';

/** A sim station config with `site` (YAML text of the section's body, indented two spaces). */
function withSite(site: string): string {
  const file = writeSimConfig(tempDir(), { extra: `site:\n${site}` });
  return readFileSync(file, 'utf8');
}

function problems(text: string): string[] {
  try {
    parseConfig(text, 'evsed.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('config: site (load management)', () => {
  it('defaults: marginA 1, the sim grid meter with a 2 A house and 1 s polls', () => {
    const cfg = parseConfig(withSite('  fuseA: 25\n  fallbackA: [6, 0, 0]\n  gridMeter: { model: sim }\n'));
    expect(cfg.site).toEqual({
      fuseA: 25,
      marginA: 1,
      fallbackA: [6, 0, 0],
      gridMeter: { model: 'sim', houseLoadA: 2, steps: [], pollIntervalMs: 1000, staleAfterS: 10 },
    });
  });

  it('a Modbus grid meter takes the keys of a connector meter (transport rules included)', () => {
    const cfg = parseConfig(withSite('  fuseA: 35\n  fallbackA: 6\n  gridMeter: { model: sdm630, transport: tcp, host: 10.0.0.5, invertedCt: true }\n'));
    expect(cfg.site?.gridMeter).toMatchObject({ model: 'sdm630', transport: 'tcp', host: '10.0.0.5', invertedCt: true, staleAfterS: 10 });
    expect(problems(withSite('  fuseA: 35\n  fallbackA: 6\n  gridMeter: { model: sdm630, transport: tcp-rtu, host: 10.0.0.5 }\n'))).toEqual([
      expect.stringMatching(/^site\.gridMeter\.port: is required for transport tcp-rtu/),
    ]);
  });

  it('bad values name the key and the fix', () => {
    expect(problems(withSite('  fuseA: 25\n  marginA: 25\n  fallbackA: 3\n  gridMeter: { model: sim }\n')).join('\n')).toMatch(/site\.marginA: must be below fuseA \(25 A\)/);
    expect(problems(withSite('  fuseA: 25\n  fallbackA: 3\n  gridMeter: { model: sdm999 }\n')).join('\n')).toMatch(/site\.gridMeter\.model: must be one of sim \| .*sdm630/);
    expect(problems(withSite('  fuseA: 25\n  fallbackA: 3\n  gridMeter: { model: sim }\n  fuse: 3\n')).join('\n')).toMatch(/site\.fuse\b/);
    expect(problems(withSite('  fuseA: 25\n  fallbackA: [6, 30, 6]\n  gridMeter: { model: sim }\n'))).toEqual([
      expect.stringMatching(/^site\.fallbackA: L2: 30 A is above fuseA - marginA \(24 A\).*use less/),
    ]);
    expect(problems(withSite('  fuseA: 25\n  fallbackA: [6, 6]\n  gridMeter: { model: sim }\n')).join('\n')).toMatch(/site\.fallbackA: must be .*three \(L1, L2, L3\)/);
    expect(problems(withSite('  fuseA: 25\n  gridMeter: { model: sim }\n')).join('\n')).toMatch(/site\.fallbackA/);
  });

  it('evsed config check exits 78 on a bad site section', async () => {
    const dir = tempDir();
    const file = writeSimConfig(dir, { extra: 'site: { fuseA: 4, fallbackA: 0, gridMeter: { model: sim } }\n' });
    const r = await runCli(['config', 'check', file]);
    expect(r.code).toBe(EXIT_CONFIG);
    expect(r.stderr + r.stdout).toMatch(/site\.fuseA: must be between 6 and 1000/);
  });
});
