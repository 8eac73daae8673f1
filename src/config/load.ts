import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { configSchema, type Config } from './schema.js';
import { ConfigError, describeIssues, formatPath } from './errors.js';
import { positionOf } from './yaml-position.js';
import { scrubSecrets, secretValues } from './secrets.js';

/** Parse and validate a config text. `file` only names the source in errors. */
export function parseConfig(text: string, file = '<config>'): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error', lineCounter: lines });
  if (doc.errors.length) {
    // Only the first syntax error: the later ones are usually its echo further down the file.
    throw new ConfigError(
      file,
      doc.errors.slice(0, 1).map((e) => {
        const pos = e.linePos?.[0];
        return `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}YAML syntax: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
      }),
    );
  }
  let data: unknown;
  try {
    // A config never needs many aliases; a bounded count stops alias-expansion bombs.
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (err) {
    throw new ConfigError(file, [`(top level): YAML: ${(err as Error).message} (check the anchors & and aliases *)`]);
  }
  const cycle = cyclePath(data);
  if (cycle !== null) throw new ConfigError(file, [`${formatPath(cycle)}: YAML alias refers to a mapping that contains it (a cycle); write the values out`]);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(file, ['(top level): must be a mapping with station, storage, auth and connectors']);
  }
  const result = configSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    // Secret values are not shown at their own keys; this also catches one echoed anywhere else.
    const secrets = secretValues(data);
    throw new ConfigError(
      file,
      describeIssues(configSchema, result.error.issues, data).map((i) => ({ text: scrubSecrets(i.text, secrets), ...positionOf(doc, lines, i.path, i.key) })),
    );
  }
  return result.data;
}

export interface LoadedConfig {
  config: Config;
  file: string;
  /** storage.dir resolved against the working directory. */
  storageDir: string;
  dbFile: string;
}

export function loadConfig(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [code === 'ENOENT' ? 'file not found (give --config PATH)' : `cannot read: ${(err as Error).message}`]);
  }
  const config = parseConfig(text, file);
  const storageDir = resolve(config.storage.dir);
  return { config, file, storageDir, dbFile: resolve(storageDir, 'evsed.db') };
}

/** The key path at which a value refers back to one of its parents (YAML aliases can), or null. */
function cyclePath(value: unknown, parents = new Set<object>(), path: (string | number)[] = []): (string | number)[] | null {
  if (value === null || typeof value !== 'object') return null;
  if (parents.has(value)) return path;
  parents.add(value);
  for (const [k, v] of Object.entries(value)) {
    const found = cyclePath(v, parents, [...path, Array.isArray(value) ? Number(k) : k]);
    if (found) return found;
  }
  parents.delete(value);
  return null;
}
