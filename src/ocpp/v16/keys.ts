/**
 * The OCPP 1.6 configuration keys evsed supports (S16 §9 + security whitepaper §7), their access, type
 * and default. Pure data and validation; persistence lives in key-store.ts.
 */

/** Measurands evsed can report from its meter and controller. */
export const SUPPORTED_MEASURANDS = [
  'Energy.Active.Import.Register',
  'Power.Active.Import',
  'Current.Import',
  'Voltage',
  'Frequency',
  'Current.Offered',
] as const;
export type Measurand = (typeof SUPPORTED_MEASURANDS)[number];

export const MEASURANDS_MAX = SUPPORTED_MEASURANDS.length;

export interface KeyContext {
  connectorIds: number[];
  phases: Map<number, 1 | 3>;
  securityProfile: number;
  /** Some connector has a cable lock (a socket); false = fixed cables only. */
  cableLock: boolean;
}

export interface KeyDef {
  key: string;
  readonly: boolean;
  /** never returned by GetConfiguration (AuthorizationKey) */
  writeOnly?: boolean;
  kind: 'bool' | 'int' | 'csl' | 'string';
  /** Default value (as OCPP sends it: a string). */
  initial: (ctx: KeyContext) => string;
  /** Why `value` is not acceptable, or undefined when it is. */
  check: (value: string) => string | undefined;
}

const isBool = (v: string) => (/^(true|false)$/i.test(v) ? undefined : 'must be true or false');
const intIn = (min: number, max: number) => (v: string) =>
  /^-?\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max ? undefined : `must be a whole number between ${min} and ${max}`;
const measurandList = (v: string) => {
  const items = splitCsl(v);
  if (items.length > MEASURANDS_MAX) return `at most ${MEASURANDS_MAX} measurands`;
  const bad = items.filter((m) => !(SUPPORTED_MEASURANDS as readonly string[]).includes(m));
  return bad.length ? `unsupported measurand ${bad.join(', ')} (supported: ${SUPPORTED_MEASURANDS.join(', ')})` : undefined;
};
const phaseRotation = (v: string) =>
  splitCsl(v).every((p) => /^\d+\.(NotApplicable|Unknown|RST|RTS|SRT|STR|TRS|TSR)$/.test(p))
    ? undefined
    : 'must be a list like 0.RST,1.RST (connector.rotation; rotations RST RTS SRT STR TRS TSR Unknown NotApplicable)';
const readonlyValue = () => undefined;

export function splitCsl(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

const defs: KeyDef[] = [
  // Core profile
  { key: 'AllowOfflineTxForUnknownId', readonly: false, kind: 'bool', initial: () => 'false', check: isBool },
  { key: 'AuthorizationCacheEnabled', readonly: false, kind: 'bool', initial: () => 'true', check: isBool },
  { key: 'AuthorizeRemoteTxRequests', readonly: false, kind: 'bool', initial: () => 'false', check: isBool },
  { key: 'ClockAlignedDataInterval', readonly: false, kind: 'int', initial: () => '0', check: intIn(0, 86_400) },
  // the station's own default (state machine connectionTimeoutMs); the key drives it at once
  { key: 'ConnectionTimeOut', readonly: false, kind: 'int', initial: () => '60', check: intIn(1, 3600) },
  {
    key: 'ConnectorPhaseRotation', readonly: false, kind: 'csl', check: phaseRotation,
    initial: (c) => c.connectorIds.map((id) => `${id}.${c.phases.get(id) === 3 ? 'RST' : 'NotApplicable'}`).join(','),
  },
  { key: 'ConnectorPhaseRotationMaxLength', readonly: true, kind: 'int', initial: (c) => String(c.connectorIds.length + 1), check: readonlyValue },
  { key: 'GetConfigurationMaxKeys', readonly: true, kind: 'int', initial: () => '100', check: readonlyValue },
  { key: 'HeartbeatInterval', readonly: false, kind: 'int', initial: () => '300', check: intIn(0, 86_400) },
  { key: 'LocalAuthorizeOffline', readonly: false, kind: 'bool', initial: () => 'true', check: isBool },
  { key: 'LocalPreAuthorize', readonly: false, kind: 'bool', initial: () => 'false', check: isBool },
  { key: 'MeterValuesAlignedData', readonly: false, kind: 'csl', initial: () => 'Energy.Active.Import.Register', check: measurandList },
  { key: 'MeterValuesAlignedDataMaxLength', readonly: true, kind: 'int', initial: () => String(MEASURANDS_MAX), check: readonlyValue },
  { key: 'MeterValuesSampledData', readonly: false, kind: 'csl', initial: () => 'Energy.Active.Import.Register', check: measurandList },
  { key: 'MeterValuesSampledDataMaxLength', readonly: true, kind: 'int', initial: () => String(MEASURANDS_MAX), check: readonlyValue },
  { key: 'MeterValueSampleInterval', readonly: false, kind: 'int', initial: () => '60', check: intIn(0, 86_400) },
  { key: 'NumberOfConnectors', readonly: true, kind: 'int', initial: (c) => String(c.connectorIds.length), check: readonlyValue },
  { key: 'ResetRetries', readonly: false, kind: 'int', initial: () => '1', check: intIn(0, 10) },
  // evsed's state machine always ends the session when the EV unplugs (IEC 61851 state A).
  { key: 'StopTransactionOnEVSideDisconnect', readonly: true, kind: 'bool', initial: () => 'true', check: readonlyValue },
  { key: 'StopTransactionOnInvalidId', readonly: false, kind: 'bool', initial: () => 'true', check: isBool },
  { key: 'StopTxnAlignedData', readonly: false, kind: 'csl', initial: () => '', check: measurandList },
  { key: 'StopTxnAlignedDataMaxLength', readonly: true, kind: 'int', initial: () => String(MEASURANDS_MAX), check: readonlyValue },
  { key: 'StopTxnSampledData', readonly: false, kind: 'csl', initial: () => '', check: measurandList },
  { key: 'StopTxnSampledDataMaxLength', readonly: true, kind: 'int', initial: () => String(MEASURANDS_MAX), check: readonlyValue },
  { key: 'SupportedFeatureProfiles', readonly: true, kind: 'csl', initial: () => 'Core,LocalAuthListManagement,RemoteTrigger', check: readonlyValue },
  { key: 'SupportedFeatureProfilesMaxLength', readonly: true, kind: 'int', initial: () => '6', check: readonlyValue },
  { key: 'TransactionMessageAttempts', readonly: false, kind: 'int', initial: () => '3', check: intIn(1, 100) },
  { key: 'TransactionMessageRetryInterval', readonly: false, kind: 'int', initial: () => '60', check: intIn(1, 86_400) },
  // A lock opens when its session ends, and the session ends on unplug: true where there is a lock;
  // fixed cables only: false (E16 §3.84).
  { key: 'UnlockConnectorOnEVSideDisconnect', readonly: true, kind: 'bool', initial: (c) => String(c.cableLock), check: readonlyValue },
  { key: 'WebSocketPingInterval', readonly: false, kind: 'int', initial: () => '30', check: intIn(0, 3600) },
  // Local Auth List Management profile
  { key: 'LocalAuthListEnabled', readonly: false, kind: 'bool', initial: () => 'true', check: isBool },
  { key: 'LocalAuthListMaxLength', readonly: true, kind: 'int', initial: () => '10000', check: readonlyValue },
  { key: 'SendLocalListMaxLength', readonly: true, kind: 'int', initial: () => '500', check: readonlyValue },
  // Security whitepaper
  {
    key: 'AuthorizationKey', readonly: false, writeOnly: true, kind: 'string', initial: () => '',
    check: (v) => (/^([0-9a-fA-F]{2}){16,20}$/.test(v) ? undefined : 'must be 16-20 bytes written as 32-40 hex digits'),
  },
  { key: 'SecurityProfile', readonly: true, kind: 'int', initial: (c) => String(c.securityProfile), check: readonlyValue },
];

export const KEY_DEFS: ReadonlyMap<string, KeyDef> = new Map(defs.map((d) => [d.key, d]));
