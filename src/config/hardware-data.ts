import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Register maps are data files under hardware/<kind>/<model>.json (meters, pilot boards): their
 * names are the models a config may name.
 */

/** hardware/<kind>, found from this module in src/ (tests) and dist/src/ (built). */
export function hardwareDataDir(kind: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'hardware', kind);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`hardware/${kind} not found next to the evsed installation`);
}

/** The model names in hardware/<kind>, sorted; none when the folder is missing. */
export function hardwareModelNames(kind: string): string[] {
  try {
    return readdirSync(hardwareDataDir(kind)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
  } catch {
    return [];
  }
}
