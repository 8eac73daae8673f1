import type { Tariff } from '../config/tariff.js';
import { windowAt } from './tariff.js';
import { localTime } from './zone.js';

/**
 * The gross energy price in force at an instant (1/10 000 minor units per kWh, tax included,
 * rounded half up): the time-of-use window's price at that local time, else the base price.
 */
export function grossPricePerKWh(tariff: Tariff, wallMs: number): number {
  const t = localTime(wallMs, tariff.timeZone);
  const w = windowAt(tariff, t.weekday, t.msOfDay);
  const net = w >= 0 ? tariff.timeOfUse[w]!.energyPerKWh : tariff.energyPerKWh;
  return Math.floor((net * (10_000 + tariff.taxBasisPoints) + 5_000) / 10_000);
}
