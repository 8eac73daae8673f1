import { readFileSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../config/load.js';
import { parseListen } from '../../config/zod-helpers.js';
import { DEFAULT_CONFIG, UsageError } from './args.js';

export interface TagsOptions {
  config?: string;
  url?: string;
  name?: string;
  connector?: string | number;
  timeoutS?: string | number;
  out?: string;
}

export type TagsSubcommand = 'learn' | 'export' | 'import';

/**
 * The options as commander parsed them (src/cli/commands/index.ts has the usage and examples).
 * Exit codes: 69 (EX_UNAVAILABLE) the daemon cannot be reached; 75 (EX_TEMPFAIL) no card in time,
 * or a learn already waits; 65 (EX_DATAERR) a refused CSV.
 */
export async function tagsCommand(sub: TagsSubcommand, values: TagsOptions, positionals: string[] = [], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(s));
  const err = io.err ?? ((s: string) => console.error(s));
  const configFile = values.config ?? DEFAULT_CONFIG;
  const { config } = loadConfig(configFile);
  const base = values.url ?? apiUrl(config.api.listen);
  const headers: Record<string, string> = config.api.token ? { authorization: `Bearer ${config.api.token}` } : {};
  const call = async (path: string, init: RequestInit = {}) => {
    try {
      return await fetch(base + path, { ...init, headers: { ...headers, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    } catch (e) {
      throw Object.assign(new Error(`cannot reach the daemon at ${base} (is evsed running? api.listen in ${configFile}): ${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}`), { exitCode: 69 });
    }
  };
  const errorOf = async (res: Response) => ((await res.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${res.status}`;

  if (sub === 'export') {
    const res = await call('/api/tags.csv');
    if (!res.ok) {
      err(`evsed tags export: ${await errorOf(res)}`);
      return 1;
    }
    const text = await res.text();
    if (values.out) writeFileSync(values.out, text);
    else out(text);
    return 0;
  }

  if (sub === 'import') {
    const file = positionals[0];
    if (!file) throw new UsageError('evsed tags import needs the CSV file');
    const csv = readFileSync(file, 'utf8');
    const res = await call('/api/tags.csv', { method: 'PUT', body: JSON.stringify({ csv }) });
    if (!res.ok) {
      err(`evsed tags import: ${file}: ${await errorOf(res)}`);
      return res.status === 400 ? 65 : 1;
    }
    const { tags } = (await res.json()) as { tags: number };
    out(`${tags} tag(s) in the owner's list now\n`);
    return 0;
  }

  if (!values.name) throw new UsageError('--name is required: the name the new card is to carry');
  const timeoutS = values.timeoutS === undefined ? 30 : Number(values.timeoutS);
  const connectorId = values.connector === undefined ? undefined : Number(values.connector);
  err(`hold the new card to the reader now (within ${timeoutS} s) ...`);
  const res = await call('/api/tags/learn', { method: 'POST', body: JSON.stringify({ name: values.name, timeoutS, ...(connectorId !== undefined ? { connectorId } : {}) }) });
  const body = (await res.json().catch(() => ({}))) as { idTag?: string; name?: string; addedTo?: string; note?: string; error?: string };
  if (res.status === 200) {
    out(`learned ${body.idTag} as "${body.name}" (${body.addedTo === 'list' ? 'added to the owner\'s tag list' : 'named only'})\n`);
    if (body.note) out(`note: ${body.note}\n`);
    return 0;
  }
  err(`evsed tags learn: ${body.error ?? `HTTP ${res.status}`}`);
  return res.status === 408 || res.status === 409 ? 75 : 1;
}

/** The daemon's API as seen from this machine (a wildcard listen address is reached on loopback). */
function apiUrl(listen: string): string {
  const { host, port } = parseListen(listen);
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
