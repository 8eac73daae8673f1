import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeSysfs } from './fake-sysfs.js';
import { hwTestCommand } from '../../src/cli/commands/hw-test.js';

let tree: FakeSysfs | undefined;
afterEach(() => {
  tree?.dispose();
  tree = undefined;
});

/** evsed hw test cycles the light's patterns and the buzzer's sounds on their pins (fake sysfs). */
describe('evsed hw test: the status light and buzzer', () => {
  it('shows every state and card answer, plays every sound, leaves them dark and silent', async () => {
    tree = new FakeSysfs();
    const file = join(tree.root, 'evsed.yaml');
    writeFileSync(file, `station: { id: CP-1, vendor: evsed, model: pi }
storage: { dir: ${tree.root}/data }
auth: { mode: free }
connectors:
  - { id: 1, maxCurrentA: 16, phases: 3, hardware: { driver: sim }, meter: { model: sim } }
signals:
  root: ${tree.root}
  light: { driver: gpio, red: 20, green: 21, blue: 16 }
  buzzer: { driver: gpio, pin: 12 }
`);
    const lines: string[] = [];
    // Sample the LED pins while the test runs: every channel must light at some point.
    const seen = new Set<string>();
    const t = tree;
    const sampler = setInterval(() => {
      for (const n of [532, 533, 528, 524]) {
        try {
          if (t.value(n) === '1') seen.add(String(n));
        } catch {
          /* not exported yet */
        }
      }
    }, 2);
    const code = await hwTestCommand(['--config', file], { out: (l) => lines.push(l), confirm: async () => true, serviceState: async () => 'inactive', signalDwellMs: 30 });
    clearInterval(sampler);
    const text = lines.join('\n');
    expect(code).toBe(0);
    for (const s of ['Available', 'Preparing', 'Charging', 'SuspendedEV', 'SuspendedEVSE', 'Finishing', 'Reserved', 'Unavailable', 'Faulted', 'accepted', 'refused']) {
      expect(text).toContain(`[ ok ] light ${s}: shown`);
    }
    expect(text).toMatch(/light Charging.*R=GPIO20 G=GPIO21 B=GPIO16\s+blue pulse 2000 ms/);
    for (const s of ['beep', 'long', 'double']) expect(text).toContain(`[ ok ] buzzer ${s}: played`);
    expect([...seen].sort()).toEqual(['524', '528', '532', '533']);
    for (const n of [532, 533, 528, 524]) expect(t.value(n)).toBe('0');
  });
});
