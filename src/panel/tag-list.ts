import { sameIdTag } from '../domain/tags.js';
import { isoSeconds } from '../hal/clock.js';
import { parseDate } from '../store/export.js';
import { MAX_TAG_NAME, type OwnerTag } from '../store/billing/tag-names.js';
import { CsvError, parseCsv, toCsv } from '../util/csv.js';

/**
 * The owner's tag list as CSV (GET/PUT /api/tags.csv, `evsed tags export|import`): columns name,
 * idTag, expiry, parent, enabled. Export and import round-trip: expiry is an ISO timestamp in UTC
 * (or empty: never), enabled is true or false (absent on import: true).
 */
export const TAG_CSV_COLUMNS = ['name', 'idTag', 'expiry', 'parent', 'enabled'] as const;
const REQUIRED = ['name', 'idTag'] as const;

export function tagsToCsv(tags: readonly OwnerTag[]): string {
  return toCsv([
    [...TAG_CSV_COLUMNS],
    ...tags.map((t) => [t.name, t.idTag, t.expiryWallMs === null ? '' : isoSeconds(t.expiryWallMs), t.parentIdTag ?? '', String(t.enabled)]),
  ]);
}

export class TagCsvError extends Error {}

/** The tags of a CSV text; every problem is named with its line (all of them, not only the first). */
export function parseTagsCsv(text: string): OwnerTag[] {
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvError) throw new TagCsvError(err.message);
    throw err;
  }
  const [header, ...body] = rows;
  if (!header) throw new TagCsvError(`empty: the first line must name the columns (${TAG_CSV_COLUMNS.join(',')})`);
  const cols = header.map((h) => h.trim());
  const unknown = cols.filter((c) => !(TAG_CSV_COLUMNS as readonly string[]).includes(c));
  if (unknown.length) throw new TagCsvError(`line 1: unknown column ${unknown.map((c) => JSON.stringify(c)).join(', ')} (columns: ${TAG_CSV_COLUMNS.join(', ')})`);
  const missing = REQUIRED.filter((c) => !cols.includes(c));
  if (missing.length) throw new TagCsvError(`line 1: the column ${missing.join(' and ')} is missing (columns: ${TAG_CSV_COLUMNS.join(', ')})`);
  const problems: string[] = [];
  const tags: OwnerTag[] = [];
  body.forEach((r, i) => {
    // Lines are counted as records (a quoted line break inside a name is still one record).
    const at = `record ${i + 2}`;
    if (r.length !== cols.length) {
      problems.push(`${at}: ${r.length} fields, the header has ${cols.length}`);
      return;
    }
    const get = (c: (typeof TAG_CSV_COLUMNS)[number]) => {
      const k = cols.indexOf(c);
      return k < 0 ? '' : r[k]!;
    };
    const name = get('name').trim();
    const idTag = get('idTag').trim();
    const parent = get('parent').trim();
    const expiry = get('expiry').trim();
    const enabled = get('enabled').trim().toLowerCase();
    const bad = (why: string) => problems.push(`${at}${idTag ? ` (${idTag})` : ''}: ${why}`);
    if (!idTag || idTag.length > 20) return bad('idTag must be 1 to 20 characters (OCPP IdToken)');
    if (!name) return bad('name is empty: every tag of the list needs a name');
    if (name.length > MAX_TAG_NAME) return bad(`name must be at most ${MAX_TAG_NAME} characters`);
    if (parent.length > 20) return bad('parent must be at most 20 characters');
    if (enabled !== '' && enabled !== 'true' && enabled !== 'false') return bad(`enabled must be true or false (got ${JSON.stringify(enabled)})`);
    let expiryWallMs: number | null = null;
    if (expiry) {
      try {
        expiryWallMs = parseDate(expiry, 'expiry');
      } catch (err) {
        return bad((err as Error).message);
      }
    }
    const dup = tags.find((t) => sameIdTag(t.idTag, idTag));
    if (dup) return bad(`the tag is listed twice (also as ${dup.idTag}; tags match without regard to case)`);
    tags.push({ name, idTag, expiryWallMs, parentIdTag: parent || null, enabled: enabled !== 'false' });
  });
  if (problems.length) throw new TagCsvError(problems.join('\n'));
  return tags;
}
