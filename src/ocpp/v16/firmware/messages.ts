/** Firmware messages of OCPP 1.6 (Firmware Management profile) and of the Security Whitepaper (L01), as in ocpp-rpc's strict schemas. */

export interface UpdateFirmwareReq {
  /** uri */
  location: string;
  retries?: number;
  /** date-time */
  retrieveDate: string;
  /** seconds */
  retryInterval?: number;
}
export type UpdateFirmwareConf = Record<string, never>;

export interface SignedUpdateFirmwareReq {
  retries?: number;
  retryInterval?: number;
  requestId: number;
  firmware: {
    /** ≤ 512 */
    location: string;
    retrieveDateTime: string;
    installDateTime?: string;
    /** PEM, ≤ 5500 */
    signingCertificate: string;
    /** base64, ≤ 800 */
    signature: string;
  };
}
export interface SignedUpdateFirmwareConf {
  status: 'Accepted' | 'Rejected' | 'AcceptedCanceled' | 'InvalidCertificate' | 'RevokedCertificate';
}

export type FirmwareStatus = 'Downloaded' | 'DownloadFailed' | 'Downloading' | 'Idle' | 'InstallationFailed' | 'Installing' | 'Installed';
export interface FirmwareStatusNotificationReq {
  status: FirmwareStatus;
}

export type SignedFirmwareStatus =
  | FirmwareStatus
  | 'DownloadScheduled'
  | 'DownloadPaused'
  | 'InstallRebooting'
  | 'InstallScheduled'
  | 'InstallVerificationFailed'
  | 'InvalidSignature'
  | 'SignatureVerified';
export interface SignedFirmwareStatusNotificationReq {
  status: SignedFirmwareStatus;
  requestId?: number;
}
