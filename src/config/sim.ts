import { z } from 'zod';
import { intBetween, numberBetween, oneOf } from './zod-helpers.js';

/** The simulated EV and supply behind `hardware.driver: sim`. */
export const simEvSchema = z.strictObject({
  /** Current the EV's on-board charger draws at most, per phase. */
  maxCurrentA: intBetween(1, 80).default(16),
  phases: intBetween(1, 3).default(3),
  voltageV: numberBetween(100, 260).default(230),
  /** Optional battery model: the EV tapers above taperAbovePercent and stops at 100 %. */
  battery: z
    .strictObject({
      capacityWh: intBetween(1000, 250_000),
      startSocPercent: numberBetween(0, 100).default(20),
      taperAbovePercent: numberBetween(1, 100).default(80),
    })
    .optional(),
});
export type SimEvConfig = z.infer<typeof simEvSchema>;

/**
 * What a restart of the daemon does to the simulated world. `persist`: nothing, as in the real
 * world: the EV stays plugged in (and keeps its state and battery), asserted fault inputs stay
 * asserted, a welded contactor stays welded (kept in the storage directory, sim-world-<id>.json).
 * `fresh`: every start begins with the EV unplugged and no fault input asserted.
 */
export const SIM_WORLD_MODES = ['persist', 'fresh'] as const;
export type SimWorldMode = (typeof SIM_WORLD_MODES)[number];

export const simHardwareSchema = z.strictObject({
  driver: z.literal('sim'),
  ev: simEvSchema.default({ maxCurrentA: 16, phases: 3, voltageV: 230 }),
  world: oneOf(SIM_WORLD_MODES).default('persist'),
  /** The simulated board has a 1p/3p relay (connectors[].phases must be 3). */
  phaseRelay: z.boolean().default(false),
});
export type SimHardwareConfig = z.infer<typeof simHardwareSchema>;

export const simMeterSchema = z.strictObject({
  model: z.literal('sim'),
  /** Register value at first start (Wh); later starts continue from the stored register. */
  initialEnergyWh: intBetween(0, 2_000_000_000).default(0),
});
export type SimMeterConfig = z.infer<typeof simMeterSchema>;
