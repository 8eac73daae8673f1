/**
 * Topic names, in one place: the table in docs/mqtt.md follows this file.
 * Everything lives under <prefix>/<stationId>/; per-connector values under .../connector/<id>/.
 */

export const ONLINE = 'online';
export const OFFLINE = 'offline';
export const ON = 'ON';
export const OFF = 'OFF';
/** Payload of a value that cannot be known now (e.g. time to finish without a target). */
export const UNKNOWN = 'unknown';

/** Per-connector state topics (relative to .../connector/<id>/). */
export const CONNECTOR_TOPICS = [
  'state',
  'pilot',
  'plugged',
  'charging',
  'contactor',
  'available',
  'paused',
  'fault',
  'faults',
  'current_limit',
  'current_limit/source',
  'current_limit/setpoint',
  'meter/availability',
  'meter/health',
  'power',
  'energy',
  'voltage/l1', 'voltage/l2', 'voltage/l3',
  'current/l1', 'current/l2', 'current/l3',
  'power/l1', 'power/l2', 'power/l3',
  'frequency',
  'session/active',
  'session/user',
  'session/energy',
  'session/duration',
  'session/charging_time',
  'session/idle_time',
  'session/cost',
  'session/currency',
  'session/eta',
  'session/target_energy',
  'phases',
  // owner limits, timers, charge now (telemetry/owner.ts)
  'session/target_mode',
  'session/limit_energy',
  'session/limit_time',
  'session/limit_soc',
  'charge_now',
  'timer',
  'timer/until',
  // kept for a reservation (OCPP ReserveNow): ON/OFF, and until when (ISO 8601, or unknown when none)
  'reserved',
  'reserved/until',
] as const;
export type ConnectorTopic = (typeof CONNECTOR_TOPICS)[number];

/** Owner settings a connector accepts on .../connector/<id>/<leaf>/set (telemetry/owner.ts parses them). */
export const OWNER_SET_LEAVES = ['session/target_mode', 'session/limit_energy', 'session/limit_time', 'session/limit_soc', 'charge_now'] as const;
export type OwnerSetLeaf = (typeof OWNER_SET_LEAVES)[number];
/** Per-reader state topics (relative to .../reader/<id>/). */
export const READER_TOPICS = ['problem', 'state', 'fault'] as const;
export type ReaderTopic = (typeof READER_TOPICS)[number];

/** Commands a connector accepts on .../connector/<id>/command. */
export const BUTTON_COMMANDS = ['pause', 'resume', 'stop'] as const;
export type ButtonCommand = (typeof BUTTON_COMMANDS)[number];

export class Topics {
  readonly base: string;

  constructor(prefix: string, readonly stationId: string) {
    this.base = `${prefix}/${stationId}`;
  }

  /** online / offline; the broker publishes offline (last will) when the daemon vanishes. */
  get availability(): string {
    return `${this.base}/availability`;
  }

  /** JSON: id, vendor, model, serialNumber, firmwareVersion, connectors. */
  get info(): string {
    return `${this.base}/info`;
  }

  /** synced / unsynced: whether the station's wall clock is trusted. */
  get clock(): string {
    return `${this.base}/clock`;
  }

  connector(id: number, leaf: ConnectorTopic): string {
    return `${this.base}/connector/${id}/${leaf}`;
  }

  /**
   * A card reader's state: `problem` ON/OFF (cannot be opened or went away), `state`
   * (opening | ok | fault | closed) and `fault` (why, empty when none).
   */
  reader(id: string, leaf: ReaderTopic): string {
    return `${this.base}/reader/${id}/${leaf}`;
  }

  /** Current limit in A (0 suspends; 6..max; max removes the MQTT limit). */
  currentLimitSet(id: number): string {
    return `${this.base}/connector/${id}/current_limit/set`;
  }

  /** pause | resume | stop */
  command(id: number): string {
    return `${this.base}/connector/${id}/command`;
  }

  /** Energy target of the running (or next) session in Wh (0 removes it). */
  targetEnergySet(id: number): string {
    return `${this.base}/connector/${id}/session/target_energy/set`;
  }

  /** 1 or 3: switch the phase relay (connectors with hardware.phaseRelay). */
  phasesSet(id: number): string {
    return `${this.base}/connector/${id}/phases/set`;
  }

  /** An owner setting's command topic (OWNER_SET_LEAVES). */
  ownerSet(id: number, leaf: OwnerSetLeaf): string {
    return `${this.base}/connector/${id}/${leaf}/set`;
  }

  /** Learn mode: the payload is the new card's name (or JSON {"name", "connector"}); commands only. */
  get tagsLearn(): string {
    return `${this.base}/tags/learn`;
  }

  /** What a learn did, JSON (not retained): waiting, learned (idTag, name, addedTo), timeout, busy, no-reader, invalid. */
  get tagsLearnResult(): string {
    return `${this.base}/tags/learn/result`;
  }

  /** The subscriptions that receive commands. */
  get commandFilters(): string[] {
    return [
      `${this.base}/connector/+/command`,
      `${this.base}/connector/+/current_limit/set`,
      `${this.base}/connector/+/session/target_energy/set`,
      `${this.base}/connector/+/phases/set`,
      ...OWNER_SET_LEAVES.map((l) => `${this.base}/connector/+/${l}/set`),
    ];
  }

  /** The connector id and kind of a command topic, or null if it is not one. */
  parseCommandTopic(topic: string): { connectorId: number; kind: 'current_limit' | 'command' | 'target_energy' | 'phases' | OwnerSetLeaf } | null {
    const prefix = `${this.base}/connector/`;
    if (!topic.startsWith(prefix)) return null;
    const rest = topic.slice(prefix.length).split('/');
    const id = Number(rest[0]);
    if (!/^\d{1,3}$/.test(rest[0] ?? '') || !Number.isInteger(id)) return null;
    if (rest.length === 2 && rest[1] === 'command') return { connectorId: id, kind: 'command' };
    if (rest.length === 3 && rest[1] === 'current_limit' && rest[2] === 'set') return { connectorId: id, kind: 'current_limit' };
    if (rest.length === 3 && rest[1] === 'phases' && rest[2] === 'set') return { connectorId: id, kind: 'phases' };
    if (rest.length === 4 && rest[1] === 'session' && rest[2] === 'target_energy' && rest[3] === 'set') return { connectorId: id, kind: 'target_energy' };
    const leaf = rest.at(-1) === 'set' ? rest.slice(1, -1).join('/') : '';
    if ((OWNER_SET_LEAVES as readonly string[]).includes(leaf)) return { connectorId: id, kind: leaf as OwnerSetLeaf };
    return null;
  }
}
