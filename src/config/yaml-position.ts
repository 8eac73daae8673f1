import { isAlias, isCollection, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

export interface Position {
  line: number;
  column: number;
}

/**
 * Where the value at a key path is written in the YAML file: a scalar's value, a section's key
 * (a block mapping starts on the line after it), or, for a key the file does not have, its nearest
 * parent. `key`: the key itself (an unknown key).
 */
export function positionOf(doc: Document, lines: LineCounter, path: ReadonlyArray<PropertyKey>, key = false): Position | undefined {
  const pos = (node: unknown): Position | undefined => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (!range) return undefined;
    const p = lines.linePos(range[0]);
    return { line: p.line, column: p.col };
  };
  let node: unknown = doc.contents;
  let at = pos(node);
  for (const [i, seg] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (!pair) break;
      const keyOnly = key && i === path.length - 1;
      at = (keyOnly || isCollection(pair.value) || pair.value === null ? pos(pair.key) : pos(pair.value)) ?? at;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      at = pos(item) ?? at;
      node = item;
    } else break;
  }
  return at;
}
