import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BundleRejected, type BundleProblem } from '../../../src/maintenance/release/types.js';
import { Device, makePayload, releaseKeys } from './fixtures.js';

let dev: Device | undefined;
afterEach(() => {
  dev?.dispose();
  dev = undefined;
});

async function problemOf(p: Promise<unknown>): Promise<BundleProblem | string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    return err instanceof BundleRejected ? err.problem : `other: ${(err as Error).message}`;
  }
}

describe('release installer', () => {
  it('installs a good bundle beside the running release; the new version runs from current, on trial until confirmed', async () => {
    dev = new Device();
    await dev.install(await dev.bundle({ version: '1.0.0' }));
    expect(readlinkSync(join(dev.root, 'current'))).toBe('releases/1.0.0');
    // The first release has nothing to go back to: no trial.
    expect(dev.installer().outcome()).toEqual({ kind: 'none' });
    expect((await dev.start()).out).toContain('evsed 1.0.0 run');

    await dev.install(await dev.bundle({ version: '1.1.0' }));
    expect(readdirSync(join(dev.root, 'releases')).sort()).toEqual(['1.0.0', '1.1.0']);
    expect(dev.installer().outcome()).toEqual({ kind: 'trial', version: '1.1.0', previous: '1.0.0' });
    const s = await dev.start();
    expect(s.guard).toContain('release 1.1.0 on trial: start 1 of 3');
    expect(s.code).toBe(0);
    expect(s.out).toContain('evsed 1.1.0 run');

    await dev.installer().confirm();
    expect(dev.installer().outcome()).toEqual({ kind: 'none' });
    expect((await dev.start()).guard).toBe('');
    // A third release: the oldest goes once the new one is confirmed (current and previous stay).
    await dev.install(await dev.bundle({ version: '1.2.0' }));
    await dev.installer().confirm();
    expect(readdirSync(join(dev.root, 'releases')).sort()).toEqual(['1.1.0', '1.2.0']);
  });

  it('refuses a bad signature, a bad checksum, another engine or arch, a broken file, the running version and a failed self-check: nothing changes', async () => {
    dev = new Device();
    await dev.install(await dev.bundle({ version: '1.0.0' }));
    const inst = dev.installer();
    const other = releaseKeys();
    expect(await problemOf(inst.verify(await dev.bundle({ version: '2.0.0', key: other.privateKey })))).toBe('signature');
    const swapped = await makePayload(dev.dir, '2.0.0', 'crash');
    expect(await problemOf(inst.verify(await dev.bundle({ version: '2.0.0', swapPayload: swapped })))).toBe('checksum');
    expect(await problemOf(inst.verify(await dev.bundle({ version: '2.0.0', node: '>=99' })))).toBe('engine');
    expect(await problemOf(inst.verify(await dev.bundle({ version: '2.0.0', node: `^${process.versions.node.split('.')[0]}.0.0` })))).toBe('accepted');
    expect(await problemOf(inst.verify(await dev.bundle({ version: '2.0.0', arch: process.arch === 'arm64' ? 'x64' : 'arm64' })))).toBe('arch');
    expect(await problemOf(inst.verify(await dev.bundle({ version: '1.0.0' })))).toBe('same-version');
    expect(await problemOf(inst.verify(await dev.bundle({ version: '2.0.0', manifest: { version: '../evil' } })))).toBe('format');
    const junk = join(dev.dir, 'junk.tar');
    writeFileSync(junk, 'not a tar at all'.repeat(100));
    expect(await problemOf(inst.verify(junk))).toBe('format');
    // The signature is checked against the configured key: a key that cannot be read refuses every bundle.
    expect(await problemOf(dev.installer({ releaseKeyFile: join(dev.dir, 'missing.pem') }).verify(await dev.bundle({ version: '2.0.0' })))).toBe('signature');

    const bad = await inst.verify(await dev.bundle({ version: '2.0.0', behaviour: 'bad-self-check' }));
    expect(await problemOf(inst.stage(bad))).toBe('self-check');
    expect(readdirSync(join(dev.root, 'releases'))).toEqual(['1.0.0']);
    expect(readlinkSync(join(dev.root, 'current'))).toBe('releases/1.0.0');
  });

  it('a release that crashes at start is rolled back by the guard after trialStarts starts, and the outcome says why', async () => {
    dev = new Device();
    await dev.install(await dev.bundle({ version: '1.0.0' }));
    await dev.install(await dev.bundle({ version: '1.1.0', behaviour: 'crash' }));
    for (let i = 1; i <= 3; i++) {
      const s = await dev.start();
      expect(s.guard).toContain(`start ${i} of 3`);
      expect(s.code).toBe(1);
    }
    const back = await dev.start();
    expect(back.guard).toContain('rolled back from 1.1.0 to 1.0.0');
    expect(back.code).toBe(0);
    expect(back.out).toContain('evsed 1.0.0 run');
    const outcome = dev.installer().outcome();
    expect(outcome).toMatchObject({ kind: 'rolled-back', failed: '1.1.0', version: '1.0.0' });
    expect(outcome.kind === 'rolled-back' && outcome.reason).toContain('did not prove itself in 3 starts');
    // Reported once: cleared, it is not reported again; 1.0.0 keeps starting.
    await dev.installer().clearOutcome();
    expect(dev.installer().outcome()).toEqual({ kind: 'none' });
    expect((await dev.start()).out).toContain('evsed 1.0.0 run');
  });

  it("the technician's rollback goes back to the previous release, also after it was confirmed", async () => {
    dev = new Device();
    await dev.install(await dev.bundle({ version: '1.0.0' }));
    await expect(dev.installer().rollback('x')).rejects.toThrow(/no previous release/);
    await dev.install(await dev.bundle({ version: '1.1.0' }));
    await dev.installer().confirm();
    await dev.installer().rollback('technician: evsed rollback');
    expect(readlinkSync(join(dev.root, 'current'))).toBe('releases/1.0.0');
    expect(dev.installer().outcome()).toEqual({ kind: 'rolled-back', failed: '1.1.0', version: '1.0.0', reason: 'technician: evsed rollback' });
    expect((await dev.start()).out).toContain('evsed 1.0.0 run');
    expect(existsSync(join(dev.storage, 'update/trial'))).toBe(false);
  });
});
