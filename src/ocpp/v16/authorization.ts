import type { Db } from '../store/db.js';
import type { AuthResult, AuthStatus, Authorizer } from '../evse/station-api.js';
import type { KeyStore } from './key-store.js';

export interface IdTagInfo {
  status: AuthStatus;
  expiryDate?: string;
  parentIdTag?: string;
}

interface Entry {
  status: AuthStatus;
  expiryMs: number | null;
  parentIdTag: string | null;
}

export type LocalListStatus = 'Accepted' | 'Failed' | 'NotSupported' | 'VersionMismatch';

/** Authorization cache and local authorization list, both persisted (survive reboots). */
export class AuthStore {
  private readonly st;

  constructor(private readonly db: Db, private readonly nowMs: () => number) {
    this.st = {
      cacheGet: db.prepare('SELECT status, expiry_ms, parent_id_tag FROM ocpp_auth_cache WHERE id_tag = ?'),
      cachePut: db.prepare('INSERT OR REPLACE INTO ocpp_auth_cache (id_tag, status, expiry_ms, parent_id_tag, updated_wall_ms) VALUES (?, ?, ?, ?, ?)'),
      cacheCount: db.prepare('SELECT count(*) FROM ocpp_auth_cache').pluck(),
      cacheEvict: db.prepare(`DELETE FROM ocpp_auth_cache WHERE id_tag IN (SELECT id_tag FROM ocpp_auth_cache
        ORDER BY (status = 'Accepted' AND (expiry_ms IS NULL OR expiry_ms > ?)), updated_wall_ms LIMIT ?)`),
      cacheClear: db.prepare('DELETE FROM ocpp_auth_cache'),
      listGet: db.prepare('SELECT status, expiry_ms, parent_id_tag FROM ocpp_local_list WHERE id_tag = ?'),
      listPut: db.prepare('INSERT OR REPLACE INTO ocpp_local_list (id_tag, status, expiry_ms, parent_id_tag) VALUES (?, ?, ?, ?)'),
      listDel: db.prepare('DELETE FROM ocpp_local_list WHERE id_tag = ?'),
      listClear: db.prepare('DELETE FROM ocpp_local_list'),
      listCount: db.prepare('SELECT count(*) FROM ocpp_local_list').pluck(),
      getState: db.prepare('SELECT value FROM ocpp_state WHERE name = ?').pluck(),
      setState: db.prepare('INSERT OR REPLACE INTO ocpp_state (name, value) VALUES (?, ?)'),
    };
  }

  static readonly CACHE_MAX = 1000;

  fromList(idTag: string): Entry | undefined {
    return toEntry(this.st.listGet.get(idTag));
  }
  fromCache(idTag: string): Entry | undefined {
    return toEntry(this.st.cacheGet.get(idTag));
  }

  /** Latest IdTagInfo from Authorize/StartTransaction/StopTransaction.conf. Tags in the local list are never cached. */
  remember(idTag: string, info: IdTagInfo): void {
    if (this.fromList(idTag)) return;
    this.db.transaction(() => {
      this.st.cachePut.run(idTag, info.status, parseExpiry(info.expiryDate), info.parentIdTag ?? null, this.nowMs());
      const over = (this.st.cacheCount.get() as number) - AuthStore.CACHE_MAX;
      // full: evict entries that are not valid first, then the oldest valid ones
      if (over > 0) this.st.cacheEvict.run(this.nowMs(), over);
    })();
  }

  clearCache(): void {
    this.st.cacheClear.run();
  }

  listVersion(): number {
    return Number(this.st.getState.get('localListVersion') ?? 0);
  }

  /** SendLocalList, applied atomically. */
  applyList(version: number, updateType: 'Full' | 'Differential', items: { idTag: string; idTagInfo?: IdTagInfo }[], maxPerMessage: number, maxTotal: number): LocalListStatus {
    if (items.length > maxPerMessage) return 'Failed';
    const seen = new Set(items.map((i) => i.idTag.toUpperCase()));
    if (seen.size !== items.length) return 'Failed';
    if (updateType === 'Differential' && version <= this.listVersion()) return 'VersionMismatch';
    if (updateType === 'Full' && items.some((i) => !i.idTagInfo)) return 'Failed';
    try {
      this.db.transaction(() => {
        if (updateType === 'Full') this.st.listClear.run();
        for (const i of items) {
          if (i.idTagInfo) {
            this.st.listPut.run(i.idTag, i.idTagInfo.status, parseExpiry(i.idTagInfo.expiryDate), i.idTagInfo.parentIdTag ?? null);
          } else this.st.listDel.run(i.idTag);
        }
        if ((this.st.listCount.get() as number) > maxTotal) throw new Error('local list full');
        this.st.setState.run('localListVersion', String(version));
      })();
    } catch {
      return 'Failed';
    }
    return 'Accepted';
  }
}

function parseExpiry(s: string | undefined): number | null {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}

function toEntry(r: unknown): Entry | undefined {
  if (!r) return undefined;
  const x = r as { status: AuthStatus; expiry_ms: number | null; parent_id_tag: string | null };
  return { status: x.status, expiryMs: x.expiry_ms, parentIdTag: x.parent_id_tag };
}

/**
 * The OCPP authorizer (S16 §3.5): local list first, then the cache, then Authorize.req; offline the
 * LocalAuthorizeOffline / AllowOfflineTxForUnknownId rules. `ask` returns undefined when no answer
 * could be had (offline, timeout), which falls back to the offline rules.
 */
export class OcppAuthorizer implements Authorizer {
  constructor(
    private readonly store: AuthStore,
    private readonly keys: KeyStore,
    private readonly online: () => boolean,
    private readonly ask: (idTag: string) => Promise<IdTagInfo | undefined>,
    private readonly nowMs: () => number,
  ) {}

  async authorize(idTag: string): Promise<AuthResult> {
    const listed = this.keys.bool('LocalAuthListEnabled') ? this.store.fromList(idTag) : undefined;
    const cached = !listed && this.keys.bool('AuthorizationCacheEnabled') ? this.store.fromCache(idTag) : undefined;
    const entry = listed ?? cached;
    const source = listed ? 'local-list' : 'cache';
    const status = entry ? this.effective(entry) : undefined;
    if (this.online()) {
      if (status === 'Accepted' && this.keys.bool('LocalPreAuthorize')) return result('Accepted', source, entry);
      const info = await this.ask(idTag);
      if (info) {
        if (this.keys.bool('AuthorizationCacheEnabled')) this.store.remember(idTag, info);
        return { status: info.status, source: 'ocpp', ...(info.parentIdTag ? { parentIdTag: info.parentIdTag } : {}) };
      }
    }
    if (entry && this.keys.bool('LocalAuthorizeOffline')) {
      // a known tag that is not valid is refused even with AllowOfflineTxForUnknownId
      return result(status!, source, entry);
    }
    if (entry && status !== 'Accepted') return result(status!, source, entry);
    if (this.keys.bool('AllowOfflineTxForUnknownId')) return { status: 'Accepted', source: 'offline' };
    return { status: 'Invalid', source: 'offline' };
  }

  private effective(e: Entry): AuthStatus {
    if (e.status === 'Accepted' && e.expiryMs !== null && e.expiryMs <= this.nowMs()) return 'Expired';
    return e.status;
  }
}

function result(status: AuthStatus, source: 'local-list' | 'cache', e: Entry | undefined): AuthResult {
  return { status, source, ...(e?.parentIdTag ? { parentIdTag: e.parentIdTag } : {}) };
}
