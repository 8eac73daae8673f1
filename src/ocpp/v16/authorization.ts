import type { AuthResult, AuthStatus, StationClock } from '../../evse/port.js';
import { idTagKey } from '../../domain/tags.js';
import type { AuthEntry, AuthRepository } from '../../store/ocpp/auth.js';
import type { KeyStore } from './key-store.js';
import type { IdTagInfo } from './messages.js';

/** An IdTagInfo as the cache and the local list keep it. */
export function toAuthEntry(info: IdTagInfo): AuthEntry {
  const t = info.expiryDate ? Date.parse(info.expiryDate) : NaN;
  return { status: info.status, expiryMs: Number.isFinite(t) ? t : null, parentIdTag: info.parentIdTag ?? null };
}

/** Parent ids noted for at most this many tags between authorisation and session start. */
const PARENTS_MAX = 1000;

export interface TagAuthorizationDeps {
  auth: AuthRepository;
  keys: KeyStore;
  clock: Pick<StationClock, 'wallMs'>;
  online(): boolean;
  /** Authorize.req; undefined when no answer could be had (offline, timeout). */
  ask(idTag: string): Promise<IdTagInfo | undefined>;
  /** The CSMS answered for a tag differently from the local list (S16 §3.5.2: tell it, LocalListConflict). */
  conflict?(idTag: string, listed: AuthStatus, csms: AuthStatus): void;
}

/**
 * The OCPP authorizer (S16 §3.5): local list first, then the cache, then Authorize.req; offline the
 * LocalAuthorizeOffline / AllowOfflineTxForUnknownId rules. Every result's parentIdTag is noted
 * (keyed by idTagKey) for the session the tag may start.
 */
export class TagAuthorization {
  private readonly parents = new Map<string, string | undefined>();

  constructor(private readonly d: TagAuthorizationDeps) {}

  async authorize(idTag: string): Promise<AuthResult> {
    const r = await this.decide(idTag);
    if (this.parents.size > PARENTS_MAX) this.parents.clear();
    this.parents.set(idTagKey(idTag), r.parentIdTag);
    return r;
  }

  /** The parentIdTag of the tag's latest authorisation, taken by the session it starts. */
  takeParent(idTag: string): string | undefined {
    const p = this.parents.get(idTagKey(idTag));
    this.parents.delete(idTagKey(idTag));
    return p;
  }

  /**
   * The latest IdTagInfo from Authorize/StartTransaction/StopTransaction.conf: cached when the cache
   * is enabled, and checked against the local list (a contradiction is reported, the list is the
   * CSMS's to change).
   */
  remember(idTag: string, info: IdTagInfo): void {
    const listed = this.d.keys.bool('LocalAuthListEnabled') ? this.d.auth.fromList(idTag) : undefined;
    if (listed && this.effective(listed) !== info.status) this.d.conflict?.(idTag, this.effective(listed), info.status);
    if (this.d.keys.bool('AuthorizationCacheEnabled')) this.d.auth.remember(idTag, toAuthEntry(info), this.d.clock.wallMs());
  }

  private async decide(idTag: string): Promise<AuthResult> {
    const { keys, auth } = this.d;
    const listed = keys.bool('LocalAuthListEnabled') ? auth.fromList(idTag) : undefined;
    const cached = !listed && keys.bool('AuthorizationCacheEnabled') ? auth.fromCache(idTag) : undefined;
    const entry = listed ?? cached;
    const source = listed ? 'local-list' : 'cache';
    const status = entry ? this.effective(entry) : undefined;
    if (this.d.online()) {
      if (status === 'Accepted' && keys.bool('LocalPreAuthorize')) return result('Accepted', source, entry);
      const info = await this.d.ask(idTag);
      if (info) {
        this.remember(idTag, info);
        return { status: info.status, source: 'ocpp', ...(info.parentIdTag ? { parentIdTag: info.parentIdTag } : {}) };
      }
    }
    if (entry && keys.bool('LocalAuthorizeOffline')) {
      // a known tag that is not valid is refused even with AllowOfflineTxForUnknownId
      return result(status!, source, entry);
    }
    if (entry && status !== 'Accepted') return result(status!, source, entry);
    if (keys.bool('AllowOfflineTxForUnknownId')) return { status: 'Accepted', source: 'offline' };
    return { status: 'Invalid', source: 'offline' };
  }

  private effective(e: AuthEntry): AuthStatus {
    if (e.status === 'Accepted' && e.expiryMs !== null && e.expiryMs <= this.d.clock.wallMs()) return 'Expired';
    return e.status;
  }
}

function result(status: AuthStatus, source: 'local-list' | 'cache', e: AuthEntry | undefined): AuthResult {
  return { status, source, ...(e?.parentIdTag ? { parentIdTag: e.parentIdTag } : {}) };
}
