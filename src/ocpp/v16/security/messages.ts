/**
 * The security extension's CSMS → charge point messages (OCPP 1.6 Security Whitepaper edition 3,
 * schemas in node_modules/ocpp-rpc/lib/schemas/ocpp1_6.json), written to match them.
 */
import type { CertificateUse } from './cert-store.js';
import type { CertificateHashData } from './x509.js';

export interface InstallCertificateReq {
  certificateType: CertificateUse;
  /** PEM, ≤ 5500 */
  certificate: string;
}
export interface InstallCertificateConf {
  status: 'Accepted' | 'Failed' | 'Rejected';
}

export interface DeleteCertificateReq {
  certificateHashData: CertificateHashData;
}
export interface DeleteCertificateConf {
  status: 'Accepted' | 'Failed' | 'NotFound';
}

export interface GetInstalledCertificateIdsReq {
  certificateType: CertificateUse;
}
export interface GetInstalledCertificateIdsConf {
  status: 'Accepted' | 'NotFound';
  /** at least one when present */
  certificateHashData?: CertificateHashData[];
}

export interface CertificateSignedReq {
  /** PEM chain, leaf first, ≤ 10000 */
  certificateChain: string;
}
export interface CertificateSignedConf {
  status: 'Accepted' | 'Rejected';
}

export type ExtendedTriggerableMessage = 'BootNotification' | 'LogStatusNotification' | 'FirmwareStatusNotification' | 'Heartbeat' | 'MeterValues' | 'SignChargePointCertificate' | 'StatusNotification';
export interface ExtendedTriggerMessageReq {
  requestedMessage: ExtendedTriggerableMessage;
  connectorId?: number;
}
export interface ExtendedTriggerMessageConf {
  status: 'Accepted' | 'Rejected' | 'NotImplemented';
}

/** The security extension's CSMS actions with request and response (added to CsmsActions). */
export interface SecurityCsmsActions {
  InstallCertificate: [InstallCertificateReq, InstallCertificateConf];
  DeleteCertificate: [DeleteCertificateReq, DeleteCertificateConf];
  GetInstalledCertificateIds: [GetInstalledCertificateIdsReq, GetInstalledCertificateIdsConf];
  CertificateSigned: [CertificateSignedReq, CertificateSignedConf];
  ExtendedTriggerMessage: [ExtendedTriggerMessageReq, ExtendedTriggerMessageConf];
}
