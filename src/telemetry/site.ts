import type { SiteStatus } from '../energy/load-service.js';
import { OFF, OFFLINE, ON, ONLINE, type Topics } from './topics.js';

/**
 * Load management on MQTT: the site's state topics under <prefix>/<stationId>/site/ and their
 * Home Assistant entities (on the station's device). Published only with a `site` section.
 */
const PHASES = ['l1', 'l2', 'l3'] as const;
export const SITE_TOPICS = [
  ...PHASES.map((l) => `grid/${l}` as const),
  ...PHASES.map((l) => `house/${l}` as const),
  ...PHASES.map((l) => `budget/${l}` as const),
  'fallback',
  'fallback/reason',
  'grid_meter/availability',
  'grid_meter/health',
] as const;
export type SiteTopic = (typeof SITE_TOPICS)[number];

export function siteTopic(topics: Topics, leaf: SiteTopic): string {
  return `${topics.base}/site/${leaf}`;
}

/** Topic leaf -> payload; null leaves a topic as it is (grid and house values while there is no usable reading). */
export function siteState(s: SiteStatus): Map<SiteTopic, string | null> {
  const out = new Map<SiteTopic, string | null>();
  PHASES.forEach((l, i) => {
    out.set(`grid/${l}`, s.gridA ? amps(s.gridA[i]) : null);
    out.set(`house/${l}`, s.houseA ? amps(s.houseA[i]) : null);
    out.set(`budget/${l}`, amps(s.budgetA[i]));
  });
  out.set('fallback', s.fallbackActive ? ON : OFF);
  out.set('fallback/reason', s.fallbackReason ?? '');
  out.set('grid_meter/availability', s.gridA ? ONLINE : OFFLINE);
  out.set('grid_meter/health', s.meter.health);
  return out;
}

function amps(v: number | undefined): string | null {
  if (v === undefined || !Number.isFinite(v)) return null;
  const r = Math.round(v * 100) / 100;
  return String(Object.is(r, -0) ? 0 : r);
}

export interface SiteEntity {
  component: 'sensor' | 'binary_sensor';
  objectId: string;
  config: Record<string, unknown>;
  /** From the grid meter: unavailable while it gives no usable reading. */
  gridMeter: boolean;
}

/** Home Assistant entities of the site (object ids site_*). */
export function siteEntities(topics: Topics): SiteEntity[] {
  const current = { device_class: 'current', state_class: 'measurement', unit_of_measurement: 'A', suggested_display_precision: 1 };
  const list: SiteEntity[] = [];
  PHASES.forEach((l, i) => {
    const L = `L${i + 1}`;
    list.push({ component: 'sensor', objectId: `site_grid_current_${l}`, gridMeter: true, config: { ...current, name: `Grid current ${L}`, state_topic: siteTopic(topics, `grid/${l}`) } });
    list.push({ component: 'sensor', objectId: `site_house_current_${l}`, gridMeter: true, config: { ...current, name: `House load ${L}`, state_topic: siteTopic(topics, `house/${l}`) } });
    list.push({ component: 'sensor', objectId: `site_budget_${l}`, gridMeter: false, config: { ...current, name: `Charging budget ${L}`, state_topic: siteTopic(topics, `budget/${l}`), icon: 'mdi:transmission-tower' } });
  });
  list.push({
    component: 'binary_sensor',
    objectId: 'site_fallback',
    gridMeter: false,
    config: { name: 'Load management fallback', state_topic: siteTopic(topics, 'fallback'), payload_on: ON, payload_off: OFF, device_class: 'problem', entity_category: 'diagnostic' },
  });
  list.push({
    component: 'sensor',
    objectId: 'site_grid_meter_health',
    gridMeter: false,
    config: { name: 'Grid meter health', state_topic: siteTopic(topics, 'grid_meter/health'), device_class: 'enum', options: ['ok', 'degraded', 'offline'], entity_category: 'diagnostic' },
  });
  return list;
}
