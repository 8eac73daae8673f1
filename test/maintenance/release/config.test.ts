import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../../src/config/load.js';
import { problems } from '../../support/config-problems.js';
import { runCli, tempDir } from '../../support/station.js';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';

const BASE = readFileSync('config/sim.yaml', 'utf8');

describe('config: update', () => {
  it('defaults when absent', () => {
    expect(parseConfig(BASE).update).toEqual({ root: '/opt/evsed', releaseKey: '/etc/evsed/release-key.pub.pem', trialStarts: 3, standaloneProofS: 300 });
  });

  it('names every bad key with the fix', () => {
    const p = problems(`${BASE}\nupdate: { root: opt/evsed, releaseKey: "", trialStarts: 0, standaloneProofS: 5, rootDir: /x }\n`);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^update\.root: must be an absolute path, e\.g\. \/opt\/evsed/),
        expect.stringMatching(/^update\.releaseKey: must be an absolute path/),
        expect.stringMatching(/^update\.trialStarts: must be between 1 and 20/),
        expect.stringMatching(/^update\.standaloneProofS: must be between 30 and 86400/),
        expect.stringMatching(/^update\.rootDir: unknown key/),
      ]),
    );
  });

  it('evsed update with a bad update section exits 78 before touching anything', async () => {
    const dir = tempDir();
    const file = join(dir, 'evsed.yaml');
    writeFileSync(file, `${BASE}\nupdate: { trialStarts: 0 }\n`);
    const r = await runCli(['update', join(dir, 'x.tar'), '--config', file]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('update.trialStarts');
  });
});
