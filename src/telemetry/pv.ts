import type { PvStatus } from '../energy/pv-service.js';
import { PV_MODES, type PvMode } from '../energy/pv.js';
import { nodeId, type DiscoveryMessage } from './discovery.js';
import { OFFLINE, ONLINE, UNKNOWN, type Topics } from './topics.js';

/**
 * PV surplus charging over MQTT (station-wide, under <prefix>/<station>/pv/): the mode (and its
 * command .../pv/mode/set), the state and reason, the surplus and the PV budget; Home Assistant
 * gets a select for the mode (a sensor without mqtt.commands) and sensors for the rest.
 */
export class PvTopics {
  constructor(private readonly t: Topics) {}
  get mode(): string {
    return `${this.t.base}/pv/mode`;
  }
  get modeSet(): string {
    return `${this.t.base}/pv/mode/set`;
  }
  get state(): string {
    return `${this.t.base}/pv/state`;
  }
  get reason(): string {
    return `${this.t.base}/pv/reason`;
  }
  get surplus(): string {
    return `${this.t.base}/pv/surplus`;
  }
  get budget(): string {
    return `${this.t.base}/pv/budget`;
  }
}

export const PV_STATES = ['off', 'no-ev', 'no-reading', 'idle', 'starting', 'charging', 'stopping', 'minimum'] as const;

/** Topic → payload for the PV status. */
export function pvState(topics: PvTopics, s: PvStatus): [string, string][] {
  return [
    [topics.mode, s.mode],
    [topics.state, s.state],
    [topics.reason, s.reason.slice(0, 255)],
    [topics.surplus, s.surplusW === null ? UNKNOWN : String(s.surplusW)],
    [topics.budget, s.budgetA === null ? UNKNOWN : s.budgetA.toFixed(1)],
  ];
}

const MAX_PAYLOAD = 16;

/** The mode in a .../pv/mode/set message; retained commands are refused like every other command. */
export function parsePvMode(payload: Buffer | string, retained: boolean): { ok: true; mode: PvMode } | { ok: false; reason: string } {
  if (retained) return { ok: false, reason: 'retained command ignored (publish commands without the retain flag)' };
  if (payload.length > MAX_PAYLOAD) return { ok: false, reason: `payload longer than ${MAX_PAYLOAD} bytes` };
  const text = (typeof payload === 'string' ? payload : payload.toString('utf8')).trim().toLowerCase();
  if (!(PV_MODES as readonly string[]).includes(text)) return { ok: false, reason: `PV mode must be one of ${PV_MODES.join(' | ')} (got ${JSON.stringify(text.slice(0, 16))})` };
  return { ok: true, mode: text as PvMode };
}

/**
 * Home Assistant discovery for the PV entities (the mode is a select with commands, a sensor
 * without); without a pv section (`enabled` false) empty payloads remove any announced before.
 */
export function pvDiscovery(o: { enabled: boolean; topics: Topics; discoveryPrefix: string; stationId: string; commands: boolean; device: Record<string, unknown>; origin: Record<string, unknown> }): DiscoveryMessage[] {
  const node = nodeId(o.stationId);
  if (!o.enabled) {
    const ids: [string, string][] = [['select', 'pv_mode'], ['sensor', 'pv_mode'], ['sensor', 'pv_state'], ['sensor', 'pv_reason'], ['sensor', 'pv_surplus'], ['sensor', 'pv_budget']];
    return ids.map(([component, id]) => ({ topic: `${o.discoveryPrefix}/${component}/${node}/${id}/config`, payload: '' }));
  }
  const pv = new PvTopics(o.topics);
  const availability = [{ topic: o.topics.availability, payload_available: ONLINE, payload_not_available: OFFLINE }];
  const entity = (component: string, objectId: string, config: Record<string, unknown>): DiscoveryMessage => ({
    topic: `${o.discoveryPrefix}/${component}/${node}/${objectId}/config`,
    payload: JSON.stringify({ ...config, unique_id: `${node}_${objectId}`, availability, device: o.device, origin: o.origin }),
  });
  const unknownAsNone = `{{ 'None' if value == '${UNKNOWN}' else value }}`;
  const msgs = [
    o.commands
      ? entity('select', 'pv_mode', { name: 'PV mode', state_topic: pv.mode, command_topic: pv.modeSet, options: [...PV_MODES], icon: 'mdi:solar-power' })
      : entity('sensor', 'pv_mode', { name: 'PV mode', state_topic: pv.mode, device_class: 'enum', options: [...PV_MODES], icon: 'mdi:solar-power' }),
    entity('sensor', 'pv_state', { name: 'PV state', state_topic: pv.state, device_class: 'enum', options: [...PV_STATES], icon: 'mdi:solar-power-variant' }),
    entity('sensor', 'pv_reason', { name: 'PV reason', state_topic: pv.reason, entity_category: 'diagnostic', icon: 'mdi:information-outline' }),
    entity('sensor', 'pv_surplus', { name: 'PV surplus', state_topic: pv.surplus, device_class: 'power', state_class: 'measurement', unit_of_measurement: 'W', value_template: unknownAsNone }),
    entity('sensor', 'pv_budget', { name: 'PV current budget', state_topic: pv.budget, device_class: 'current', state_class: 'measurement', unit_of_measurement: 'A', value_template: unknownAsNone }),
  ];
  // The other form of the mode entity goes: a switch of mqtt.commands must not leave both.
  msgs.push({ topic: `${o.discoveryPrefix}/${o.commands ? 'sensor' : 'select'}/${node}/pv_mode/config`, payload: '' });
  return msgs;
}
