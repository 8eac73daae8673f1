import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, spawnDaemon, tempDir, until, writeSimConfig } from '../support/station.js';
import { Device } from '../maintenance/release/fixtures.js';
import { RELEASE_ENTRY } from '../../src/maintenance/release/layout.js';
import { FIRMWARE_VERSION } from '../../src/domain/version.js';

/**
 * The real release flow: `npm run release`'s script on this checkout (built code, production
 * dependencies copied for this arch, about 19 MB), installed as an update over a tiny release, its
 * own self-check run by the installer, then the daemon started from `current` as the unit does.
 * Tens of seconds on a loaded machine: only under `npm run test:torture` (EVSED_TORTURE=1;
 * vitest.config.ts leaves this file out of `npm test`).
 */
const out = tempDir('evsed-real-release-');
let dev: Device | undefined;
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  dev?.dispose();
});

describe('npm run release, then evsed update of that bundle', () => {
  it('builds a signed bundle of this checkout that installs, passes its self-check and runs the daemon from current', async () => {
    dev = new Device();
    const keys = generateKeyPairSync('ed25519');
    const keyFile = join(out, 'release-key.pem');
    writeFileSync(keyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(dev.keyFile, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    const made = spawnSync(process.execPath, [join(ROOT, 'dist/src/maintenance/release/make-release.js'), '--key', keyFile, '--out', out], { encoding: 'utf8', timeout: 300_000 });
    expect(made.status, made.stderr).toBe(0);
    const bundle = made.stdout.trim();
    expect(bundle).toBe(join(out, `evsed-${FIRMWARE_VERSION}-${process.arch}.tar`));

    // A tiny 0.0.1 runs now; the real release comes as an update (its self-check loads this device's config).
    await dev.install(await dev.bundle({ version: '0.0.1', key: keys.privateKey }));
    const config = writeSimConfig(dev.dir, { extra: `update: { root: ${JSON.stringify(dev.root)}, releaseKey: ${JSON.stringify(dev.keyFile)} }` });
    writeFileSync(config, readFileSync(config, 'utf8').replace(JSON.stringify(join(dev.dir, 'data')), JSON.stringify(dev.storage)));
    await dev.install(bundle, { runningVersion: '0.0.1', configFile: config });
    expect(dev.installer().outcome()).toEqual({ kind: 'trial', version: FIRMWARE_VERSION, previous: '0.0.1' });

    expect(dev.guard()).toContain('start 1 of 3');
    const entry = join(dev.root, 'current', RELEASE_ENTRY);
    expect(spawnSync(process.execPath, [entry, '--version'], { encoding: 'utf8' }).stdout.trim()).toBe(FIRMWARE_VERSION);
    // The daemon of the release, from current: its API answers and it starts the standalone proof.
    const daemon = await spawnDaemon(config, 30_000, entry);
    try {
      await until(() => daemon.lines.find((l) => l.includes('release on trial')), 'the standalone proof started');
      expect(readFileSync(join(dev.root, 'current', 'release.json'), 'utf8')).toContain(`"version": "${FIRMWARE_VERSION}"`);
    } finally {
      await daemon.stop();
    }
  }, 400_000);
});
