import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The meter register maps are data files (hardware/meters/<model>.json): their names are the
 * models a config may name. The maps themselves are read by meter/modbus/model.ts.
 */

/** hardware/meters, found from this module in src/ (tests) and dist/src/ (built). */
export function modelsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'hardware', 'meters');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('hardware/meters not found next to the evsed installation');
}

/** Model names for the config schema: read at import so the file names are the source. */
export function modelNames(): string[] {
  try {
    return readdirSync(modelsDir()).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
  } catch {
    return [];
  }
}
