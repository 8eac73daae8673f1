import { idTagKey } from '../../../domain/tags.js';
import { toAuthEntry } from '../authorization.js';
import type { HandlerContext } from './context.js';
import type { ClearCacheConf, ClearCacheReq, GetLocalListVersionConf, GetLocalListVersionReq, SendLocalListConf, SendLocalListReq } from '../messages.js';

export function clearCache(ctx: Pick<HandlerContext, 'auth'>, _req: ClearCacheReq): ClearCacheConf {
  ctx.auth.clearCache();
  return { status: 'Accepted' };
}

export function getLocalListVersion(ctx: Pick<HandlerContext, 'auth'>, _req: GetLocalListVersionReq): GetLocalListVersionConf {
  return { listVersion: ctx.auth.listVersion() };
}

/**
 * SendLocalList, applied atomically: Failed for more entries than SendLocalListMaxLength, a tag
 * twice (case-insensitively), a Full update with an entry lacking idTagInfo, or a list that would
 * outgrow LocalAuthListMaxLength; VersionMismatch for a Differential update not newer than ours.
 */
export function sendLocalList(ctx: Pick<HandlerContext, 'auth' | 'keys'>, req: SendLocalListReq): SendLocalListConf {
  const items = req.localAuthorizationList ?? [];
  const full = req.updateType === 'Full';
  if (items.length > ctx.keys.int('SendLocalListMaxLength')) return { status: 'Failed' };
  if (new Set(items.map((i) => idTagKey(i.idTag))).size !== items.length) return { status: 'Failed' };
  if (!full && req.listVersion <= ctx.auth.listVersion()) return { status: 'VersionMismatch' };
  if (full && items.some((i) => !i.idTagInfo)) return { status: 'Failed' };
  const entries = items.map((i) => ({ idTag: i.idTag, ...(i.idTagInfo ? { entry: toAuthEntry(i.idTagInfo) } : {}) }));
  return { status: ctx.auth.applyList(req.listVersion, full, entries, ctx.keys.int('LocalAuthListMaxLength')) ? 'Accepted' : 'Failed' };
}
