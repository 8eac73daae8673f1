import type { ConnectorStatus } from '../evse/port.js';
import { MAX_ENERGY_TARGET_WH } from '../domain/charging.js';
import { OFF, OFFLINE, ON, ONLINE, UNKNOWN, type ConnectorTopic, type Topics } from './topics.js';
import { ownerEntities } from './owner.js';
import { billingEntities } from './billing.js';
import { MIN_OFFER_A } from './commands.js';
import { siteEntities, siteTopic } from './site.js';
import { parseListen } from '../config/zod-helpers.js';

/**
 * Home Assistant MQTT discovery, as data: one device per station, entities per connector.
 * Config topics: <discoveryPrefix>/<component>/<nodeId>/<objectId>/config, retained.
 */

const STATUSES: ConnectorStatus[] = ['Available', 'Preparing', 'Charging', 'SuspendedEV', 'SuspendedEVSE', 'Finishing', 'Reserved', 'Unavailable', 'Faulted'];

export interface DiscoveryInput {
  topics: Topics;
  discoveryPrefix: string;
  station: { id: string; vendor: string; model: string; serialNumber?: string; firmwareVersion: string };
  /** The station page (the device's configuration_url), once the API listens. */
  configurationUrl?: string;
  /** phaseRelay: the connector can switch between 1 and 3 phases (a select entity with the commands). */
  connectors: { id: number; phases: 1 | 3; maxCurrentA: number; phaseRelay?: boolean }[];
  /** Announce the numbers and buttons. */
  commands: boolean;
  /** Energy targets can be set (the daemon's time-to-finish estimate is connected): announce the energy target number with the commands. */
  energyTarget?: boolean;
  /**
   * Owner limits, timers and charge now are connected: announce their entities (with the commands).
   * targetStops: connectors whose energy target ends the session; its entity is then called a limit.
   */
  owner?: { targetStops: ReadonlyMap<number, boolean> };
  /** The tariff currency; without it there is no cost sensor. */
  currency?: string;
  /** evsed's version, for HA's "origin". */
  version: string;
  /** The card readers: each gets a problem binary_sensor. */
  readers?: { id: string }[];
  /** Load management is configured: announce the site's entities (telemetry/site.ts). */
  site?: boolean;
}

export interface DiscoveryMessage {
  topic: string;
  /** JSON config; '' removes an entity announced earlier (retained empty payload). */
  payload: string;
}

type Component = 'sensor' | 'binary_sensor' | 'number' | 'button' | 'select' | 'switch';

interface Entity {
  component: Component;
  objectId: string;
  config: Record<string, unknown>;
  /** Meter-derived: unavailable while the meter is stale. */
  meter?: boolean;
}

export function nodeId(stationId: string): string {
  return `evsed_${stationId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/**
 * Every entity this station announces now, plus empty payloads for entities it may have
 * announced with another configuration (commands off, no tariff, fewer phases), so those vanish.
 */
export function discoveryMessages(input: DiscoveryInput): DiscoveryMessage[] {
  const node = nodeId(input.station.id);
  const device = haDevice(input.station, input.configurationUrl);
  const origin = { name: 'evsed', sw_version: input.version };

  const announced = new Map<string, string>();
  const all = new Set<string>();
  for (const c of input.connectors) {
    for (const commands of [true, false]) {
      const full = connectorEntities(input, c, { ...input, commands, energyTarget: true, owner: input.owner, currency: input.currency ?? 'EUR' }, { ...c, phases: 3, phaseRelay: true });
      for (const e of full) all.add(configTopic(input.discoveryPrefix, e.component, node, e.objectId));
    }
    // Entities earlier versions announced: the pause and resume buttons are the pause switch now.
    for (const retired of ['pause', 'resume']) all.add(configTopic(input.discoveryPrefix, 'button', node, `c${c.id}_${retired}`));
    for (const e of connectorEntities(input, c, input, c)) {
      const topic = configTopic(input.discoveryPrefix, e.component, node, e.objectId);
      const availability = [{ topic: input.topics.availability, payload_available: ONLINE, payload_not_available: OFFLINE }];
      if (e.meter) availability.push({ topic: input.topics.connector(c.id, 'meter/availability'), payload_available: ONLINE, payload_not_available: OFFLINE });
      const config = {
        ...e.config,
        unique_id: `${node}_${e.objectId}`,
        availability,
        availability_mode: 'all',
        device,
        origin,
      };
      announced.set(topic, JSON.stringify(config));
    }
  }
  for (const r of input.readers ?? []) {
    const objectId = `reader_${r.id.replace(/[^A-Za-z0-9_]/g, '_')}_problem`;
    const config = {
      name: `Reader ${r.id}`,
      device_class: 'problem',
      entity_category: 'diagnostic',
      state_topic: input.topics.reader(r.id, 'problem'),
      payload_on: ON,
      payload_off: OFF,
      unique_id: `${node}_${objectId}`,
      availability: [{ topic: input.topics.availability, payload_available: ONLINE, payload_not_available: OFFLINE }],
      device,
      origin,
    };
    announced.set(configTopic(input.discoveryPrefix, 'binary_sensor', node, objectId), JSON.stringify(config));
  }
  const station: { component: Component; objectId: string; config: Record<string, unknown>; when: boolean }[] = [
    {
      component: 'sensor',
      objectId: 'clock',
      when: true,
      config: { name: 'Clock', state_topic: input.topics.clock, device_class: 'enum', options: ['synced', 'unsynced'], entity_category: 'diagnostic', icon: 'mdi:clock-check-outline' },
    },
    ...billingEntities(input.topics, input.currency ?? 'EUR').map((e) => ({ ...e, when: input.currency !== undefined })),
  ];
  for (const e of station) {
    const topic = configTopic(input.discoveryPrefix, e.component, node, e.objectId);
    all.add(topic);
    if (!e.when) continue;
    const availability = [{ topic: input.topics.availability, payload_available: ONLINE, payload_not_available: OFFLINE }];
    announced.set(topic, JSON.stringify({ ...e.config, unique_id: `${node}_${e.objectId}`, availability, device, origin }));
  }
  for (const e of siteEntities(input.topics)) {
    const topic = configTopic(input.discoveryPrefix, e.component, node, e.objectId);
    all.add(topic);
    if (!input.site) continue;
    const availability = [{ topic: input.topics.availability, payload_available: ONLINE, payload_not_available: OFFLINE }];
    if (e.gridMeter) availability.push({ topic: siteTopic(input.topics, 'grid_meter/availability'), payload_available: ONLINE, payload_not_available: OFFLINE });
    announced.set(topic, JSON.stringify({ ...e.config, unique_id: `${node}_${e.objectId}`, availability, availability_mode: 'all', device, origin }));
  }
  const out: DiscoveryMessage[] = [...announced].map(([topic, payload]) => ({ topic, payload }));
  for (const topic of all) if (!announced.has(topic)) out.push({ topic, payload: '' });
  return out;
}

/**
 * The station page as Home Assistant links to it: the first of api.allowedHosts (the name the
 * owner reaches it by), else the listen address, or this machine's host name when it listens on
 * every address. `port`: the port the API really listens on.
 */
export function pageUrl(api: { listen: string; allowedHosts: readonly string[] }, port: number, hostname: string): string {
  const { host } = parseListen(api.listen);
  const name = api.allowedHosts[0] ?? (host === '0.0.0.0' || host === '::' || host === '' ? hostname : host);
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}/`;
}

/** The Home Assistant device of a station (every entity of evsed's belongs to it). */
export function haDevice(station: DiscoveryInput['station'], configurationUrl?: string): Record<string, unknown> {
  const device: Record<string, unknown> = {
    identifiers: [nodeId(station.id)],
    name: `EV charger ${station.id}`,
    manufacturer: station.vendor,
    model: station.model,
    sw_version: station.firmwareVersion,
  };
  if (station.serialNumber) device.serial_number = station.serialNumber;
  if (configurationUrl) device.configuration_url = configurationUrl;
  return device;
}

function configTopic(prefix: string, component: Component, node: string, objectId: string): string {
  return `${prefix}/${component}/${node}/${objectId}/config`;
}

function connectorEntities(
  base: DiscoveryInput,
  c: { id: number; maxCurrentA: number },
  opts: { commands: boolean; energyTarget?: boolean; owner?: DiscoveryInput['owner']; currency?: string },
  shape: { phases: 1 | 3; phaseRelay?: boolean },
): Entity[] {
  const t = base.topics;
  const single = base.connectors.length === 1;
  const name = (n: string) => (single ? n : `Connector ${c.id} ${n.charAt(0).toLowerCase()}${n.slice(1)}`);
  const oid = (k: string) => `c${c.id}_${k}`;
  const st = (leaf: ConnectorTopic) => t.connector(c.id, leaf);
  const sensor = (key: string, leaf: ConnectorTopic, cfg: Record<string, unknown>, meter = false): Entity => ({
    component: 'sensor',
    objectId: oid(key),
    meter,
    config: { ...cfg, name: name(cfg.name as string), state_topic: st(leaf) },
  });
  const binary = (key: string, leaf: ConnectorTopic, cfg: Record<string, unknown>): Entity => ({
    component: 'binary_sensor',
    objectId: oid(key),
    config: { ...cfg, name: name(cfg.name as string), state_topic: st(leaf), payload_on: ON, payload_off: OFF },
  });

  const list: Entity[] = [
    sensor('status', 'state', { name: 'Status', device_class: 'enum', options: STATUSES, icon: 'mdi:ev-station' }),
    sensor('pilot', 'pilot', { name: 'Control pilot', device_class: 'enum', options: ['A', 'B', 'C', 'D', 'E', 'F'], entity_category: 'diagnostic' }),
    sensor('current_offered', 'current_limit', { name: 'Current offered', device_class: 'current', state_class: 'measurement', unit_of_measurement: 'A' }),
    sensor('limit_source', 'current_limit/source', { name: 'Current limit source', entity_category: 'diagnostic', icon: 'mdi:tune-variant' }),
    sensor('meter_health', 'meter/health', { name: 'Meter health', device_class: 'enum', options: ['ok', 'degraded', 'offline'], entity_category: 'diagnostic' }),
    sensor('power', 'power', { name: 'Power', device_class: 'power', state_class: 'measurement', unit_of_measurement: 'W' }, true),
    // The meter's lifetime import register: what HA's energy dashboard wants.
    sensor('energy', 'energy', { name: 'Energy meter total', device_class: 'energy', state_class: 'total_increasing', unit_of_measurement: 'Wh', suggested_display_precision: 0 }, true),
    sensor('frequency', 'frequency', { name: 'Frequency', device_class: 'frequency', state_class: 'measurement', unit_of_measurement: 'Hz', suggested_display_precision: 2, entity_category: 'diagnostic' }, true),
    // Who charges: the tag's name where the owner or the config gives one, else its id; `none` without a session.
    sensor('user', 'session/user', { name: 'User', icon: 'mdi:card-account-details' }),
    // Which faults, in words a technician can look up (the problem binary sensor says only that there is one).
    sensor('faults', 'faults', { name: 'Active faults', icon: 'mdi:alert-circle-outline', value_template: `{{ value_json | join(', ') if value_json else 'none' }}` }),
  ];
  const phases = shape.phases === 3 ? (['l1', 'l2', 'l3'] as const) : (['l1'] as const);
  for (const l of phases) {
    const suffix = shape.phases === 3 ? ` ${l.toUpperCase()}` : '';
    list.push(sensor(`voltage_${l}`, `voltage/${l}`, { name: `Voltage${suffix}`, device_class: 'voltage', state_class: 'measurement', unit_of_measurement: 'V' }, true));
    list.push(sensor(`current_${l}`, `current/${l}`, { name: `Current${suffix}`, device_class: 'current', state_class: 'measurement', unit_of_measurement: 'A' }, true));
    list.push(sensor(`power_${l}`, `power/${l}`, { name: `Power${suffix}`, device_class: 'power', state_class: 'measurement', unit_of_measurement: 'W' }, true));
  }
  list.push(
    // Not total_increasing: it falls to 0 at every new session; HA must not add it to energy statistics.
    sensor('session_energy', 'session/energy', { name: 'Session energy', device_class: 'energy', unit_of_measurement: 'Wh', suggested_display_precision: 0 }, true),
    sensor('session_duration', 'session/duration', { name: 'Session duration', device_class: 'duration', unit_of_measurement: 's' }),
    sensor('session_charging_time', 'session/charging_time', { name: 'Session charging time', device_class: 'duration', unit_of_measurement: 's' }),
    sensor('session_idle_time', 'session/idle_time', { name: 'Session idle time', device_class: 'duration', unit_of_measurement: 's' }),
    sensor('time_to_finish', 'session/eta', {
      name: 'Estimated time to finish',
      device_class: 'duration',
      unit_of_measurement: 's',
      // HA sets a sensor to unknown on the payload "None".
      value_template: `{{ 'None' if value == '${UNKNOWN}' else value }}`,
    }),
    binary('plugged', 'plugged', { name: 'Plugged in', device_class: 'plug' }),
    binary('charging', 'charging', { name: 'Charging', device_class: 'battery_charging' }),
    binary('session_active', 'session/active', { name: 'Session running', device_class: 'running' }),
    binary('fault', 'fault', { name: 'Fault', device_class: 'problem' }),
    binary('available', 'available', { name: 'Available', icon: 'mdi:check-circle-outline', entity_category: 'diagnostic' }),
    binary('contactor', 'contactor', { name: 'Contactor', icon: 'mdi:electric-switch', entity_category: 'diagnostic' }),
    binary('reserved', 'reserved', { name: 'Reserved', icon: 'mdi:calendar-clock' }),
    sensor('reserved_until', 'reserved/until', { name: 'Reserved until', device_class: 'timestamp', value_template: `{{ 'None' if value == '${UNKNOWN}' else value }}` }),
  );
  if (!opts.commands) list.push(binary('paused', 'paused', { name: 'Paused', icon: 'mdi:pause-circle-outline' }));
  if (opts.currency) {
    // total: a sum Home Assistant's statistics (and the Energy dashboard's cost tracking) can use; it starts again with each session.
    list.push(sensor('session_cost', 'session/cost', { name: 'Session cost', device_class: 'monetary', state_class: 'total', unit_of_measurement: opts.currency, suggested_display_precision: 2 }));
  }
  if (opts.commands) {
    list.push({
      component: 'number',
      objectId: oid('current_limit'),
      config: {
        name: name('Current limit'),
        state_topic: st('current_limit/setpoint'),
        command_topic: t.currentLimitSet(c.id),
        // The charger cannot offer 1..5 A (IEC 61851): Home Assistant must not offer them either; pausing is the switch.
        min: MIN_OFFER_A,
        max: c.maxCurrentA,
        step: 1,
        mode: 'box',
        unit_of_measurement: 'A',
        device_class: 'current',
        icon: 'mdi:current-ac',
      },
    });
    if (opts.energyTarget) {
      list.push({
        component: 'number',
        objectId: oid('target_energy'),
        config: {
          // A target that does not end the session is not called a limit.
          name: name(opts.owner?.targetStops.get(c.id) ? 'Energy limit' : 'Energy target'),
          state_topic: st('session/target_energy'),
          command_topic: t.targetEnergySet(c.id),
          min: 0,
          max: MAX_ENERGY_TARGET_WH,
          step: 100,
          mode: 'box',
          unit_of_measurement: 'Wh',
          device_class: 'energy',
          icon: 'mdi:battery-charging-high',
        },
      });
    }
    if (shape.phaseRelay) {
      list.push({
        component: 'select',
        objectId: oid('phases'),
        config: { name: name('Phases in use'), state_topic: st('phases'), command_topic: t.phasesSet(c.id), options: ['1', '3'], icon: 'mdi:sine-wave' },
      });
    }
    if (opts.owner) {
      for (const e of ownerEntities(t, c.id)) list.push({ component: e.component, objectId: oid(e.key), config: { ...e.config, name: name(e.config.name as string) } });
    }
    list.push({
      component: 'switch',
      objectId: oid('pause'),
      config: { name: name('Pause charging'), state_topic: st('paused'), command_topic: t.command(c.id), payload_on: 'pause', payload_off: 'resume', state_on: ON, state_off: OFF, icon: 'mdi:pause' },
    });
    list.push({
      component: 'button',
      objectId: oid('stop'),
      config: { name: name('Stop session'), command_topic: t.command(c.id), payload_press: 'stop', icon: 'mdi:stop' },
    });
  }
  return list;
}
