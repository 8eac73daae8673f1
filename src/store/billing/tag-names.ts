import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import { ID_TAG_COLLATION } from '../../domain/tags.js';

export const MAX_TAG_NAME = 80;

/**
 * Names shown for tags in reports and the dashboard (billing_tag_names), set through the API.
 * The idTag is case-insensitive (the column is COLLATE NOCASE): naming "car1" names "CAR1", and
 * the latest spelling given is the one kept.
 */
export class TagNameRepository {
  private stmt?: { all: Statement; remove: Statement; upsert: Statement };
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Prepared on first use: a store opened read-only before billing existed has no such table. */
  private statements() {
    this.stmt ??= {
      all: this.db.prepare('SELECT id_tag, name FROM billing_tag_names ORDER BY id_tag'),
      remove: this.db.prepare(`DELETE FROM billing_tag_names WHERE id_tag = ? COLLATE ${ID_TAG_COLLATION}`),
      upsert: this.db.prepare(`INSERT INTO billing_tag_names (id_tag, name, updated_wall_ms) VALUES (?, ?, ?)
        ON CONFLICT (id_tag) DO UPDATE SET id_tag = excluded.id_tag, name = excluded.name, updated_wall_ms = excluded.updated_wall_ms`),
    };
    return this.stmt;
  }

  /** idTag (as last spelt) → name. */
  all(): Map<string, string> {
    const rows = this.statements().all.all() as { id_tag: string; name: string }[];
    return new Map(rows.map((r) => [r.id_tag, r.name]));
  }

  /** Set (or with null/empty, remove) the name shown for a tag. */
  set(idTag: string, name: string | null): void {
    const n = name?.trim();
    if (!n) {
      this.statements().remove.run(idTag);
      return;
    }
    if (n.length > MAX_TAG_NAME) throw new Error(`tag name must be at most ${MAX_TAG_NAME} characters`);
    this.statements().upsert.run(idTag, n, this.now());
  }
}
