/**
 * Security events (OCPP 1.6 Security Whitepaper ed. 3, §8 / Appendix 1). Critical ones go to the
 * CSMS as SecurityEventNotification through the durable queue; every one is kept in the local
 * security log.
 */
export const SECURITY_EVENTS = {
  FirmwareUpdated: { critical: true },
  FailedToAuthenticateAtCentralSystem: { critical: false },
  CentralSystemFailedToAuthenticate: { critical: false },
  SettingSystemTime: { critical: true },
  StartupOfTheDevice: { critical: true },
  ResetOrReboot: { critical: true },
  SecurityLogWasCleared: { critical: true },
  ReconfigurationOfSecurityParameters: { critical: false },
  MemoryExhaustion: { critical: true },
  InvalidMessages: { critical: false },
  AttemptedReplayAttacks: { critical: false },
  TamperDetectionActivated: { critical: true },
  InvalidFirmwareSignature: { critical: false },
  InvalidFirmwareSigningCertificate: { critical: false },
  InvalidCentralSystemCertificate: { critical: false },
  InvalidChargePointCertificate: { critical: false },
  InvalidTLSVersion: { critical: false },
  InvalidTLSCipherSuite: { critical: false },
} as const;

export type SecurityEventType = keyof typeof SECURITY_EVENTS;

export interface SecurityEvents {
  /** Records the event (local security log) and, when critical, queues a SecurityEventNotification. techInfo ≤ 255 chars, never a secret. */
  report(type: SecurityEventType, techInfo?: string): void;
}
