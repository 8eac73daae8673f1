import type { Db } from '../db.js';
import type { AuthStatus } from '../../domain/types.js';
import { ID_TAG_COLLATION } from '../../domain/tags.js';

/** What the cache or the local list knows of a tag. */
export interface AuthEntry {
  status: AuthStatus;
  expiryMs: number | null;
  parentIdTag: string | null;
}

/** Entries the authorization cache holds at most; when full the invalid ones go first, then the oldest. */
export const AUTH_CACHE_MAX = 1000;

/**
 * The authorization cache and the local authorization list (tables ocpp_auth_cache,
 * ocpp_local_list), both persisted. idTags compare case-insensitively (COLLATE NOCASE = domain/tags).
 */
export class AuthRepository {
  private readonly st;

  constructor(private readonly db: Db) {
    const eq = `id_tag = ? COLLATE ${ID_TAG_COLLATION}`;
    this.st = {
      cacheGet: db.prepare(`SELECT status, expiry_ms, parent_id_tag FROM ocpp_auth_cache WHERE ${eq}`),
      cachePut: db.prepare('INSERT OR REPLACE INTO ocpp_auth_cache (id_tag, status, expiry_ms, parent_id_tag, updated_wall_ms) VALUES (?, ?, ?, ?, ?)'),
      cacheCount: db.prepare('SELECT count(*) FROM ocpp_auth_cache').pluck(),
      cacheEvict: db.prepare(`DELETE FROM ocpp_auth_cache WHERE id_tag COLLATE ${ID_TAG_COLLATION} IN (SELECT id_tag FROM ocpp_auth_cache
        ORDER BY (status = 'Accepted' AND (expiry_ms IS NULL OR expiry_ms > ?)), updated_wall_ms LIMIT ?)`),
      cacheClear: db.prepare('DELETE FROM ocpp_auth_cache'),
      listGet: db.prepare(`SELECT status, expiry_ms, parent_id_tag FROM ocpp_local_list WHERE ${eq}`),
      listPut: db.prepare('INSERT OR REPLACE INTO ocpp_local_list (id_tag, status, expiry_ms, parent_id_tag) VALUES (?, ?, ?, ?)'),
      listDel: db.prepare(`DELETE FROM ocpp_local_list WHERE ${eq}`),
      listClear: db.prepare('DELETE FROM ocpp_local_list'),
      listCount: db.prepare('SELECT count(*) FROM ocpp_local_list').pluck(),
      getState: db.prepare('SELECT value FROM ocpp_state WHERE name = ?').pluck(),
      setState: db.prepare('INSERT OR REPLACE INTO ocpp_state (name, value) VALUES (?, ?)'),
    };
  }

  fromList(idTag: string): AuthEntry | undefined {
    return toEntry(this.st.listGet.get(idTag));
  }

  fromCache(idTag: string): AuthEntry | undefined {
    return toEntry(this.st.cacheGet.get(idTag));
  }

  /** Caches the latest answer for a tag; tags in the local list are never cached. */
  remember(idTag: string, entry: AuthEntry, nowMs: number): void {
    if (this.fromList(idTag)) return;
    this.db.transaction(() => {
      this.st.cachePut.run(idTag, entry.status, entry.expiryMs, entry.parentIdTag, nowMs);
      const over = (this.st.cacheCount.get() as number) - AUTH_CACHE_MAX;
      // full: evict entries that are not valid first, then the oldest valid ones
      if (over > 0) this.st.cacheEvict.run(nowMs, over);
    })();
  }

  clearCache(): void {
    this.st.cacheClear.run();
  }

  listVersion(): number {
    return Number(this.st.getState.get('localListVersion') ?? 0);
  }

  /**
   * Applies a list update atomically: `full` replaces the list; an item without an entry is
   * removed. false (nothing changed) when the list would then hold more than `maxTotal` tags.
   */
  applyList(version: number, full: boolean, items: { idTag: string; entry?: AuthEntry }[], maxTotal: number): boolean {
    try {
      this.db.transaction(() => {
        if (full) this.st.listClear.run();
        for (const i of items) {
          if (i.entry) this.st.listPut.run(i.idTag, i.entry.status, i.entry.expiryMs, i.entry.parentIdTag);
          else this.st.listDel.run(i.idTag);
        }
        if ((this.st.listCount.get() as number) > maxTotal) throw new Error('local list full');
        this.st.setState.run('localListVersion', String(version));
      })();
    } catch {
      return false;
    }
    return true;
  }
}

function toEntry(r: unknown): AuthEntry | undefined {
  if (!r) return undefined;
  const x = r as { status: AuthStatus; expiry_ms: number | null; parent_id_tag: string | null };
  return { status: x.status, expiryMs: x.expiry_ms, parentIdTag: x.parent_id_tag };
}
