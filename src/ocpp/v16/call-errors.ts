// OCPP-J 1.6 CALLERROR codes on the wire (the Link rewrites every outgoing frame with this).

/**
 * Rewrites an outgoing CALLERROR whose code OCPP-J 1.6 (§4.2.3) does not define. Every CALLERROR
 * ocpp-rpc sends, from validation, framing or a handler, goes through sendRaw, so this is the one
 * place the 1.6 codes are enforced:
 * - a frame that is not valid OCPP-J at all (not JSON, wrong types, unknown message type:
 *   ocpp-rpc's 2.0.1 codes RpcFrameworkError / MessageTypeNotSupported) is a FormationViolation, a
 *   message id that is already being processed a ProtocolError;
 * - ocpp-rpc "corrects" OccurenceConstraintViolation to OccurrenceConstraintViolation on 1.6, but
 *   the OCPP-J 1.6 errata (§5.2) freeze the 1.6 spelling OccurenceConstraintViolation: sent as such.
 * Anything else passes unchanged.
 */
export function toOcpp16CallError(message: string): string {
  if (!message.startsWith('[4,')) return message;
  let frame: unknown[];
  try {
    frame = JSON.parse(message) as unknown[];
  } catch {
    return message;
  }
  const [, id, code, text, details] = frame;
  let mapped: string;
  if (code === 'OccurrenceConstraintViolation') mapped = 'OccurenceConstraintViolation';
  else if (code === 'RpcFrameworkError' || code === 'MessageTypeNotSupported') mapped = typeof text === 'string' && text.startsWith('Already processing') ? 'ProtocolError' : 'FormationViolation';
  else return message;
  return JSON.stringify([4, id, mapped, text, details ?? {}]);
}
