/** OCPP 1.6 GetDiagnostics (Firmware Management) and GetLog (Security Whitepaper ed. 3, N01) messages, as ocpp-rpc's strict schemas have them. */

export interface GetDiagnosticsReq {
  /** uri: a directory (ftp) or the target (http PUT/POST) */
  location: string;
  retries?: number;
  /** seconds */
  retryInterval?: number;
  startTime?: string;
  stopTime?: string;
}
export interface GetDiagnosticsConf {
  /** ≤ 255; absent when no diagnostics are available */
  fileName?: string;
}

export type DiagnosticsStatus = 'Idle' | 'Uploaded' | 'UploadFailed' | 'Uploading';
export interface DiagnosticsStatusNotificationReq {
  status: DiagnosticsStatus;
}

export type LogType = 'DiagnosticsLog' | 'SecurityLog';
export interface GetLogReq {
  logType: LogType;
  requestId: number;
  log: {
    /** ≤ 512 */
    remoteLocation: string;
    oldestTimestamp?: string;
    latestTimestamp?: string;
  };
  retries?: number;
  retryInterval?: number;
}
export interface GetLogConf {
  status: 'Accepted' | 'Rejected' | 'AcceptedCanceled';
  /** ≤ 255 */
  filename?: string;
}

export type UploadLogStatus = 'BadMessage' | 'Idle' | 'NotSupportedOperation' | 'PermissionDenied' | 'Uploaded' | 'UploadFailure' | 'Uploading';
export interface LogStatusNotificationReq {
  status: UploadLogStatus;
  requestId?: number;
}
