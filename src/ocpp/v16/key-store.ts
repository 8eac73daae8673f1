import type { KeyRepository } from '../../store/ocpp/keys.js';
import { logSecrets } from '../../log.js';
import { KEY_DEFS, csmsCheck, keyDef, splitCsl, type BoolKey, type ConfigKey, type CslKey, type IntKey, type KeyContext, type KeyDef } from '../../config/ocpp16-keys.js';

export type ChangeStatus = 'Accepted' | 'Rejected' | 'RebootRequired' | 'NotSupported';

export interface KeyValue {
  key: string;
  readonly: boolean;
  value?: string;
}

/**
 * The configuration keys: defaults, overridden by the installer's `ocpp.keys`, overridden by what
 * the CSMS set (persisted before ChangeConfiguration is answered Accepted). Reads take only keys of
 * the table (ConfigKey, by kind); names from the CSMS go through `list` and `change`, which answer
 * unknown keys as OCPP says (unknownKey, NotSupported).
 */
export class KeyStore {
  private readonly values = new Map<ConfigKey, string>();
  private readonly listeners = new Map<ConfigKey, ((value: string) => void)[]>();
  /** Values the CSMS stored earlier that are not applied (out of bounds now): the charge point logs them. */
  readonly ignoredStored: { key: ConfigKey; value: string; problem: string }[] = [];

  constructor(private readonly repo: KeyRepository, private readonly ctx: KeyContext, initial: Record<string, string>) {
    for (const def of KEY_DEFS.values()) this.values.set(def.key, def.initial(ctx));
    for (const [k, v] of Object.entries(initial)) {
      const def = keyDef(k);
      if (def && (!def.readonly || def.installer)) this.values.set(def.key, v);
    }
    for (const r of repo.all()) {
      const def = keyDef(r.key);
      if (!def || def.readonly) continue;
      // Set by a CSMS (perhaps before the floors existed): bounded like a new ChangeConfiguration.
      const problem = csmsCheck(def, r.value);
      if (problem) this.ignoredStored.push({ key: def.key, value: def.writeOnly ? '***' : r.value, problem });
      else this.values.set(def.key, r.value);
    }
    // The configured profile is the floor: a raise the CSMS made (stored) counts only above it.
    if (this.int('SecurityProfile') < ctx.securityProfile) this.values.set('SecurityProfile', String(ctx.securityProfile));
    for (const def of KEY_DEFS.values()) if (def.writeOnly) hideFromLog(this.get(def.key));
  }

  get(key: ConfigKey): string {
    return this.values.get(key) ?? '';
  }
  int(key: IntKey): number {
    return Number(this.get(key)) || 0;
  }
  bool(key: BoolKey): boolean {
    return this.get(key).toLowerCase() === 'true';
  }
  csl(key: CslKey): string[] {
    return splitCsl(this.get(key));
  }

  /** Called (after the new value is persisted) whenever `key` changes. */
  onChange(key: ConfigKey, fn: (value: string) => void): void {
    this.listeners.set(key, [...(this.listeners.get(key) ?? []), fn]);
  }

  /** GetConfiguration: all keys (never write-only ones), or the asked ones with the rest as unknownKey. */
  list(keys: string[] | undefined): { configurationKey: KeyValue[]; unknownKey: string[] } {
    // A write-only key (AuthorizationKey) is a known key, listed without its value (the value is
    // optional in KeyValue): its value never leaves the station.
    const show = (d: KeyDef): KeyValue => (d.writeOnly ? { key: d.key, readonly: d.readonly } : { key: d.key, readonly: d.readonly, value: this.get(d.key) });
    if (!keys || keys.length === 0) {
      return { configurationKey: [...KEY_DEFS.values()].map(show), unknownKey: [] };
    }
    const configurationKey: KeyValue[] = [];
    const unknownKey: string[] = [];
    for (const k of keys) {
      const def = keyDef(k);
      if (def) configurationKey.push(show(def));
      else unknownKey.push(k);
    }
    return { configurationKey, unknownKey };
  }

  /**
   * Sets and persists a key the charge point itself decided (a SecurityProfile raise that connected,
   * or the fallback to the previous one); no listeners run.
   */
  store(key: ConfigKey, value: string): void {
    this.repo.save(key, value);
    this.values.set(key, value);
  }

  /** ChangeConfiguration: persisted before it is answered; effective at once (listeners run after). */
  change(key: string, value: string): { status: ChangeStatus; apply?: () => void } {
    const def = keyDef(key);
    if (!def) return { status: 'NotSupported' };
    if (def.readonly || csmsCheck(def, value)) return { status: 'Rejected' };
    // The Basic-auth password exists only in security profiles 1 and 2: under 0 (no auth) and
    // 3 (client certificate) it would be stored and never used.
    const profile = this.int('SecurityProfile');
    if (def.key === 'AuthorizationKey' && profile !== 1 && profile !== 2) return { status: 'Rejected' };
    const normalised = def.kind === 'bool' ? value.toLowerCase() : def.kind === 'int' ? String(Number(value)) : def.kind === 'csl' ? splitCsl(value).join(',') : value;
    if (def.writeOnly) hideFromLog(normalised);
    this.repo.save(def.key, normalised);
    this.values.set(def.key, normalised);
    const apply = () => this.listeners.get(def.key)?.forEach((fn) => fn(normalised));
    return { status: def.reboot ? 'RebootRequired' : 'Accepted', apply };
  }
}

/** A write-only key (AuthorizationKey: hex, used as its decoded bytes) is a secret in either form. */
function hideFromLog(hex: string): void {
  if (!hex) return;
  for (const form of [hex, hex.toLowerCase(), hex.toUpperCase(), Buffer.from(hex, 'hex').toString('utf8')]) logSecrets.add(form);
}
