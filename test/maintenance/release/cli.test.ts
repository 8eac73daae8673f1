import { afterEach, describe, expect, it } from 'vitest';
import { chownSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { api, runCli, spawnDaemon, until, writeSimConfig, type DaemonProcess } from '../../support/station.js';
import { Device, releaseKeys } from './fixtures.js';
import { startHttpFileServer } from '../../support/file-servers.js';

/** `evsed update`, `evsed rollback` and `evsed self-check` as the technician runs them (the built CLI). */
let dev: Device | undefined;
let daemon: DaemonProcess | undefined;
afterEach(async () => {
  await daemon?.stop();
  dev?.dispose();
  dev = daemon = undefined;
});

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** A sim station config whose update section points into the device, its API on a fixed port the CLI can find. */
async function deviceConfig(d: Device): Promise<string> {
  const file = writeSimConfig(d.dir, { extra: `update: { root: ${JSON.stringify(d.root)}, releaseKey: ${JSON.stringify(d.keyFile)}, trialStarts: 2 }` });
  const text = readFileSync(file, 'utf8').replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${await freePort()}`).replace(JSON.stringify(join(d.dir, 'data')), JSON.stringify(d.storage));
  writeFileSync(file, text);
  return file;
}

describe('evsed update and evsed rollback', () => {
  it('update installs a bundle on trial (exit 0), refuses a bad one (65); rollback goes back (0), then has nowhere to go (1)', async () => {
    dev = new Device();
    await dev.install(await dev.bundle({ version: '1.0.0' }));
    const config = await deviceConfig(dev);

    const good = await runCli(['update', await dev.bundle({ version: '1.1.0' }), '--config', config]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain('evsed 1.1.0 installed');
    expect(good.stdout).toContain('on trial');
    expect(good.stdout).toContain('sudo systemctl restart evsed');
    expect(readlinkSync(join(dev.root, 'current'))).toBe('releases/1.1.0');
    expect(dev.guard()).toContain('start 1 of 2');

    const forged = await runCli(['update', await dev.bundle({ version: '1.2.0', key: releaseKeys().privateKey }), '--config', config]);
    expect(forged.code).toBe(65);
    expect(forged.stderr).toContain('refused (signature)');
    expect(readlinkSync(join(dev.root, 'current'))).toBe('releases/1.1.0');

    const back = await runCli(['rollback', '--config', config]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('points to 1.0.0 again (was 1.1.0)');
    expect((await dev.start()).out).toContain('evsed 1.0.0 run');
    const again = await runCli(['rollback', '--config', config]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no previous release');
  });

  it('update URL downloads the bundle first (http on loopback); a URL that cannot be fetched exits 69', async () => {
    dev = new Device();
    await dev.install(await dev.bundle({ version: '1.0.0' }));
    const config = await deviceConfig(dev);
    const server = await startHttpFileServer();
    try {
      server.files.set('/fw/evsed-1.1.0-x.tar', readFileSync(await dev.bundle({ version: '1.1.0' })));
      const missing = await runCli(['update', `${server.url}/fw/nothing.tar`, '--config', config]);
      expect(missing.code).toBe(69);
      expect(missing.stderr).toContain('cannot download');
      const r = await runCli(['update', `${server.url}/fw/evsed-1.1.0-x.tar`, '--config', config]);
      expect(r.code, r.stderr).toBe(0);
      expect(readlinkSync(join(dev.root, 'current'))).toBe('releases/1.1.0');
    } finally {
      await server.close();
    }
  });

  it('both refuse while a session runs (75) unless --force', async () => {
    dev = new Device();
    await dev.install(await dev.bundle({ version: '1.0.0' }));
    const config = await deviceConfig(dev);
    daemon = await spawnDaemon(config);
    await api(daemon.url, '/api/connectors/1/sim', { action: 'plug' });
    await api(daemon.url, '/api/connectors/1/tag', { idTag: 'TAG-1' });
    await until(async () => (await api(daemon!.url, '/api/status')).body.connectors[0].session, 'a session');
    const bundle = await dev.bundle({ version: '1.1.0' });

    const refused = await runCli(['update', bundle, '--config', config]);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toContain('a session runs on connector 1');
    expect(readlinkSync(join(dev.root, 'current'))).toBe('releases/1.0.0');
    expect((await runCli(['rollback', '--config', config])).code).toBe(75);

    const forced = await runCli(['update', bundle, '--config', config, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readlinkSync(join(dev.root, 'current'))).toBe('releases/1.1.0');
  });

  it('as root, refuses to leave files the service user cannot change (77)', async () => {
    if (process.getuid?.() !== 0) {
      console.log('evsed update as root: not run (this test runs only as root)');
      return;
    }
    dev = new Device();
    await dev.install(await dev.bundle({ version: '1.0.0' }));
    chownSync(join(dev.root, 'releases'), 4242, 4242);
    const r = await runCli(['update', await dev.bundle({ version: '1.1.0' }), '--config', await deviceConfig(dev)]);
    expect(r.code).toBe(77);
    expect(r.stderr).toContain('sudo -u evsed');
  });

  it('self-check of this build loads every module, SQLite and the config (0); a bad config fails it (1)', async () => {
    dev = new Device();
    const ok = await runCli(['self-check', '--config', 'config/sim.yaml']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/self-check passed: \d{3} modules, SQLite, config/);
    const bad = join(dev.dir, 'bad.yaml');
    writeFileSync(bad, 'station: {}\n');
    const r = await runCli(['self-check', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('self-check: config');
  });
});

describe('the daemon and a release on trial', () => {
  it('without OCPP, the daemon starts the standalone proof of the release on trial (and does not confirm it at once)', async () => {
    dev = new Device();
    await dev.install(await dev.bundle({ version: '1.0.0' }));
    await dev.install(await dev.bundle({ version: '1.1.0' }));
    daemon = await spawnDaemon(await deviceConfig(dev));
    await until(() => daemon!.lines.find((l) => l.includes('release on trial: confirmed after this long of healthy control loops')), 'the proof started');
    const line = JSON.parse(daemon.lines.find((l) => l.includes('release on trial'))!) as { version: string; proofS: number };
    expect(line).toMatchObject({ version: '1.1.0', proofS: 300 });
    expect(dev.installer().outcome()).toEqual({ kind: 'trial', version: '1.1.0', previous: '1.0.0' });
  });
});
