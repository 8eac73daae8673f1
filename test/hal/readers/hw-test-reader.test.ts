import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hwTestCommand } from '../../../src/cli/commands/hw-test.js';
import { FakeInputDevice } from '../../support/input-device.js';
import { tempDir, until } from '../../support/station.js';

const CARD = readFileSync(join(import.meta.dirname, 'fixtures', `card-decimal-${process.arch === 'arm' ? 'armhf' : 'x64'}.bin`));

function stationWithReaders(readersYaml: string): string {
  const dir = tempDir('evsed-hwtest-reader-');
  const file = join(dir, 'evsed.yaml');
  writeFileSync(file, `station: { id: CP-1, vendor: evsed, model: pi }
storage: { dir: ${join(dir, 'data')} }
auth: { mode: free }
connectors:
  - { id: 1, maxCurrentA: 16, phases: 3, meter: { model: sim }, hardware: { driver: sim } }
readers:
${readersYaml}`);
  return file;
}

async function run(argv: string[], during?: (lines: string[]) => Promise<void>) {
  const lines: string[] = [];
  const pending = hwTestCommand(argv, { out: (l) => lines.push(l), confirm: async () => false, serviceState: async () => 'inactive' });
  await during?.(lines);
  return { code: await pending, text: lines.join('\n') };
}

describe('evsed hw test: card readers', () => {
  it('waits for a card and prints the idTag the daemon would see', async () => {
    const dev = new FakeInputDevice();
    const file = stationWithReaders(`  - { id: door, driver: keyboard, device: ${dev.path} }`);
    const r = await run(['--config', file, '--reader', 'door', '--card-timeout-s', '20'], async (lines) => {
      await until(() => lines.some((l) => l.includes('hold a card to it now')), 'the prompt');
      dev.write(CARD);
    });
    expect(r.text).toContain('[ ok ] reader door: idTag 0012345678');
    expect(r.text).toMatch(/reader door\s+\S+event-kbd\s+wait 20 s for a card\s+idTag 0012345678\s+ok/);
    expect(r.code).toBe(0);
  });

  it('no card within the time, and a reader that is not plugged in, are failures with the reason', async () => {
    const dev = new FakeInputDevice();
    const file = stationWithReaders(`  - { id: door, driver: keyboard, device: ${dev.path} }\n  - { id: gate, driver: keyboard, device: /dev/input/by-id/usb-not-plugged-in-event-kbd }`);
    const r = await run(['--config', file, '--card-timeout-s', '0.2']);
    expect(r.text).toContain('[FAIL] reader door: no card within 0.2 s');
    expect(r.text).toContain('[FAIL] reader gate: cannot open /dev/input/by-id/usb-not-plugged-in-event-kbd: no such device (is the reader plugged in?');
    expect(r.text).toContain('2 check(s) FAILED');
    expect(r.code).toBe(1);
  });

  it('an unknown reader id is a usage error', async () => {
    const file = stationWithReaders('  - { id: door, driver: sim }');
    await expect(run(['--config', file, '--reader', 'nope'])).rejects.toThrow(/no reader nope in the config \(readers: door\)/);
  });
});
