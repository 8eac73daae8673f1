import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, type LoadedConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { StoreError } from '../../src/store/db.js';
import { silentLogger } from '../../src/log.js';
import { FakeSysfs, gpioStationYaml } from '../hal/fake-sysfs.js';
import { tempDir } from '../support/station.js';

const S = (bcm: number) => 512 + bcm;
let tree: FakeSysfs | undefined;
afterEach(() => tree?.dispose());

function loaded(dir: string, root: string): LoadedConfig {
  const dataDir = join(dir, 'data');
  const config = parseConfig(gpioStationYaml(root, dataDir));
  return { config, file: join(dir, 'evsed.yaml'), storageDir: dataDir, dbFile: join(dataDir, 'evsed.db') };
}

describe('daemon start: the outputs are the first act', () => {
  it('a damaged database still leaves every output at its safe level (hardware built and driven safe before the store opens)', async () => {
    tree = new FakeSysfs();
    const dir = tempDir();
    const l = loaded(dir, tree.root);
    mkdirSync(l.storageDir, { recursive: true });
    writeFileSync(l.dbFile, 'this is not an SQLite database, it is a damaged file '.repeat(200));
    await expect(startDaemon(l, silentLogger(), { gpio: { edges: tree.edges } })).rejects.toThrow(StoreError);
    // every output was exported and driven to its safe level
    for (const bcm of [17, 24, 5, 6, 23, 25]) {
      expect(tree.attr(S(bcm), 'direction'), `GPIO${bcm}`).toBe('low');
      expect(tree.value(S(bcm)), `GPIO${bcm}`).toBe('0');
    }
    expect(tree.pwmAttr(0, 0, 'duty_cycle')).toBe('1000000'); // X1: steady +12 V, not state F
    expect(tree.pwmAttr(0, 0, 'enable')).toBe('1');
  });
});
