import ts from 'typescript';
import { posix } from 'node:path';

/** How a file refers to another: `import`, `export ... from`, a dynamic `import()` call, or an `import('...')` type. */
export type EdgeKind = 'import' | 'export' | 'dynamic' | 'import-type';

export interface Edge {
  /** Paths relative to the tree root, `/`-separated (e.g. `src/hal/factory.ts`). */
  from: string;
  to: string;
  specifier: string;
  kind: EdgeKind;
  /** Brings no value binding, so it is erased at run time: `import type`, `export type`, every named binding marked `type`, or an `import('...')` type. */
  typeOnly: boolean;
  line: number;
  /** The statement as written (one line), for messages. */
  text: string;
}

export interface Graph {
  files: string[];
  edges: Edge[];
  /** Relative imports whose `.ts` target is not in the tree. */
  unresolved: Edge[];
}

export interface ImportRef {
  specifier: string;
  kind: EdgeKind;
  typeOnly: boolean;
  line: number;
  text: string;
}

/** Every module reference in one TypeScript source text (relative or not). */
export function parseImports(fileName: string, text: string): ImportRef[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const refs: ImportRef[] = [];
  const add = (node: ts.Node, spec: ts.Expression | undefined, kind: EdgeKind, typeOnly: boolean) => {
    if (!spec || !ts.isStringLiteralLike(spec)) return;
    refs.push({
      specifier: spec.text,
      kind,
      typeOnly,
      line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
      text: node.getText(sf).replace(/\s+/g, ' ').trim(),
    });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node, node.moduleSpecifier, 'import', importIsTypeOnly(node));
    } else if (ts.isExportDeclaration(node)) {
      add(node, node.moduleSpecifier, 'export', exportIsTypeOnly(node));
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0], 'dynamic', false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal as ts.Expression, 'import-type', true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return refs;
}

function importIsTypeOnly(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import './x.js'` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const b = clause.namedBindings;
  return !!b && ts.isNamedImports(b) && b.elements.length > 0 && b.elements.every((e) => e.isTypeOnly);
}

function exportIsTypeOnly(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const c = node.exportClause;
  return !!c && ts.isNamedExports(c) && c.elements.length > 0 && c.elements.every((e) => e.isTypeOnly);
}

/** The tree path a relative specifier names (`.js` → `.ts`), or undefined for a package or builtin. */
export function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  return target.endsWith('.js') ? target.slice(0, -3) + '.ts' : target;
}

/**
 * The file-level import graph of a tree given as `path → source text` (paths `/`-separated,
 * relative to the root). Only relative references between `.ts` files make edges; a relative
 * `.ts` target absent from the tree is listed in `unresolved`, other targets (JSON, assets) are ignored.
 */
export function buildGraph(files: ReadonlyMap<string, string>): Graph {
  const edges: Edge[] = [];
  const unresolved: Edge[] = [];
  for (const [from, text] of files) {
    for (const ref of parseImports(from, text)) {
      const to = resolveSpecifier(from, ref.specifier);
      if (!to) continue;
      const edge: Edge = { from, to, ...ref };
      if (files.has(to)) edges.push(edge);
      else if (to.endsWith('.ts')) unresolved.push(edge);
    }
  }
  return { files: [...files.keys()].sort(), edges, unresolved };
}
