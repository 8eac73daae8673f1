/**
 * OCPP 1.6J message types, written by hand to match the JSON schemas ocpp-rpc validates against in
 * strict mode (node_modules/ocpp-rpc/lib/schemas/ocpp1_6.json; `urn:<Action>.req` / `.conf`).
 * test/ocpp/handlers/*.test.ts validate every handler answer against those schemas, so a type
 * that drifts from its schema fails there. maxLength constraints are noted, not typed.
 */
import type { AuthStatus, ConnectorStatus } from '../../domain/types.js';
import type { Ocpp16ErrorCode } from '../../domain/faults.js';
import type { ChargingProfile, ChargingProfilePurpose, ChargingRateUnit, ChargingSchedule } from './smart-charging/types.js';
import type { SecurityCsmsActions } from './security/messages.js';
import type { CancelReservationConf, CancelReservationReq, ReserveNowConf, ReserveNowReq } from './reservations/messages.js';
import type { SignedUpdateFirmwareConf, SignedUpdateFirmwareReq, UpdateFirmwareConf, UpdateFirmwareReq } from './firmware/messages.js';
import type { GetDiagnosticsConf, GetDiagnosticsReq, GetLogConf, GetLogReq } from './diagnostics/messages.js';

/** CiString20Type: idTag, parentIdTag. */
export type IdToken = string;

export interface IdTagInfo {
  status: AuthStatus;
  /** date-time */
  expiryDate?: string;
  parentIdTag?: IdToken;
}

// ------------------------------------------------------------------ CSMS → charge point

export interface GetConfigurationReq {
  /** each ≤ 50 */
  key?: string[];
}
export interface GetConfigurationConf {
  configurationKey?: { key: string; readonly: boolean; value?: string }[];
  unknownKey?: string[];
}

export interface ChangeConfigurationReq {
  key: string;
  value: string;
}
export interface ChangeConfigurationConf {
  status: 'Accepted' | 'Rejected' | 'RebootRequired' | 'NotSupported';
}

export type ClearCacheReq = Record<string, never>;
export interface ClearCacheConf {
  status: 'Accepted' | 'Rejected';
}

export interface DataTransferReq {
  vendorId: string;
  messageId?: string;
  data?: string;
}
export interface DataTransferConf {
  status: 'Accepted' | 'Rejected' | 'UnknownMessageId' | 'UnknownVendorId';
  data?: string;
}

export type GetLocalListVersionReq = Record<string, never>;
export interface GetLocalListVersionConf {
  listVersion: number;
}

export interface AuthorizationData {
  idTag: IdToken;
  idTagInfo?: IdTagInfo;
}
export interface SendLocalListReq {
  listVersion: number;
  updateType: 'Differential' | 'Full';
  localAuthorizationList?: AuthorizationData[];
}
export interface SendLocalListConf {
  status: 'Accepted' | 'Failed' | 'NotSupported' | 'VersionMismatch';
}

export interface ChangeAvailabilityReq {
  connectorId: number;
  type: 'Inoperative' | 'Operative';
}
export interface ChangeAvailabilityConf {
  status: 'Accepted' | 'Rejected' | 'Scheduled';
}

export interface UnlockConnectorReq {
  connectorId: number;
}
export interface UnlockConnectorConf {
  status: 'Unlocked' | 'UnlockFailed' | 'NotSupported';
}

export interface ResetReq {
  type: 'Hard' | 'Soft';
}
export interface ResetConf {
  status: 'Accepted' | 'Rejected';
}

export interface RemoteStartTransactionReq {
  connectorId?: number;
  idTag: IdToken;
  /** Only a TxProfile: it applies to the transaction this request starts (S16 §5.11). */
  chargingProfile?: ChargingProfile;
}
export interface RemoteStartTransactionConf {
  status: 'Accepted' | 'Rejected';
}

export interface RemoteStopTransactionReq {
  transactionId: number;
}
export interface RemoteStopTransactionConf {
  status: 'Accepted' | 'Rejected';
}

export type TriggerableMessage = 'BootNotification' | 'DiagnosticsStatusNotification' | 'FirmwareStatusNotification' | 'Heartbeat' | 'MeterValues' | 'StatusNotification';
export interface TriggerMessageReq {
  requestedMessage: TriggerableMessage;
  connectorId?: number;
}
export interface TriggerMessageConf {
  status: 'Accepted' | 'Rejected' | 'NotImplemented';
}

export interface SetChargingProfileReq {
  connectorId: number;
  csChargingProfiles: ChargingProfile;
}
export interface SetChargingProfileConf {
  status: 'Accepted' | 'Rejected' | 'NotSupported';
}

export interface ClearChargingProfileReq {
  id?: number;
  connectorId?: number;
  chargingProfilePurpose?: ChargingProfilePurpose;
  stackLevel?: number;
}
export interface ClearChargingProfileConf {
  status: 'Accepted' | 'Unknown';
}

export interface GetCompositeScheduleReq {
  connectorId: number;
  /** seconds */
  duration: number;
  chargingRateUnit?: ChargingRateUnit;
}
export interface GetCompositeScheduleConf {
  status: 'Accepted' | 'Rejected';
  connectorId?: number;
  scheduleStart?: string;
  /** startSchedule left out: scheduleStart says it (E16 §3.57). */
  chargingSchedule?: ChargingSchedule;
}

/** Every CSMS-initiated action evsed answers with a handler, request and response. */
export interface CsmsActions extends SecurityCsmsActions {
  GetConfiguration: [GetConfigurationReq, GetConfigurationConf];
  ChangeConfiguration: [ChangeConfigurationReq, ChangeConfigurationConf];
  ClearCache: [ClearCacheReq, ClearCacheConf];
  DataTransfer: [DataTransferReq, DataTransferConf];
  GetLocalListVersion: [GetLocalListVersionReq, GetLocalListVersionConf];
  SendLocalList: [SendLocalListReq, SendLocalListConf];
  ChangeAvailability: [ChangeAvailabilityReq, ChangeAvailabilityConf];
  UnlockConnector: [UnlockConnectorReq, UnlockConnectorConf];
  Reset: [ResetReq, ResetConf];
  RemoteStartTransaction: [RemoteStartTransactionReq, RemoteStartTransactionConf];
  RemoteStopTransaction: [RemoteStopTransactionReq, RemoteStopTransactionConf];
  TriggerMessage: [TriggerMessageReq, TriggerMessageConf];
  SetChargingProfile: [SetChargingProfileReq, SetChargingProfileConf];
  ClearChargingProfile: [ClearChargingProfileReq, ClearChargingProfileConf];
  GetCompositeSchedule: [GetCompositeScheduleReq, GetCompositeScheduleConf];
  ReserveNow: [ReserveNowReq, ReserveNowConf];
  CancelReservation: [CancelReservationReq, CancelReservationConf];
  UpdateFirmware: [UpdateFirmwareReq, UpdateFirmwareConf];
  SignedUpdateFirmware: [SignedUpdateFirmwareReq, SignedUpdateFirmwareConf];
  GetDiagnostics: [GetDiagnosticsReq, GetDiagnosticsConf];
  GetLog: [GetLogReq, GetLogConf];
}
export type CsmsAction = keyof CsmsActions;

/** Actions of profiles evsed does not implement: answered with a NotSupported CALLERROR, not NotImplemented. */
export const UNSUPPORTED_ACTIONS = [] as const;

// ------------------------------------------------------------------ charge point → CSMS

export interface BootNotificationReq {
  /** ≤ 20 */
  chargePointVendor: string;
  /** ≤ 20 */
  chargePointModel: string;
  /** ≤ 25 */
  chargePointSerialNumber?: string;
  /** ≤ 50 */
  firmwareVersion?: string;
}
export interface BootNotificationConf {
  status: 'Accepted' | 'Pending' | 'Rejected';
  currentTime: string;
  interval: number;
}

export type HeartbeatReq = Record<string, never>;
export interface HeartbeatConf {
  currentTime: string;
}

export interface StatusNotificationReq {
  connectorId: number;
  errorCode: Ocpp16ErrorCode | 'NoError' | 'LocalListConflict';
  /** ≤ 50 */
  info?: string;
  status: ConnectorStatus;
  timestamp?: string;
}

export interface AuthorizeReq {
  idTag: IdToken;
}
export interface AuthorizeConf {
  idTagInfo: IdTagInfo;
}

export interface StartTransactionConf {
  idTagInfo: IdTagInfo;
  transactionId: number;
}

export interface StopTransactionConf {
  idTagInfo?: IdTagInfo;
}
