import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateDay, toCsv } from './pv-day-profile.js';

/**
 * Writes test/fixtures/pv-day-clear.csv and pv-day-cloudy.csv (deterministic):
 * `npm run build && node dist/bench/make-pv-day-fixtures.js`.
 */
const root = resolve(import.meta.dirname, '../..');
for (const kind of ['clear', 'cloudy'] as const) {
  const file = join(root, 'test/fixtures', `pv-day-${kind}.csv`);
  writeFileSync(file, toCsv(generateDay(kind)));
  console.error(`wrote ${file}`);
}
