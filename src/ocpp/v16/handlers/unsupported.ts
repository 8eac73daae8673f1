import rpc from 'ocpp-rpc';

const { createRPCError } = rpc;

/** An action of a profile evsed does not implement: a NotSupported CALLERROR (not NotImplemented: the action is known). */
export function notSupported(action: string): never {
  throw createRPCError('NotSupported', `${action} is not supported by this charge point`);
}
