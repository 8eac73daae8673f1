/**
 * The OCPP 1.6 configuration keys evsed supports (S16 §9 + security whitepaper §7), their access, type
 * and default. Pure data and validation, used by the config schema (ocpp.keys) and the charge point; values and
 * persistence live in src/ocpp/v16/key-store.ts.
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

/** Smart Charging bounds (each profile is small; the limits keep the store and the math bounded). */
export const CHARGE_PROFILE_MAX_STACK_LEVEL = 8;
export const CHARGING_SCHEDULE_MAX_PERIODS = 48;
export const MAX_CHARGING_PROFILES_INSTALLED = 32;

/** Root certificates (CentralSystemRootCertificate and ManufacturerRootCertificate together) the store keeps. */
export const CERTIFICATE_STORE_MAX_LENGTH = 20;

export interface KeyContext {
  connectorIds: number[];
  phases: Map<number, 1 | 3>;
  securityProfile: number;
  /** Some connector has a cable lock (a socket); false = fixed cables only. */
  cableLock: boolean;
  /** Some connector can switch between 1 and 3 phases (a phase relay): ConnectorSwitch3to1PhaseSupported. */
  phaseSwitching?: boolean;
}

/**
 * One configuration key's metadata. `initial` is the default (as OCPP sends it, a string) for this
 * station; `check` says why a value is not acceptable (undefined = it is). An int key has min/max.
 */
interface KeyMeta {
  readonly: boolean;
  /** Read-only for the CSMS, but the installer's `ocpp.keys` may set it (what the station offers). */
  installer?: boolean;
  /** never returned by GetConfiguration (AuthorizationKey) */
  writeOnly?: boolean;
  /** A change takes effect only after a reboot (answered RebootRequired); none of evsed's keys needs one. */
  reboot?: boolean;
  kind: 'bool' | 'int' | 'csl' | 'string';
  min?: number;
  max?: number;
  initial: (ctx: KeyContext) => string;
  check: (value: string) => string | undefined;
  /**
   * An int key that drives writes to the store or the clock: the lowest value above 0 the CSMS may
   * set (0, off, stays allowed). See csmsCheck.
   */
  floor?: number;
}

export interface KeyDef extends KeyMeta {
  key: ConfigKey;
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
/** A writable whole-number key: its bounds are in the table and its check follows from them. */
const rwInt = (min: number, max: number, initial: string, floor?: number) => ({ readonly: false, kind: 'int' as const, min, max, initial: () => initial, check: intIn(min, max), ...(floor ? { floor } : {}) });

export function splitCsl(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

const TABLE = {
  // Core profile
  AllowOfflineTxForUnknownId: { readonly: false, kind: 'bool', initial: () => 'false', check: isBool },
  AuthorizationCacheEnabled: { readonly: false, kind: 'bool', initial: () => 'true', check: isBool },
  AuthorizeRemoteTxRequests: { readonly: false, kind: 'bool', initial: () => 'false', check: isBool },
  // every interval queues a MeterValues per connector in the store: at 1 s, 1.8 GB a day on the SD card
  ClockAlignedDataInterval: rwInt(0, 86_400, '0', 60),
  // the station's own default (state machine connectionTimeoutMs); the key drives it at once
  ConnectionTimeOut: rwInt(1, 3600, '60'),
  ConnectorPhaseRotation: { readonly: false, kind: 'csl', check: phaseRotation,
    initial: (c) => c.connectorIds.map((id) => `${id}.${c.phases.get(id) === 3 ? 'RST' : 'NotApplicable'}`).join(','),
  },
  ConnectorPhaseRotationMaxLength: { readonly: true, kind: 'int', initial: (c) => String(c.connectorIds.length + 1), check: readonlyValue },
  GetConfigurationMaxKeys: { readonly: true, kind: 'int', initial: () => '100', check: readonlyValue },
  // each answer carries the CSMS's time
  HeartbeatInterval: rwInt(0, 86_400, '300', 10),
  LocalAuthorizeOffline: { readonly: false, kind: 'bool', initial: () => 'true', check: isBool },
  LocalPreAuthorize: { readonly: false, kind: 'bool', initial: () => 'false', check: isBool },
  MeterValuesAlignedData: { readonly: false, kind: 'csl', initial: () => 'Energy.Active.Import.Register', check: measurandList },
  MeterValuesAlignedDataMaxLength: { readonly: true, kind: 'int', initial: () => String(MEASURANDS_MAX), check: readonlyValue },
  MeterValuesSampledData: { readonly: false, kind: 'csl', initial: () => 'Energy.Active.Import.Register', check: measurandList },
  MeterValuesSampledDataMaxLength: { readonly: true, kind: 'int', initial: () => String(MEASURANDS_MAX), check: readonlyValue },
  // one queued MeterValues per interval and transaction (evcc asks for 10 s)
  MeterValueSampleInterval: rwInt(0, 86_400, '60', 10),
  NumberOfConnectors: { readonly: true, kind: 'int', initial: (c) => String(c.connectorIds.length), check: readonlyValue },
  ResetRetries: rwInt(0, 10, '1'),
  // evsed's state machine always ends the session when the EV unplugs (IEC 61851 state A).
  StopTransactionOnEVSideDisconnect: { readonly: true, kind: 'bool', initial: () => 'true', check: readonlyValue },
  StopTransactionOnInvalidId: { readonly: false, kind: 'bool', initial: () => 'true', check: isBool },
  StopTxnAlignedData: { readonly: false, kind: 'csl', initial: () => '', check: measurandList },
  StopTxnAlignedDataMaxLength: { readonly: true, kind: 'int', initial: () => String(MEASURANDS_MAX), check: readonlyValue },
  StopTxnSampledData: { readonly: false, kind: 'csl', initial: () => '', check: measurandList },
  StopTxnSampledDataMaxLength: { readonly: true, kind: 'int', initial: () => String(MEASURANDS_MAX), check: readonlyValue },
  SupportedFeatureProfiles: { readonly: true, kind: 'csl', initial: () => 'Core,FirmwareManagement,LocalAuthListManagement,RemoteTrigger,SmartCharging,Reservation', check: readonlyValue },
  SupportedFeatureProfilesMaxLength: { readonly: true, kind: 'int', initial: () => '6', check: readonlyValue },
  TransactionMessageAttempts: rwInt(1, 100, '3'),
  TransactionMessageRetryInterval: rwInt(1, 86_400, '60'),
  // A lock opens when its session ends, and the session ends on unplug: true where there is a lock;
  // fixed cables only: false (E16 §3.84).
  UnlockConnectorOnEVSideDisconnect: { readonly: true, kind: 'bool', initial: (c) => String(c.cableLock), check: readonlyValue },
  WebSocketPingInterval: rwInt(0, 3600, '30'),
  // Local Auth List Management profile
  LocalAuthListEnabled: { readonly: false, kind: 'bool', initial: () => 'true', check: isBool },
  LocalAuthListMaxLength: { readonly: true, kind: 'int', initial: () => '10000', check: readonlyValue },
  SendLocalListMaxLength: { readonly: true, kind: 'int', initial: () => '500', check: readonlyValue },
  // Reservation profile: reserving the station (connector 0) keeps one connector free for the tag; off unless the installer sets it.
  ReserveConnectorZeroSupported: { readonly: true, installer: true, kind: 'bool', initial: () => 'false', check: isBool },
  // Security whitepaper
  AuthorizationKey: { readonly: false, writeOnly: true, kind: 'string', initial: () => '',
    check: (v) => (/^([0-9a-fA-F]{2}){16,20}$/.test(v) ? undefined : 'must be 16-20 bytes written as 32-40 hex digits'),
  },
  // Raised only, by ChangeConfiguration, and only once the new profile's prerequisites are there
  // (src/ocpp/v16/security/profile.ts); the config's ocpp.securityProfile is the floor.
  SecurityProfile: { readonly: false, kind: 'int', min: 0, max: 3, initial: (c) => String(c.securityProfile), check: intIn(0, 3) },
  // Whether a new CentralSystemRootCertificate must be signed by the installed one (which stays as the fallback).
  AdditionalRootCertificateCheck: { readonly: true, kind: 'bool', initial: () => 'false', check: readonlyValue },
  CertificateSignedMaxChainSize: { readonly: true, kind: 'int', initial: () => '10000', check: readonlyValue },
  CertificateStoreMaxLength: { readonly: true, kind: 'int', initial: () => String(CERTIFICATE_STORE_MAX_LENGTH), check: readonlyValue },
  // O= of the CSR SignCertificate sends (whitepaper A02)
  CpoName: { readonly: false, kind: 'string', initial: () => '', check: (v) => (v.length >= 1 && v.length <= 64 ? undefined : 'must be 1 to 64 characters') },
  // Smart Charging profile
  ChargeProfileMaxStackLevel: { readonly: true, kind: 'int', initial: () => String(CHARGE_PROFILE_MAX_STACK_LEVEL), check: readonlyValue },
  // Power too: energy managers (evcc with "Power") and operators steer in W; converted with the phases
  // in use and the measured voltage. evcc reads "Current,Power" as current control.
  ChargingScheduleAllowedChargingRateUnit: { readonly: true, kind: 'csl', initial: () => 'Current,Power', check: readonlyValue },
  ChargingScheduleMaxPeriods: { readonly: true, kind: 'int', initial: () => String(CHARGING_SCHEDULE_MAX_PERIODS), check: readonlyValue },
  // Only where a connector has a phase relay: evcc offers 1p/3p switching when it reads true.
  ConnectorSwitch3to1PhaseSupported: { readonly: true, kind: 'bool', initial: (c) => String(c.phaseSwitching ?? false), check: readonlyValue },
  MaxChargingProfilesInstalled: { readonly: true, kind: 'int', initial: () => String(MAX_CHARGING_PROFILES_INSTALLED), check: readonlyValue },
} as const satisfies Record<string, KeyMeta>;

/** Every configuration key evsed supports (OCPP 1.6 Core, LocalAuthListManagement, Reservation, SmartCharging, security whitepaper). */
export type ConfigKey = keyof typeof TABLE;

/** The one table: every key with its metadata, in the order GetConfiguration lists them. */
export const KEY_DEFS: ReadonlyMap<ConfigKey, KeyDef> = new Map(
  (Object.entries(TABLE) as [ConfigKey, KeyMeta][]).map(([key, meta]) => [key, { key, ...meta }]),
);

/**
 * Why the CSMS may not set `value` (undefined: it may): the key's own check, then its floor. Values
 * that drive writes to the SD card or the clock are bounded below: a floor is documented per key
 * (docs/ocpp.md), ChangeConfiguration under it is Rejected (S16 §5.3: Rejected for a value out of
 * range) and a stored value under it is not applied. The installer's `ocpp.keys` may go lower (a
 * test bench): only what arrives from the CSMS is bounded.
 */
export function csmsCheck(def: KeyDef, value: string): string | undefined {
  const problem = def.check(value);
  if (problem || def.floor === undefined) return problem;
  const n = Number(value);
  return n !== 0 && n < def.floor ? `must be 0 (off) or at least ${def.floor} s (the floor for values the CSMS sets)` : undefined;
}

/** Narrows a key name from the CSMS or the config file; undefined for keys evsed does not know. */
export function keyDef(name: string): KeyDef | undefined {
  return KEY_DEFS.get(name as ConfigKey);
}

type KeysOfKind<K extends KeyMeta['kind']> = { [P in ConfigKey]: (typeof TABLE)[P]['kind'] extends K ? P : never }[ConfigKey];
export type IntKey = KeysOfKind<'int'>;
export type BoolKey = KeysOfKind<'bool'>;
export type CslKey = KeysOfKind<'csl'>;
