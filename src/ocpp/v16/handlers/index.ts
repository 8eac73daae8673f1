import rpc from 'ocpp-rpc';
import { UNSUPPORTED_ACTIONS, type CsmsAction, type CsmsActions } from '../messages.js';
import type { HandlerContext } from './context.js';
import { changeConfiguration, getConfiguration } from './configuration.js';
import { clearCache, getLocalListVersion, sendLocalList } from './local-auth.js';
import { dataTransfer } from './data-transfer.js';
import { changeAvailability } from './availability.js';
import { unlockConnector } from './unlock-connector.js';
import { reset } from './reset.js';
import { remoteStartTransaction, remoteStopTransaction } from './remote.js';
import { triggerMessage } from './trigger-message.js';
import { clearChargingProfile, getCompositeSchedule, setChargingProfile } from './smart-charging.js';
import { notSupported } from './unsupported.js';
import { certificateSigned, deleteCertificate, extendedTriggerMessage, getInstalledCertificateIds, installCertificate } from '../security/handlers.js';
import { cancelReservation, reserveNow } from '../reservations/handlers.js';
import { signedUpdateFirmware, updateFirmware } from '../firmware/handlers.js';
import { getDiagnostics, getLog } from '../diagnostics/handlers.js';

export type { HandlerContext, Triggers } from './context.js';

const { NOREPLY } = rpc;

export type Handler<A extends CsmsAction> = (ctx: HandlerContext, req: CsmsActions[A][0]) => CsmsActions[A][1] | Promise<CsmsActions[A][1]>;

/** One typed handler per CSMS action (Core, LocalAuthListManagement, RemoteTrigger, SmartCharging, Reservation). */
export const HANDLERS: { [A in CsmsAction]: Handler<A> } = {
  GetConfiguration: getConfiguration,
  ChangeConfiguration: changeConfiguration,
  ClearCache: clearCache,
  DataTransfer: dataTransfer,
  GetLocalListVersion: getLocalListVersion,
  SendLocalList: sendLocalList,
  ChangeAvailability: changeAvailability,
  UnlockConnector: unlockConnector,
  Reset: reset,
  RemoteStartTransaction: remoteStartTransaction,
  RemoteStopTransaction: remoteStopTransaction,
  TriggerMessage: triggerMessage,
  SetChargingProfile: setChargingProfile,
  ClearChargingProfile: clearChargingProfile,
  GetCompositeSchedule: getCompositeSchedule,
  InstallCertificate: installCertificate,
  DeleteCertificate: deleteCertificate,
  GetInstalledCertificateIds: getInstalledCertificateIds,
  CertificateSigned: certificateSigned,
  ExtendedTriggerMessage: extendedTriggerMessage,
  ReserveNow: reserveNow,
  CancelReservation: cancelReservation,
  UpdateFirmware: updateFirmware,
  SignedUpdateFirmware: signedUpdateFirmware,
  GetDiagnostics: getDiagnostics,
  GetLog: getLog,
};

/** The part of the ocpp-rpc client handlers are registered on. */
export interface HandlerRegistry {
  handle(action: string, fn: (call: { params?: any }) => Promise<any>): void;
}

/**
 * Registers every handler. ocpp-rpc validated the request against its schema (strict mode)
 * before it reaches here. While the boot is Rejected the CSMS must not send anything and the
 * charge point SHALL NOT answer (S16 §4.2.1): no reply at all.
 */
export function registerHandlers(client: HandlerRegistry, ctx: HandlerContext): void {
  for (const action of Object.keys(HANDLERS) as CsmsAction[]) {
    const handler = HANDLERS[action] as (ctx: HandlerContext, req: unknown) => unknown;
    client.handle(action, async ({ params }) => {
      if (ctx.bootStatus() === 'Rejected') return NOREPLY;
      return handler(ctx, params ?? {});
    });
  }
  for (const action of UNSUPPORTED_ACTIONS) {
    client.handle(action, async () => {
      if (ctx.bootStatus() === 'Rejected') return NOREPLY;
      return notSupported(action);
    });
  }
}
