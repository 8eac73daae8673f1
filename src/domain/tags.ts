/**
 * idTags are case-insensitive (OCPP 1.6 CiString20Type). One normalisation for every comparison,
 * map key and SQL lookup: ASCII letters folded to upper case, nothing else touched. That is exactly
 * SQLite's NOCASE collation (which folds ASCII only), so `idTagKey(a) === idTagKey(b)` in code and
 * `a = b COLLATE NOCASE` in SQL always agree. Every idTag column and comparison in SQL uses
 * `COLLATE ${ID_TAG_COLLATION}`.
 */
export const ID_TAG_COLLATION = 'NOCASE';

export function idTagKey(idTag: string): string {
  return idTag.replace(/[a-z]+/g, (s) => s.toUpperCase());
}

export function sameIdTag(a: string | null | undefined, b: string | null | undefined): boolean {
  return a != null && b != null && idTagKey(a) === idTagKey(b);
}
