import type { Edge, Graph } from './graph.js';
import type { ArchitectureRules } from './layers.js';

export type RuleName = 'layer' | 'sibling' | 'port' | 'cycle' | 'unassigned' | 'unresolved';

export interface Violation {
  rule: RuleName;
  /** The importing file (for a cycle: its first file in path order). */
  file: string;
  message: string;
  edge?: Edge;
  /** For a cycle: the files that import each other in a circle, and one such circle. */
  cycle?: Cycle;
}

/** The module a tree path belongs to: `src/hal/gpio/x.ts` → `hal`, `src/log.ts` → `log`; undefined outside src/. */
export function moduleOf(path: string): string | undefined {
  if (!path.startsWith('src/')) return undefined;
  const rest = path.slice(4);
  const slash = rest.indexOf('/');
  return slash >= 0 ? rest.slice(0, slash) : rest.replace(/\.ts$/, '');
}

export function layerIndex(rules: ArchitectureRules, module: string): number {
  return rules.layers.findIndex((l) => l.modules.includes(module));
}

export function layerName(rules: ArchitectureRules, module: string): string {
  const i = layerIndex(rules, module);
  return i < 0 ? 'no layer' : `${rules.layers[i]!.name} layer ${i}`;
}

/** Why the rules forbid `edge`, or undefined when they allow it. Layer and sibling rules come first; the port rule applies to what they allow. */
export function judgeEdge(rules: ArchitectureRules, edge: Edge): Violation | undefined {
  const from = moduleOf(edge.from);
  const to = moduleOf(edge.to);
  if (!from || !to || from === to) return undefined;
  const at = `${edge.from}:${edge.line} → ${edge.to}`;
  const fl = layerIndex(rules, from);
  const tl = layerIndex(rules, to);
  if (fl < 0 || tl < 0) return undefined; // reported once per module as 'unassigned'
  if (tl > fl) {
    return { rule: 'layer', file: edge.from, edge, message: `${at}: layer rule: ${from} (${layerName(rules, from)}) may not import ${to} (${layerName(rules, to)}), a higher layer  [${edge.text}]` };
  }
  if (tl === fl && !rules.siblings.some(([a, b]) => a === from && b === to)) {
    return { rule: 'sibling', file: edge.from, edge, message: `${at}: sibling rule: ${from} may not import ${to} (both in the ${rules.layers[fl]!.name} layer; not an allowed pair)  [${edge.text}]` };
  }
  const port = rules.port;
  if (to === port.module && !port.exempt.includes(from)) {
    if (edge.to !== port.file) {
      return { rule: 'port', file: edge.from, edge, message: `${at}: port rule: outside ${port.module}, only ${port.file} may be imported (type-only), not ${edge.to}  [${edge.text}]` };
    }
    if (!edge.typeOnly) {
      return { rule: 'port', file: edge.from, edge, message: `${at}: port rule: ${port.file} may be imported only type-only (\`import type\`), this is a value import  [${edge.text}]` };
    }
  }
  return undefined;
}

export interface Cycle {
  /** Every file of one strongly connected component (each reaches every other), sorted. */
  files: string[];
  /** A shortest circle through the first of them, in import order, the first file repeated at the end. */
  path: string[];
}

/** The import cycles of the file graph: one per strongly connected component of more than one file, or a file importing itself. */
export function findCycles(graph: Graph): Cycle[] {
  const next = new Map<string, string[]>();
  for (const e of graph.edges) {
    const list = next.get(e.from) ?? [];
    if (!list.includes(e.to)) list.push(e.to);
    next.set(e.from, list);
  }
  for (const list of next.values()) list.sort();

  // Tarjan's strongly connected components
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  const strongConnect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      const selfLoop = comp.length === 1 && (next.get(v) ?? []).includes(v);
      if (comp.length > 1 || selfLoop) components.push(comp.sort());
    }
  };
  for (const f of graph.files) if (!index.has(f)) strongConnect(f);

  return components
    .map((files) => ({ files, path: cycleThrough(files, next) }))
    .sort((a, b) => a.files[0]!.localeCompare(b.files[0]!));
}

/** A shortest closed path from the component's first file back to itself, staying inside the component. */
function cycleThrough(comp: string[], next: Map<string, string[]>): string[] {
  const members = new Set(comp);
  const start = comp[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    for (const w of next.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Every violation of `rules` in `graph`, in a stable order. */
export function checkGraph(graph: Graph, rules: ArchitectureRules): Violation[] {
  const out: Violation[] = [];
  const modules = new Set(graph.files.map(moduleOf).filter((m): m is string => m !== undefined));
  for (const m of [...modules].sort()) {
    if (layerIndex(rules, m) < 0) {
      const file = graph.files.find((f) => moduleOf(f) === m)!;
      out.push({ rule: 'unassigned', file, message: `${file}: module ${m} is in no layer: add it to test/architecture/layers.ts` });
    }
  }
  for (const e of graph.unresolved) {
    out.push({ rule: 'unresolved', file: e.from, edge: e, message: `${e.from}:${e.line} → ${e.to}: unresolved import '${e.specifier}' (no such file)` });
  }
  for (const e of graph.edges) {
    const v = judgeEdge(rules, e);
    if (v) out.push(v);
  }
  for (const cycle of findCycles(graph)) {
    const also = cycle.files.length > cycle.path.length - 1 ? `; all ${cycle.files.length} files of this knot: ${cycle.files.join(', ')}` : '';
    out.push({ rule: 'cycle', file: cycle.files[0]!, cycle, message: `${cycle.files[0]}: cycle rule: import cycle ${cycle.path.join(' → ')}${also}` });
  }
  return out;
}

export function formatViolations(violations: readonly Violation[]): string {
  if (!violations.length) return 'no violations';
  const byRule = new Map<RuleName, number>();
  for (const v of violations) byRule.set(v.rule, (byRule.get(v.rule) ?? 0) + 1);
  const summary = [...byRule].map(([r, n]) => `${n} ${r}`).join(', ');
  return `${violations.length} violation(s) (${summary}):\n` + violations.map((v) => `  - ${v.message}`).join('\n');
}
