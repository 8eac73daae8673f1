import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Every `.ts` file under `root/dir` (declaration files excluded) as `path → text`, paths relative to `root` with `/`. */
export function readTree(root: string, dir = 'src'): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
    const abs = join(entry.parentPath, entry.name);
    files.set(relative(root, abs).split(sep).join('/'), readFileSync(abs, 'utf8'));
  }
  return new Map([...files].sort(([a], [b]) => a.localeCompare(b)));
}
