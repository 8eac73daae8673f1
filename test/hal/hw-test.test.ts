import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeSysfs } from './fake-sysfs.js';
import { hwTestCommand } from '../../src/cli/commands/hw-test.js';

const S = (bcm: number) => 512 + bcm;
let tree: FakeSysfs | undefined;
let board: NodeJS.Timeout | undefined;
afterEach(() => {
  clearInterval(board);
  tree?.dispose();
});

function config(root: string): string {
  const file = join(root, 'evsed.yaml');
  writeFileSync(file, `
station: { id: CP-1, vendor: evsed, model: pi }
storage: { dir: ${root}/data }
auth: { mode: free }
connectors:
  - id: 1
    maxCurrentA: 16
    phases: 3
    meter: { model: sim }
    hardware:
      driver: gpio
      root: ${root}
      gpio: { contactor: 17, contactorFeedback: 27, rcdFault: 22, rcdTest: 23, cpRelay: 24, heartbeat: 25, activeLow: [rcdFault] }
      pilotSense: { mode: adc }
      rcdSelfTest: { testMs: 300, clearMs: 300 }
      contactorCheck: { weldMs: 100, closeMs: 100 }
`);
  return file;
}

/** A fake board: contactor aux contact follows the coil, the RCD module trips while tested. */
function fakeBoard(t: FakeSysfs, opts: { welded?: boolean } = {}) {
  const last: Record<number, string> = {};
  t.setPilot(12, 0);
  board = setInterval(() => {
    const follow = (from: number, to: number, map: (v: string) => 0 | 1) => {
      let v: string;
      try { v = t.value(S(from)); t.value(S(to)); } catch { return; }
      if (last[from] === v) return;
      last[from] = v;
      t.setInput(S(to), map(v));
    };
    follow(17, 27, (v) => (opts.welded ? 1 : v === '1' ? 1 : 0));
    follow(23, 22, (v) => (v === '1' ? 0 : 1));
  }, 2);
}

describe('evsed hw test', () => {
  it('toggles every output, reads inputs, passes on a healthy board (--yes)', async () => {
    tree = new FakeSysfs();
    fakeBoard(tree);
    const lines: string[] = [];
    const code = await hwTestCommand(['--config', config(tree.root), '--yes'], { out: (l) => lines.push(l), confirm: async () => false, ctx: { edges: tree.edges } });
    const text = lines.join('\n');
    expect(text).toMatch(/pilot X1 .*high 12\.00 V.*A\/B/);
    expect(text).toMatch(/RCD self-test .*tripped after \d+ ms/);
    expect(text).toMatch(/contactor .*feedback closed=true then open=true/);
    expect(text).toMatch(/heartbeat .*10 toggles/);
    expect(text).toContain('all checks passed');
    expect(code).toBe(0);
  });

  it('asks before the contactor; a refusal and a welded contactor are failures', async () => {
    tree = new FakeSysfs();
    fakeBoard(tree, { welded: true });
    const lines: string[] = [];
    const questions: string[] = [];
    const code = await hwTestCommand(['--config', config(tree.root)], {
      out: (l) => lines.push(l),
      confirm: async (q) => (questions.push(q), true),
      ctx: { edges: tree.edges },
    });
    expect(questions[0]).toMatch(/close the contactor for 1 s\?/);
    expect(lines.join('\n')).toMatch(/FAIL\] contactor: feedback closed=true then open=false/);
    expect(code).toBe(1);

    tree.dispose();
    tree = new FakeSysfs();
    fakeBoard(tree);
    const lines2: string[] = [];
    const code2 = await hwTestCommand(['--config', config(tree.root)], { out: (l) => lines2.push(l), confirm: async () => false, ctx: { edges: tree.edges } });
    expect(lines2.join('\n')).toMatch(/contactor .*skipped \(not confirmed; use --yes for scripts\)/);
    expect(code2).toBe(1);
  });

  it('reports a missing PWM overlay as a failed check, not a crash', async () => {
    tree = new FakeSysfs({ pwm: 'none' });
    const lines: string[] = [];
    const code = await hwTestCommand(['--config', config(tree.root), '--yes'], { out: (l) => lines.push(l), confirm: async () => true, ctx: { edges: tree.edges } });
    expect(lines.join('\n')).toContain('dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2');
    expect(code).toBe(1);
  });
});
