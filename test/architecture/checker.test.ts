import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildGraph, parseImports } from './graph.js';
import { RULES } from './layers.js';
import { checkGraph, findCycles, moduleOf } from './rules.js';
import { readTree } from './tree.js';

const fixture = fileURLToPath(new URL('./fixtures/forbidden', import.meta.url));

describe('import-graph builder', () => {
  it('finds static imports, re-exports, dynamic imports and import() types, and which are type-only', () => {
    const refs = parseImports('src/x.ts', [
      "import type { A } from './a.js';",
      "import { type B, type C } from './b.js';",
      "import { D, type E } from './d.js';",
      "import F from './f.js';",
      "import './side-effect.js';",
      "export * from './g.js';",
      "export type { H } from './h.js';",
      "export { I } from './i.js';",
      "import { readFileSync } from 'node:fs';",
      "// import { Z } from './commented-out.js';",
      "const s = \"import { Y } from './in-a-string.js'\";",
      'export async function j(): Promise<unknown> {',
      "  return import('./j.js');",
      '}',
      "export type K = import('./k.js').K;",
    ].join('\n'));
    expect(refs.map((r) => [r.specifier, r.kind, r.typeOnly, r.line])).toEqual([
      ['./a.js', 'import', true, 1],
      ['./b.js', 'import', true, 2],
      ['./d.js', 'import', false, 3],
      ['./f.js', 'import', false, 4],
      ['./side-effect.js', 'import', false, 5],
      ['./g.js', 'export', false, 6],
      ['./h.js', 'export', true, 7],
      ['./i.js', 'export', false, 8],
      ['node:fs', 'import', false, 9],
      ['./j.js', 'dynamic', false, 13],
      ['./k.js', 'import-type', true, 15],
    ]);
  });

  it('resolves relative specifiers (.js → .ts) inside the tree and lists the missing ones', () => {
    const g = buildGraph(new Map([
      ['src/evse/station.ts', "import { a } from '../hal/a.js';\nimport { b } from './gone.js';\nimport { z } from 'zod';\nimport data from '../../hardware/x.json';"],
      ['src/hal/a.ts', 'export const a = 1;'],
    ]));
    expect(g.edges.map((e) => [e.from, e.to])).toEqual([['src/evse/station.ts', 'src/hal/a.ts']]);
    expect(g.unresolved.map((e) => [e.from, e.to, e.line])).toEqual([['src/evse/station.ts', 'src/evse/gone.ts', 2]]);
    expect(checkGraph(g, RULES).map((v) => v.rule)).toEqual(['unresolved']);
  });

  it('names modules by their top-level folder or file', () => {
    expect(['src/hal/gpio/contactor.ts', 'src/log.ts', 'src/daemon.ts', 'bench/run.ts'].map(moduleOf)).toEqual(['hal', 'log', 'daemon', undefined]);
  });

  it('reports each cycle with its files, a self-import included', () => {
    const g = buildGraph(new Map([
      ['src/api/a.ts', "import './b.js';"],
      ['src/api/b.ts', "import './c.js';"],
      ['src/api/c.ts', "import './a.js';\nimport './b.js';"],
      ['src/api/self.ts', "import './self.js';"],
      ['src/api/leaf.ts', "import './a.js';"],
    ]));
    expect(findCycles(g)).toEqual([
      { files: ['src/api/a.ts', 'src/api/b.ts', 'src/api/c.ts'], path: ['src/api/a.ts', 'src/api/b.ts', 'src/api/c.ts', 'src/api/a.ts'] },
      { files: ['src/api/self.ts'], path: ['src/api/self.ts', 'src/api/self.ts'] },
    ]);
  });
});

describe('boundary rules over a fixture tree with forbidden edges (test/architecture/fixtures/forbidden)', () => {
  const violations = checkGraph(buildGraph(readTree(fixture)), RULES);
  const found = violations.map((v) => [v.rule, v.file, v.edge?.to ?? v.cycle?.path.join(' → ') ?? '']);

  it('reports exactly the forbidden edges, the cycle and the module in no layer; the allowed edges pass', () => {
    expect(found).toEqual([
      ['unassigned', 'src/plugins/extra.ts', ''],
      ['sibling', 'src/api/routes.ts', 'src/telemetry/mqtt.ts'],
      ['port', 'src/billing/live.ts', 'src/evse/port.ts'],
      ['layer', 'src/hal/relay.ts', 'src/evse/connector.ts'],
      ['sibling', 'src/ocpp/handlers.ts', 'src/billing/tariff.ts'],
      ['layer', 'src/store/sessions.ts', 'src/ocpp/queue.ts'],
      ['port', 'src/telemetry/lazy.ts', 'src/evse/station.ts'],
      ['port', 'src/telemetry/lazy.ts', 'src/evse/connector.ts'],
      ['port', 'src/telemetry/mqtt.ts', 'src/evse/station.ts'],
      ['cycle', 'src/api/server.ts', 'src/api/server.ts → src/api/sse.ts → src/api/server.ts'],
    ]);
  });

  it('names the file, the edge and the rule in every message', () => {
    const msg = (file: string, to: string) => violations.find((v) => v.file === file && v.edge?.to === to)!.message;
    expect(msg('src/hal/relay.ts', 'src/evse/connector.ts')).toBe(
      "src/hal/relay.ts:2 → src/evse/connector.ts: layer rule: hal (hardware layer 1) may not import evse (core layer 4), a higher layer  [import { Connector } from '../evse/connector.js';]",
    );
    expect(msg('src/store/sessions.ts', 'src/ocpp/queue.ts')).toMatch(/^src\/store\/sessions\.ts:2 → src\/ocpp\/queue\.ts: layer rule: store .* may not import ocpp/);
    expect(msg('src/telemetry/mqtt.ts', 'src/evse/station.ts')).toMatch(
      /^src\/telemetry\/mqtt\.ts:2 → src\/evse\/station\.ts: port rule: outside evse, only src\/evse\/port\.ts may be imported \(type-only\), not src\/evse\/station\.ts {2}\[import type \{ Station \}/,
    );
    expect(msg('src/billing/live.ts', 'src/evse/port.ts')).toMatch(/^src\/billing\/live\.ts:2 → src\/evse\/port\.ts: port rule: .* only type-only .* value import {2}\[import \{ PORT_VERSION \}/);
    expect(msg('src/ocpp/handlers.ts', 'src/billing/tariff.ts')).toMatch(/^src\/ocpp\/handlers\.ts:4 → src\/billing\/tariff\.ts: sibling rule: ocpp may not import billing/);
    expect(msg('src/api/routes.ts', 'src/telemetry/mqtt.ts')).toMatch(/sibling rule: api may not import telemetry/);
    expect(violations.find((v) => v.rule === 'cycle')!.message).toBe('src/api/server.ts: cycle rule: import cycle src/api/server.ts → src/api/sse.ts → src/api/server.ts');
    expect(violations.find((v) => v.rule === 'unassigned')!.message).toMatch(/^src\/plugins\/extra\.ts: module plugins is in no layer/);
  });
});
