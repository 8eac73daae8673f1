import type { OwnerControls } from '../energy/owner.js';
import { TARGET_MODES, type TargetMode } from '../energy/session-limits.js';
import { MAX_ENERGY_TARGET_WH } from '../domain/charging.js';
import { OFF, ON, UNKNOWN, type ConnectorTopic, type OwnerSetLeaf, type Topics } from './topics.js';
import { chargingTimersSchema, type ChargingTimer } from '../config/timers.js';

/**
 * Owner limits, timers and "charge now" over MQTT: the commands (.../<leaf>/set), the state topics
 * and the Home Assistant entities. Kept apart from the core topics so each part stays small.
 */

export type OwnerCommand =
  | { kind: 'owner_limit'; connectorId: number; limit: 'energyWh' | 'durationS' | 'socPercent'; value: number | null }
  | { kind: 'target_mode'; connectorId: number; mode: TargetMode }
  | { kind: 'charge_now'; connectorId: number; on: boolean };

export type ParsedOwner = { ok: true; command: OwnerCommand } | { ok: false; reason: string };

/** Seven days, in minutes: the longest time limit (the API's 604,800 s). */
export const MAX_TIME_LIMIT_MIN = 7 * 24 * 60;

export function parseOwnerCommand(connectorId: number, leaf: OwnerSetLeaf, text: string): ParsedOwner {
  const whole = (max: number, what: string, example: string): number | string => {
    // HA's number entity sends "30" or "30.0".
    if (!/^\d{1,7}(\.0{1,3})?$/.test(text)) return `${what} must be a whole number, e.g. ${example}, or 0 to remove it (got ${JSON.stringify(text.slice(0, 20))})`;
    const v = Number(text);
    return v > max ? `${what} must be at most ${max} (got ${text})` : v;
  };
  const limit = (name: 'energyWh' | 'durationS' | 'socPercent', v: number | string, scale = 1): ParsedOwner =>
    typeof v === 'string' ? { ok: false, reason: v } : { ok: true, command: { kind: 'owner_limit', connectorId, limit: name, value: v === 0 ? null : v * scale } };
  switch (leaf) {
    case 'session/limit_energy':
      return limit('energyWh', whole(MAX_ENERGY_TARGET_WH, 'energy limit (Wh)', '20000'));
    case 'session/limit_time':
      return limit('durationS', whole(MAX_TIME_LIMIT_MIN, 'time limit (minutes)', '120'), 60);
    case 'session/limit_soc':
      return limit('socPercent', whole(100, 'SoC limit (%)', '80'));
    case 'session/target_mode': {
      const mode = text.toLowerCase();
      if (!(TARGET_MODES as readonly string[]).includes(mode)) return { ok: false, reason: `target mode must be ${TARGET_MODES.join(' or ')} (got ${JSON.stringify(text.slice(0, 20))})` };
      return { ok: true, command: { kind: 'target_mode', connectorId, mode: mode as TargetMode } };
    }
    case 'charge_now': {
      const v = text.toUpperCase();
      if (v !== ON && v !== OFF) return { ok: false, reason: `charge now must be ${ON} or ${OFF} (got ${JSON.stringify(text.slice(0, 20))})` };
      return { ok: true, command: { kind: 'charge_now', connectorId, on: v === ON } };
    }
  }
}

/** The longest timers payload: 32 windows of JSON. */
export const MAX_TIMERS_PAYLOAD = 4096;

/** Station-wide charging timers over MQTT: <base>/timers/set, state on <base>/timers. */
export function timersTopics(t: Topics): { state: string; set: string } {
  return { state: `${t.base}/timers`, set: `${t.base}/timers/set` };
}

/**
 * `<base>/timers/set`: a JSON list of windows as in the config (`[{"days": ["weekdays"], "start":
 * "22:00", "end": "06:00"}]`), `[]` for none at all, or `null` / an empty payload for the config's
 * again. Every window's connectors must exist.
 */
export function parseTimersCommand(payload: Buffer, retained: boolean, connectorIds: readonly number[]): { ok: true; timers: ChargingTimer[] | null } | { ok: false; reason: string } {
  if (retained) return { ok: false, reason: 'retained command ignored (publish commands without the retain flag)' };
  if (payload.length > MAX_TIMERS_PAYLOAD) return { ok: false, reason: `payload longer than ${MAX_TIMERS_PAYLOAD} bytes` };
  const text = payload.toString('utf8').trim();
  if (text === '' || text === 'null') return { ok: true, timers: null };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'timers must be JSON: a list of windows, e.g. [{"days": ["weekdays"], "start": "22:00", "end": "06:00"}], or null for the config\'s' };
  }
  const parsed = chargingTimersSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    return { ok: false, reason: `timers${i.path.map((x) => (typeof x === 'number' ? `[${x}]` : `.${String(x)}`)).join('')}: ${i.message}` };
  }
  for (const [i, w] of parsed.data.entries()) {
    const bad = w.connectors?.find((c) => !connectorIds.includes(c));
    if (bad !== undefined) return { ok: false, reason: `timers[${i}].connectors: no connector ${bad} (connectors: ${connectorIds.join(', ')})` };
  }
  return { ok: true, timers: parsed.data };
}

/** The timers in force, as JSON for <base>/timers: the windows, where they come from, the time zone. */
export function timersState(owner: OwnerControls): string {
  const s = owner.timers.status();
  return JSON.stringify({ source: s.source, timeZone: s.timeZone, timers: s.timers });
}

/** Carry out an owner command; a reason when it could not be done. */
export function executeOwnerCommand(owner: OwnerControls, cmd: OwnerCommand): string | undefined {
  if (cmd.kind === 'owner_limit') owner.limits.setLimits(cmd.connectorId, { [cmd.limit]: cmd.value });
  else if (cmd.kind === 'target_mode') owner.limits.setTargetMode(cmd.connectorId, cmd.mode);
  else if (!owner.chargeNow.set(cmd.connectorId, cmd.on)) return 'charge now needs a running session on the connector';
  return undefined;
}

/** The owner's state topics of one connector. */
export function ownerState(owner: OwnerControls, connectorId: number): Map<ConnectorTopic, string> {
  const l = owner.limits.limits(connectorId);
  const t = owner.timers.state(connectorId);
  // 0 = none, as on the command topics (and Home Assistant's number entities).
  return new Map<ConnectorTopic, string>([
    ['session/target_mode', owner.limits.targetMode(connectorId)],
    ['session/limit_energy', String(l.energyWh ?? 0)],
    ['session/limit_time', String(l.durationS === null ? 0 : Math.round(l.durationS / 60))],
    ['session/limit_soc', String(l.socPercent ?? 0)],
    ['charge_now', owner.chargeNow.active(connectorId) ? ON : OFF],
    ['timer', !t.applies ? 'none' : t.open ? 'open' : 'closed'],
    ['timer/until', t.untilMs === null ? UNKNOWN : new Date(t.untilMs).toISOString()],
  ]);
}

export interface OwnerEntity {
  component: 'number' | 'select' | 'switch' | 'sensor';
  key: string;
  config: Record<string, unknown>;
}

/** Home Assistant entities of the owner's controls for one connector (names before the connector prefix). */
export function ownerEntities(t: Topics, id: number): OwnerEntity[] {
  const st = (leaf: ConnectorTopic) => t.connector(id, leaf);
  const number = (key: string, leaf: OwnerSetLeaf & ConnectorTopic, name: string, max: number, step: number, unit: string, icon: string, deviceClass?: string): OwnerEntity => ({
    component: 'number',
    key,
    config: { name, state_topic: st(leaf), command_topic: t.ownerSet(id, leaf), min: 0, max, step, mode: 'box', unit_of_measurement: unit, icon, ...(deviceClass ? { device_class: deviceClass } : {}) },
  });
  return [
    number('limit_energy', 'session/limit_energy', 'Stop after energy', MAX_ENERGY_TARGET_WH, 100, 'Wh', 'mdi:battery-arrow-up', 'energy'),
    number('limit_time', 'session/limit_time', 'Stop after time', MAX_TIME_LIMIT_MIN, 15, 'min', 'mdi:timer-outline', 'duration'),
    number('limit_soc', 'session/limit_soc', 'Stop at state of charge', 100, 5, '%', 'mdi:battery-80', 'battery'),
    {
      component: 'select',
      key: 'target_mode',
      config: { name: 'Energy target mode', state_topic: st('session/target_mode'), command_topic: t.ownerSet(id, 'session/target_mode'), options: [...TARGET_MODES], icon: 'mdi:target' },
    },
    {
      component: 'switch',
      key: 'charge_now',
      config: { name: 'Charge now', state_topic: st('charge_now'), command_topic: t.ownerSet(id, 'charge_now'), payload_on: ON, payload_off: OFF, state_on: ON, state_off: OFF, icon: 'mdi:lightning-bolt' },
    },
    { component: 'sensor', key: 'timer', config: { name: 'Charging timer', state_topic: st('timer'), device_class: 'enum', options: ['none', 'open', 'closed'], icon: 'mdi:clock-outline' } },
    {
      component: 'sensor',
      key: 'timer_until',
      config: { name: 'Charging timer next change', state_topic: st('timer/until'), device_class: 'timestamp', value_template: `{{ 'None' if value == '${UNKNOWN}' else value }}` },
    },
  ];
}
