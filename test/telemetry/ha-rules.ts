/**
 * Home Assistant's rules for MQTT discovery configs, as data, so a test can hold every config
 * evsed announces against them. From Home Assistant's sensor, number and binary_sensor docs
 * (developers.home-assistant.io/docs/core/entity/sensor, /number; the device class tables) and its
 * sensor/const.py (DEVICE_CLASS_UNITS, DEVICE_CLASS_STATE_CLASSES): a device class takes only its
 * units and state classes; enum and timestamp take neither; monetary takes state class total only.
 */

/** Sensor device classes evsed may use → the units Home Assistant accepts for them (null: no unit). */
export const SENSOR_UNITS: Record<string, readonly string[] | null | 'currency'> = {
  energy: ['Wh', 'kWh', 'MWh', 'GWh', 'TWh', 'mWh', 'MJ', 'GJ', 'cal', 'kcal', 'Mcal', 'Gcal'],
  power: ['mW', 'W', 'kW', 'MW', 'GW', 'TW'],
  current: ['A', 'mA'],
  voltage: ['V', 'mV', 'µV', 'kV', 'MV'],
  frequency: ['Hz', 'kHz', 'MHz', 'GHz'],
  duration: ['d', 'h', 'min', 's', 'ms'],
  battery: ['%'],
  // Any ISO 4217 currency (Home Assistant does not list them); a price per kWh is a currency per unit.
  monetary: 'currency',
  enum: null,
  timestamp: null,
};

/** Sensor device class → the state classes Home Assistant accepts with it ([] = none may be set). */
export const SENSOR_STATE_CLASSES: Record<string, readonly string[]> = {
  energy: ['total', 'total_increasing'],
  power: ['measurement'],
  current: ['measurement'],
  voltage: ['measurement'],
  frequency: ['measurement'],
  duration: ['measurement', 'total', 'total_increasing'],
  battery: ['measurement'],
  monetary: ['total'],
  enum: [],
  timestamp: [],
};

/** Number device classes evsed may use → units. */
export const NUMBER_UNITS: Record<string, readonly string[]> = {
  current: ['A', 'mA'],
  energy: SENSOR_UNITS.energy as readonly string[],
  duration: SENSOR_UNITS.duration as readonly string[],
  battery: ['%'],
};

export const BINARY_SENSOR_CLASSES = ['problem', 'plug', 'battery_charging', 'running', 'power', 'connectivity'];

const COMPONENTS = ['sensor', 'binary_sensor', 'number', 'button', 'select', 'switch'];

/** IEC 61851: no offer below 6 A; a current number must not let Home Assistant pick 1..5 A. */
export const MIN_CURRENT_A = 6;

export interface Announced {
  topic: string;
  config: Record<string, any>;
}

/**
 * Every broken rule, as readable lines (empty: all is well). `stationBase` is `<prefix>/<station>`:
 * command topics must be under it.
 */
export function haProblems(configs: readonly Announced[], stationBase: string): string[] {
  const problems: string[] = [];
  const ids = new Map<string, string>();
  const devices = new Set<string>();
  for (const { topic, config: c } of configs) {
    const say = (msg: string) => problems.push(`${topic}: ${msg}`);
    const m = /^[^/]+\/([a-z_]+)\/([A-Za-z0-9_-]+)\/([A-Za-z0-9_-]+)\/config$/.exec(topic);
    if (!m) {
      say('not <prefix>/<component>/<node_id>/<object_id>/config');
      continue;
    }
    const [, component, node, objectId] = m as unknown as [string, string, string, string];
    if (!COMPONENTS.includes(component)) say(`unknown component ${component}`);
    if (typeof c.name !== 'string' || !c.name.trim()) say('no name');
    // unique_id: present, unique, and stable (derived from the config topic, not from a run).
    if (c.unique_id !== `${node}_${objectId}`) say(`unique_id ${c.unique_id} is not ${node}_${objectId}`);
    else if (ids.has(c.unique_id)) say(`unique_id ${c.unique_id} also in ${ids.get(c.unique_id)}`);
    else ids.set(c.unique_id, topic);
    // The device: identifiers, a name, a page to configure it.
    const d = c.device;
    if (!d || !Array.isArray(d.identifiers) || d.identifiers.length === 0) say('device without identifiers');
    else {
      devices.add(JSON.stringify(d));
      if (typeof d.name !== 'string' || !d.name) say('device without a name');
      if (typeof d.configuration_url !== 'string' || !/^https?:\/\/[^/\s]+\//.test(d.configuration_url)) say(`device configuration_url ${JSON.stringify(d.configuration_url)} is not an http(s) URL`);
    }
    if (!Array.isArray(c.availability) || c.availability.length === 0) say('no availability');
    else {
      for (const a of c.availability) if (typeof a.topic !== 'string' || a.payload_available === undefined || a.payload_not_available === undefined) say(`availability ${JSON.stringify(a)} incomplete`);
      if (c.availability.length > 1 && c.availability_mode !== 'all') say('several availability topics without availability_mode all');
    }
    const writable = ['number', 'button', 'select', 'switch'].includes(component);
    if (writable && (typeof c.command_topic !== 'string' || !c.command_topic.startsWith(`${stationBase}/`))) say(`command_topic ${c.command_topic} not under ${stationBase}/`);
    if (component !== 'button' && typeof c.state_topic !== 'string') say('no state_topic');
    if (c.options !== undefined && !(component === 'select' || (component === 'sensor' && c.device_class === 'enum'))) say('options without device_class enum');

    if (component === 'sensor') {
      const dc = c.device_class as string | undefined;
      const unit = c.unit_of_measurement as string | undefined;
      const sc = c.state_class as string | undefined;
      if (sc !== undefined && !['measurement', 'total', 'total_increasing'].includes(sc)) say(`unknown state_class ${sc}`);
      if (dc === undefined) continue;
      if (!(dc in SENSOR_UNITS)) {
        say(`sensor device_class ${dc} not in the table`);
        continue;
      }
      const units = SENSOR_UNITS[dc];
      if (units === null && unit !== undefined) say(`${dc} takes no unit (got ${unit})`);
      if (units === 'currency' && !(typeof unit === 'string' && /^[A-Z]{3}(\/kWh)?$/.test(unit))) say(`monetary unit ${unit} is not a currency (or currency/kWh)`);
      if (Array.isArray(units) && !units.includes(unit!)) say(`${dc} unit ${unit} not one of ${units.join(' ')}`);
      if (sc !== undefined && !SENSOR_STATE_CLASSES[dc]!.includes(sc)) say(`${dc} with state_class ${sc} (allowed: ${SENSOR_STATE_CLASSES[dc]!.join(' ') || 'none'})`);
      if (dc === 'enum' && !(Array.isArray(c.options) && c.options.length > 0)) say('enum without options');
    } else if (component === 'binary_sensor') {
      if (c.device_class !== undefined && !BINARY_SENSOR_CLASSES.includes(c.device_class)) say(`binary_sensor device_class ${c.device_class}`);
      if (c.payload_on === undefined || c.payload_off === undefined) say('binary_sensor without payload_on/payload_off');
    } else if (component === 'number') {
      if (!(typeof c.min === 'number' && typeof c.max === 'number' && c.min < c.max)) say(`min ${c.min} / max ${c.max}`);
      if (!(typeof c.step === 'number' && c.step > 0)) say(`step ${c.step}`);
      if (c.device_class !== undefined) {
        const units = NUMBER_UNITS[c.device_class];
        if (!units) say(`number device_class ${c.device_class} not in the table`);
        else if (!units.includes(c.unit_of_measurement)) say(`number ${c.device_class} unit ${c.unit_of_measurement}`);
      }
      if (c.device_class === 'current' && c.min < MIN_CURRENT_A) say(`a current number from ${c.min} A lets Home Assistant pick what the charger refuses (min ${MIN_CURRENT_A})`);
    } else if (component === 'switch') {
      if (c.payload_on === undefined || c.payload_off === undefined || c.state_on === undefined || c.state_off === undefined) say('switch without payload_on/off and state_on/off');
    } else if (component === 'button') {
      if (c.payload_press === undefined) say('button without payload_press');
    } else if (component === 'select') {
      if (!(Array.isArray(c.options) && c.options.length > 0)) say('select without options');
    }
  }
  if (devices.size > 1) problems.push(`${devices.size} different devices: one station is one device`);
  return problems;
}
