import { currencyExponent, formatMinor, formatRate } from '../domain/money.js';
import type { Topics } from './topics.js';

/**
 * The station's price and costs on MQTT (with a tariff), for Home Assistant's Energy dashboard:
 * `<base>/tariff/price` (gross price per kWh now, major units), `<base>/tariff/currency`, and
 * `<base>/cost/total` (the gross cost of every session so far, running ones included).
 */
export interface StationCosts {
  currency: string;
  /** Gross price per kWh now, in 1/10 000 minor units (the tariff's own scale). */
  pricePerKWh: number;
  /** Gross cost of all sessions, in minor units. */
  totalMinor: number;
}

export function billingTopics(t: Topics): { price: string; currency: string; total: string } {
  return { price: `${t.base}/tariff/price`, currency: `${t.base}/tariff/currency`, total: `${t.base}/cost/total` };
}

/** Topic → payload. */
export function billingState(t: Topics, c: StationCosts): [string, string][] {
  const topics = billingTopics(t);
  const exponent = currencyExponent(c.currency) ?? 2;
  return [
    [topics.price, formatRate(c.pricePerKWh, exponent)],
    [topics.currency, c.currency],
    [topics.total, formatMinor(c.totalMinor, exponent)],
  ];
}

/** Home Assistant entities of the price and the costs (on the station's device). */
export function billingEntities(t: Topics, currency: string): { component: 'sensor'; objectId: string; config: Record<string, unknown> }[] {
  const topics = billingTopics(t);
  return [
    {
      component: 'sensor',
      objectId: 'price',
      // Monetary, and no state class: a price is no total (HA allows monetary only with total), and
      // the Energy dashboard takes a price entity in <currency>/kWh.
      config: { name: 'Energy price', state_topic: topics.price, device_class: 'monetary', unit_of_measurement: `${currency}/kWh`, suggested_display_precision: 4, icon: 'mdi:cash' },
    },
    {
      component: 'sensor',
      objectId: 'cost_total',
      config: { name: 'Lifetime cost', state_topic: topics.total, device_class: 'monetary', state_class: 'total', unit_of_measurement: currency, suggested_display_precision: 2 },
    },
  ];
}
