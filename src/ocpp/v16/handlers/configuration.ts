import rpc from 'ocpp-rpc';
import { keyDef } from '../../../config/ocpp16-keys.js';
import type { HandlerContext } from './context.js';
import type { ChangeConfigurationConf, ChangeConfigurationReq, GetConfigurationConf, GetConfigurationReq } from '../messages.js';

const { createRPCError } = rpc;

/**
 * GetConfiguration: every key (never write-only ones), or the asked ones with the rest as
 * unknownKey. More keys than GetConfigurationMaxKeys in one request are refused as a whole (an
 * occurrence constraint of this charge point), never answered with some keys silently left out.
 */
export function getConfiguration(ctx: Pick<HandlerContext, 'keys'>, req: GetConfigurationReq): GetConfigurationConf {
  const max = ctx.keys.int('GetConfigurationMaxKeys');
  if (req.key && req.key.length > max) throw createRPCError('OccurenceConstraintViolation', `at most ${max} keys per GetConfiguration (GetConfigurationMaxKeys); ${req.key.length} asked`);
  return ctx.keys.list(req.key);
}

/** ChangeConfiguration: persisted before the answer, applied (listeners: timers, the link) after it. */
export function changeConfiguration(ctx: Pick<HandlerContext, 'keys' | 'log' | 'afterReply' | 'securityExtension'>, req: ChangeConfigurationReq): ChangeConfigurationConf {
  // SecurityProfile: raised only, and stored once the new profile connected (security/extension.ts)
  const r = req.key === 'SecurityProfile' ? ctx.securityExtension.changeSecurityProfile(req.value) : ctx.keys.change(req.key, req.value);
  if (r.apply) ctx.afterReply(r.apply);
  // The value only of a key evsed knows and may show: never of a write-only one (AuthorizationKey),
  // nor of an unknown name, which may be a secret meant for a key spelt differently.
  const def = keyDef(req.key);
  const shown = def && !def.writeOnly ? { value: req.value } : {};
  ctx.log.info({ key: req.key, status: r.status, ...shown }, 'OCPP: ChangeConfiguration');
  return { status: r.status };
}
