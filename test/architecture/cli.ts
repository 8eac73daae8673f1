import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagramIn, renderMermaid, withDiagram } from './diagram.js';
import { buildGraph } from './graph.js';
import { RULES } from './layers.js';
import { checkGraph, formatViolations } from './rules.js';
import { readTree } from './tree.js';

/**
 * `npm run arch` (from the repository root): prints the boundary violations of src/ and rewrites
 * the dependency diagram in docs/architecture.md from the code. `npm run arch -- --check` writes
 * nothing and also fails when the diagram is stale. Exit 1 when anything is wrong.
 */
const root = process.cwd();
const check = process.argv.includes('--check');
const docFile = join(root, 'docs/architecture.md');

const graph = buildGraph(readTree(root));
const violations = checkGraph(graph, RULES);
console.log(`src/: ${graph.files.length} files, ${graph.edges.length} import edges; ${formatViolations(violations)}`);

const doc = readFileSync(docFile, 'utf8');
const diagram = renderMermaid(graph, RULES);
let stale = false;
if (diagramIn(doc) === diagram) {
  console.log('docs/architecture.md: the diagram matches the code');
} else if (check) {
  stale = true;
  console.log('docs/architecture.md: the diagram does not match the code (npm run arch rewrites it)');
} else {
  writeFileSync(docFile, withDiagram(doc, diagram));
  console.log('docs/architecture.md: diagram rewritten from the code');
}
process.exitCode = violations.length || stale ? 1 : 0;
