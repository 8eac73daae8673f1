import type { Db } from '../store/db.js';
import { KEY_DEFS, splitCsl, type KeyContext, type KeyDef } from './keys.js';

export type ChangeStatus = 'Accepted' | 'Rejected' | 'RebootRequired' | 'NotSupported';

export interface KeyValue {
  key: string;
  readonly: boolean;
  value?: string;
}

/**
 * The configuration keys: defaults, overridden by the installer's `ocpp.keys`, overridden by what
 * the CSMS set (persisted in ocpp_keys before ChangeConfiguration is answered Accepted).
 */
export class KeyStore {
  private readonly values = new Map<string, string>();
  private readonly listeners = new Map<string, ((value: string) => void)[]>();
  private readonly save;

  constructor(db: Db, private readonly ctx: KeyContext, initial: Record<string, string>) {
    for (const def of KEY_DEFS.values()) this.values.set(def.key, def.initial(ctx));
    for (const [k, v] of Object.entries(initial)) if (KEY_DEFS.get(k) && !KEY_DEFS.get(k)!.readonly) this.values.set(k, v);
    for (const r of db.prepare('SELECT key, value FROM ocpp_keys').all() as { key: string; value: string }[]) {
      const def = KEY_DEFS.get(r.key);
      if (def && !def.readonly && !def.check(r.value)) this.values.set(r.key, r.value);
    }
    this.save = db.prepare('INSERT OR REPLACE INTO ocpp_keys (key, value) VALUES (?, ?)');
  }

  get(key: string): string {
    return this.values.get(key) ?? '';
  }
  int(key: string): number {
    return Number(this.get(key)) || 0;
  }
  bool(key: string): boolean {
    return this.get(key).toLowerCase() === 'true';
  }
  csl(key: string): string[] {
    return splitCsl(this.get(key));
  }

  /** Called (after the new value is persisted) whenever `key` changes. */
  onChange(key: string, fn: (value: string) => void): void {
    this.listeners.set(key, [...(this.listeners.get(key) ?? []), fn]);
  }

  /** GetConfiguration: all keys (never write-only ones), or the asked ones with the rest as unknownKey. */
  list(keys: string[] | undefined): { configurationKey: KeyValue[]; unknownKey: string[] } {
    const show = (d: KeyDef): KeyValue => ({ key: d.key, readonly: d.readonly, value: this.get(d.key) });
    if (!keys || keys.length === 0) {
      return { configurationKey: [...KEY_DEFS.values()].filter((d) => !d.writeOnly).map(show), unknownKey: [] };
    }
    const configurationKey: KeyValue[] = [];
    const unknownKey: string[] = [];
    for (const k of keys) {
      const def = KEY_DEFS.get(k);
      // A write-only key is reported as unknown so its value never leaves the station.
      if (def && !def.writeOnly) configurationKey.push(show(def));
      else unknownKey.push(k);
    }
    return { configurationKey, unknownKey };
  }

  /** ChangeConfiguration: persisted before it is answered; effective at once (listeners run after). */
  change(key: string, value: string): { status: ChangeStatus; apply?: () => void } {
    const def = KEY_DEFS.get(key);
    if (!def) return { status: 'NotSupported' };
    if (def.readonly || def.check(value)) return { status: 'Rejected' };
    // The Basic-auth password exists only in security profiles 1 and 2: under 0 (no auth) and
    // 3 (client certificate) it would be stored and never used.
    if (key === 'AuthorizationKey' && this.ctx.securityProfile !== 1 && this.ctx.securityProfile !== 2) return { status: 'Rejected' };
    const normalised = def.kind === 'bool' ? value.toLowerCase() : def.kind === 'int' ? String(Number(value)) : def.kind === 'csl' ? splitCsl(value).join(',') : value;
    this.save.run(key, normalised);
    this.values.set(key, normalised);
    return { status: 'Accepted', apply: () => this.listeners.get(key)?.forEach((fn) => fn(normalised)) };
  }
}
