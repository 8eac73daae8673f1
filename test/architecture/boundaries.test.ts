import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildGraph } from './graph.js';
import { RULES } from './layers.js';
import { checkGraph, formatViolations } from './rules.js';
import { readTree } from './tree.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

describe('import boundaries of src/ (test/architecture/layers.ts; docs/architecture.md)', () => {
  it('has no layer, sibling, port, cycle or unresolved-import violation', () => {
    const graph = buildGraph(readTree(repo));
    expect(graph.files.length).toBeGreaterThan(50);
    const violations = checkGraph(graph, RULES);
    // the message list is the report: which file imports what, against which rule
    expect(violations.map((v) => v.message), formatViolations(violations)).toEqual([]);
  });
});
