import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import { ID_TAG_COLLATION } from '../../domain/tags.js';

export const MAX_TAG_NAME = 80;

/** A tag of the owner's list (the local auth mode accepts it besides the config's tags). */
export interface OwnerTag {
  idTag: string;
  name: string;
  /** Wall-clock ms after which the tag is Expired; null = never. */
  expiryWallMs: number | null;
  parentIdTag: string | null;
  enabled: boolean;
}

/** A row of the table: a tag of the owner's list (inList), or only a name for a tag. */
export interface TagEntry extends OwnerTag {
  inList: boolean;
}

interface Row {
  id_tag: string;
  name: string;
  in_list: number;
  enabled: number;
  expiry_wall_ms: number | null;
  parent_id_tag: string | null;
}

/**
 * Names shown for tags in reports and the dashboard, and the owner's tag list (billing_tag_names,
 * migration 4), set through the API, learn mode and CSV import. The idTag is case-insensitive (the
 * column is COLLATE NOCASE): naming "car1" names "CAR1", and the latest spelling given is the one kept.
 */
export class TagNameRepository {
  private stmt?: { all: Statement; remove: Statement; upsert: Statement; get: Statement; list: Statement; put: Statement; unlist: Statement };
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
      get: this.db.prepare(`SELECT * FROM billing_tag_names WHERE id_tag = ? COLLATE ${ID_TAG_COLLATION}`),
      list: this.db.prepare('SELECT * FROM billing_tag_names WHERE in_list = 1 ORDER BY name, id_tag'),
      put: this.db.prepare(`INSERT INTO billing_tag_names (id_tag, name, updated_wall_ms, in_list, enabled, expiry_wall_ms, parent_id_tag) VALUES (?, ?, ?, 1, ?, ?, ?)
        ON CONFLICT (id_tag) DO UPDATE SET id_tag = excluded.id_tag, name = excluded.name, updated_wall_ms = excluded.updated_wall_ms,
          in_list = 1, enabled = excluded.enabled, expiry_wall_ms = excluded.expiry_wall_ms, parent_id_tag = excluded.parent_id_tag`),
      unlist: this.db.prepare('UPDATE billing_tag_names SET in_list = 0 WHERE in_list = 1'),
    };
    return this.stmt;
  }

  /** idTag (as last spelt) → name. */
  all(): Map<string, string> {
    const rows = this.statements().all.all() as { id_tag: string; name: string }[];
    return new Map(rows.map((r) => [r.id_tag, r.name]));
  }

  /** Set (or with null/empty, remove) the name shown for a tag; a tag of the owner's list stays in it. */
  set(idTag: string, name: string | null): void {
    const n = name?.trim();
    if (!n) {
      this.statements().remove.run(idTag);
      return;
    }
    checkName(n);
    this.statements().upsert.run(idTag, n, this.now());
  }

  /** The row of a tag (any spelling), or undefined. */
  get(idTag: string): TagEntry | undefined {
    const r = this.statements().get.get(idTag) as Row | undefined;
    return r && entry(r);
  }

  /** The owner's tag list, by name. */
  list(): OwnerTag[] {
    return (this.statements().list.all() as Row[]).map((r) => {
      const { inList: _, ...tag } = entry(r);
      return tag;
    });
  }

  /** Add a tag to the owner's list, or replace it there. */
  put(tag: OwnerTag): void {
    const n = tag.name.trim();
    checkName(n);
    this.statements().put.run(tag.idTag, n, this.now(), tag.enabled ? 1 : 0, tag.expiryWallMs, tag.parentIdTag);
  }

  /** The owner's list becomes exactly `tags`, in one transaction; tags leaving it keep their names (history shows them). */
  replaceList(tags: readonly OwnerTag[]): void {
    this.db.transaction(() => {
      this.statements().unlist.run();
      for (const t of tags) this.put(t);
    })();
  }
}

function checkName(n: string): void {
  if (!n) throw new Error('a tag needs a name');
  if (n.length > MAX_TAG_NAME) throw new Error(`tag name must be at most ${MAX_TAG_NAME} characters`);
}

function entry(r: Row): TagEntry {
  return { idTag: r.id_tag, name: r.name, inList: r.in_list === 1, enabled: r.enabled === 1, expiryWallMs: r.expiry_wall_ms, parentIdTag: r.parent_id_tag };
}
