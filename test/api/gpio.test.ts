import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseConfig, type LoadedConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { FakeSysfs, gpioStationYaml } from '../hal/fake-sysfs.js';
import { api, tempDir } from '../support/station.js';

let tree: FakeSysfs | undefined;
let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  tree?.dispose();
});

describe('local API with hardware.driver gpio (fake sysfs)', () => {
  it('POST /api/connectors/:id/sim answers 409: simulation controls do not exist for real hardware', async () => {
    tree = new FakeSysfs();
    tree.setPilot(12, 0);
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const loaded: LoadedConfig = { config: parseConfig(gpioStationYaml(tree.root, dataDir)), file: join(dir, 'evsed.yaml'), storageDir: dataDir, dbFile: join(dataDir, 'evsed.db') };
    daemon = await startDaemon(loaded, silentLogger(), { gpio: { edges: tree.edges } });
    const base = `http://127.0.0.1:${daemon.address.port}`;
    for (const action of ['plug', 'ev-ready', 'fault', 'unplug']) {
      const r = await api(base, '/api/connectors/1/sim', { action });
      expect(r.status, action).toBe(409);
      expect(r.body.error).toMatch(/real hardware: simulation controls exist only with hardware.driver sim/);
    }
    expect(tree.value(512 + 17)).toBe('0'); // and nothing moved
    expect((await api(base, '/api/status')).body.connectors[0]).toMatchObject({ id: 1, contactorClosed: false });
  });
});
