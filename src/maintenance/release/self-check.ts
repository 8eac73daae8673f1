import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '../../config/load.js';

/**
 * `evsed self-check`: what the installer runs in a freshly unpacked release before it may become
 * `current`. Loads every module of this release (a missing file or dependency, a syntax error, an
 * import that does not resolve), the native SQLite addon (built for this arch and Node ABI), and the
 * station's config (the new release must accept this device's config). Starts nothing, touches no
 * hardware.
 */
export interface SelfCheckResult {
  ok: boolean;
  modules: number;
  problems: string[];
}

/** Files that run when loaded: the CLI entry and the safety core's worker thread. */
const NOT_IMPORTED = [`cli${sep}main`, `hal${sep}safety-core${sep}worker`];

export async function selfCheck(o: { configFile?: string } = {}): Promise<SelfCheckResult> {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  const srcRoot = join(dirname(here), '..', '..');
  const problems: string[] = [];
  let modules = 0;
  for (const file of listModules(srcRoot, ext)) {
    const name = relative(srcRoot, file).slice(0, -ext.length);
    if (NOT_IMPORTED.includes(name)) continue;
    try {
      await import(pathToFileURL(file).href);
      modules++;
    } catch (err) {
      problems.push(`module ${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (f: string) => { prepare(s: string): { get(): unknown }; close(): void };
    const db = new Database(':memory:');
    db.prepare('select 1').get();
    db.close();
  } catch (err) {
    problems.push(`SQLite (better-sqlite3, native): ${(err as Error).message.split('\n')[0]}`);
  }
  if (o.configFile) {
    try {
      loadConfig(o.configFile);
    } catch (err) {
      problems.push(`config ${o.configFile}: ${(err as Error).message}`);
    }
  }
  return { ok: problems.length === 0, modules, problems };
}

function listModules(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'public') out.push(...listModules(p, ext));
    } else if (e.name.endsWith(ext) && !e.name.endsWith(`.d${ext}`)) out.push(p);
  }
  return out.sort();
}
