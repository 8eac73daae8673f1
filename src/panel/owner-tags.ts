import type { Config } from '../config/schema.js';
import { sameIdTag } from '../domain/tags.js';
import type { AuthResult } from '../domain/types.js';
import type { Authorizer } from '../evse/port.js';
import type { TagEntry } from '../store/billing/tag-names.js';

export interface OwnerTagsAuthorizerOptions {
  /** The config's tags (auth.tags): read-only, and they come first. */
  configTags: Config['auth']['tags'];
  /** A tag's row of the owner's list (TagNameRepository.get). */
  lookup: (idTag: string) => TagEntry | undefined;
  /** The idTag that started a stored session. */
  sessionTag: (sessionId: number) => string | null | undefined;
  wallMs: () => number;
}

/**
 * auth.mode local with the owner's list (issue 16). Precedence: a tag in the config decides by the
 * config alone (the installer's list cannot be overridden from the API or a CSV import); any other
 * tag is looked up in the owner's list: Accepted while enabled and not past its expiry, Blocked
 * when disabled, Expired after its expiry, Invalid when it is not there (a name alone does not let
 * a tag charge). A tag of the list with a parentIdTag may stop a session started by another tag of
 * the same parent.
 */
export class OwnerTagsAuthorizer implements Authorizer {
  constructor(private readonly o: OwnerTagsAuthorizerOptions) {}

  async authorize(idTag: string): Promise<AuthResult> {
    return this.decide(idTag);
  }

  parentIdTagOf(sessionId: number): string | undefined {
    const tag = this.o.sessionTag(sessionId);
    return tag ? this.decide(tag).parentIdTag : undefined;
  }

  private decide(idTag: string): AuthResult {
    const c = this.o.configTags.find((x) => sameIdTag(x.idTag, idTag));
    if (c) return { status: c.enabled ? 'Accepted' : 'Blocked', source: 'local' };
    const t = this.o.lookup(idTag);
    if (!t || !t.inList) return { status: 'Invalid', source: 'local' };
    const parent = t.parentIdTag ? { parentIdTag: t.parentIdTag } : {};
    if (!t.enabled) return { status: 'Blocked', source: 'local', ...parent };
    if (t.expiryWallMs !== null && this.o.wallMs() >= t.expiryWallMs) return { status: 'Expired', source: 'local', ...parent };
    return { status: 'Accepted', source: 'local', ...parent };
  }
}
