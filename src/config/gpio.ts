import { z } from 'zod';
import { crossKeys, ifReadable } from './cross-keys.js';
import { intBetween, nonEmptyString, numberBetween, oneOf } from './zod-helpers.js';
import { CONTACTOR_FEEDBACK_TIMEOUT_MS } from '../domain/faults.js';

/**
 * `hardware.driver: gpio` (Raspberry Pi, issue 6). Pins are BCM numbers as printed on pinout
 * diagrams (GPIO17 = 17); the driver maps them to sysfs numbers at start-up (see sysfs-gpio.ts).
 * See hardware/README.md for the circuit every value here refers to.
 */

const bcm = intBetween(0, 27);

/** Names usable in `gpio.activeLow`: the electrical level of these pins is inverted. */
export const GPIO_SIGNALS = [
  'contactor', 'contactorFeedback', 'rcdFault', 'rcdTest', 'cpRelay', 'heartbeat',
  'lock.motorA', 'lock.motorB', 'lock.feedback',
] as const;
export type GpioSignal = (typeof GPIO_SIGNALS)[number];

const lockSchema = z.strictObject({
  motorA: bcm,
  motorB: bcm,
  /** Input that is active while the lock pin is extended (locked). */
  feedback: bcm.optional(),
  /** How long the motor is driven per lock/unlock. */
  motorMs: intBetween(50, 5000).default(600),
});

/**
 * The 1p/3p relay (a second contactor that connects L2 and L3, hardware/README.md). Which
 * position the energised coil means depends on the wiring: `energisedMeans`. Its output is never
 * part of safe(): it changes only with the contactor open (the safety core's rule).
 */
const phaseRelaySchema = z.strictObject({
  pin: bcm,
  /** The pin is low to energise the relay driver. */
  activeLow: z.boolean().default(false),
  energisedMeans: z.literal([1, 3], { error: 'must be 1 or 3: the phases connected while the relay coil is energised (see the wiring)' }),
  /** After a change the contactor may close only this much later (relay operate and bounce time). */
  settleMs: intBetween(20, 5000).default(200),
});
export type PhaseRelayConfig = z.infer<typeof phaseRelaySchema>;

const gpioSchema = z.strictObject({
  /** Contactor relay driver output (through the heartbeat interlock, hardware/interlock.md). */
  contactor: bcm,
  /** Auxiliary (mirror) contact of the contactor: active = closed. */
  contactorFeedback: bcm.optional(),
  /** RCD / RDC-DD 6 mA DC module fault output: active = tripped. */
  rcdFault: bcm.optional(),
  /** RCD module self-test input: active = inject test current. */
  rcdTest: bcm.optional(),
  lock: lockSchema.optional(),
  /** Relay that disconnects CP from the EV (wake-up, CP interruption): active = disconnected. */
  cpRelay: bcm.optional(),
  /** Toggled by the control loop; the interlock drops the contactor when it stops (hardware/interlock.md). */
  heartbeat: bcm.optional(),
  activeLow: z.array(oneOf(GPIO_SIGNALS)).default([]),
  /** Inputs must hold a new level this long before it counts (contact bounce). */
  debounceMs: intBetween(0, 50).default(10),
});

const pwmSchema = z.strictObject({
  /** Header pin carrying the pilot PWM. Used to find the chip/channel when they are not given. */
  pin: z.union([z.literal(12), z.literal(13), z.literal(18), z.literal(19)], { error: 'must be 12, 13, 18 or 19 (the hardware PWM pins)' }).default(18),
  /** /sys/class/pwm/pwmchipN. Leave out to find it from the board (Pi 4: pwmchip0, Pi 5: pwmchip2). */
  chip: intBetween(0, 31).optional(),
  /** Channel on that chip (Pi 4: 0/1 on GPIO18/19; Pi 5: 2/3 on GPIO18/19). */
  channel: intBetween(0, 3).optional(),
}).check(crossKeys((p, ctx) => {
  if ((p.chip === undefined) !== (p.channel === undefined)) {
    ctx.addIssue({ code: 'custom', path: [p.chip === undefined ? 'chip' : 'channel'], message: 'give both chip and channel, or neither (then they are found from pwm.pin)' });
  }
}));

/** Pilot levels, in volts at the CP line, at which states are told apart (hardware/pilot-circuit.md). */
const thresholdsSchema = z.strictObject({
  /** high level above this: A (12 V) */
  ab: numberBetween(9, 12).default(10.5),
  /** above this: B (9 V) */
  bc: numberBetween(6, 9).default(7.5),
  /** above this: C (6 V) */
  cd: numberBetween(3, 6).default(4.5),
  /** above this: D (3 V); between de and -de: E (0 V); below -de: F */
  de: numberBetween(0.5, 3).default(1.5),
  /** the negative level must be at or below this while PWM runs, else the EV diode is missing */
  diode: numberBetween(-12, -6).default(-10.5),
}).check(crossKeys((t, ctx) => {
  if (!(t.ab > t.bc && t.bc > t.cd && t.cd > t.de)) ctx.addIssue({ code: 'custom', message: 'thresholds must fall: ab > bc > cd > de', input: t });
}));

const adcSenseSchema = z.strictObject({
  mode: z.literal('adc'),
  /** The kernel IIO device of the ADS1115 (dtoverlay=ads1115): its `name` file. */
  iioName: nonEmptyString('the IIO device name, e.g. ads1115').default('ads1115'),
  /** ADS1115 inputs (AIN0..3) carrying the positive-peak and negative-peak detector outputs. */
  highChannel: intBetween(0, 3).default(0),
  lowChannel: intBetween(0, 3).default(1),
  /** Pilot volts = ADC volts * gain + offset (divider math in hardware/pilot-circuit.md). */
  highGain: numberBetween(-50, 50).default(4.3),
  highOffsetV: numberBetween(-15, 15).default(0),
  lowGain: numberBetween(-50, 50).default(-4.3),
  lowOffsetV: numberBetween(-15, 15).default(0),
  /** One pilot reading (both channels) every this many ms. */
  samplePeriodMs: intBetween(5, 50).default(10),
  /**
   * The longest a pilot ADC read (both conversions) may take: a read that takes longer is a failed
   * read and the pilot is unreadable at once (fault 'pilot', contactor open). Two conversions at
   * 860 SPS take about 2.4 ms; the default leaves a margin of six.
   */
  readTimeoutMs: intBetween(2, 50).default(15),
  /** A new state must be seen this long before it is reported (entering C/D, and returning to A/B/...). */
  debounceMs: intBetween(0, 2000).default(250),
  /** Leaving C/D (contactor must open): reported after this much; keeps opening well under 100 ms. */
  fastDebounceMs: intBetween(0, 60).default(20),
  /** A reading must pass a state boundary by this much to leave the current state. */
  hysteresisV: numberBetween(0, 1.5).default(0.4),
  thresholdsV: thresholdsSchema.default({ ab: 10.5, bc: 7.5, cd: 4.5, de: 1.5, diode: -10.5 }),
});

const pilotSenseSchema = z.discriminatedUnion('mode', [adcSenseSchema], { error: 'mode must be adc' });

const rcdSelfTestSchema = z.strictObject({
  atStartup: z.boolean().default(true),
  /** Test input held active this long; the fault output must assert within it. */
  testMs: intBetween(50, 5000).default(1000),
  /** After releasing the test input, the fault output must clear within this. */
  clearMs: intBetween(50, 5000).default(1500),
});

export const gpioHardwareSchema = z
  .strictObject({
    driver: z.literal('gpio'),
    gpio: gpioSchema,
    pwm: pwmSchema.default({ pin: 18 }),
    pilotSense: pilotSenseSchema,
    /** Contactor checks against its auxiliary contact (only with gpio.contactorFeedback). */
    contactorCheck: z.strictObject({
      /** Feedback still closed this long after opening: welded. */
      weldMs: intBetween(20, 5000).default(CONTACTOR_FEEDBACK_TIMEOUT_MS),
      /** Feedback still open this long after closing: failed to close. */
      closeMs: intBetween(20, 5000).default(CONTACTOR_FEEDBACK_TIMEOUT_MS),
    }).default({ weldMs: CONTACTOR_FEEDBACK_TIMEOUT_MS, closeMs: CONTACTOR_FEEDBACK_TIMEOUT_MS }),
    rcdSelfTest: rcdSelfTestSchema.default({ atStartup: true, testMs: 1000, clearMs: 1500 }),
    /** The 1p/3p relay, where the connector has one (connectors[].phases must be 3). */
    phaseRelay: phaseRelaySchema.optional(),
    /** Heartbeat toggle half-period; the interlock drop-out time must be several times longer. */
    heartbeatMs: intBetween(2, 100).default(10),
    /**
     * Pulse width t_W of the interlock's monostable (hardware/interlock.md), as measured on the
     * board: the contactor drops this long after the last heartbeat rising edge.
     */
    interlockMs: intBetween(20, 2000).default(70),
    /**
     * Without the heartbeat interlock and the contactor feedback the gpio driver refuses to start:
     * nothing but this process would stand between a stalled or dead process and a closed
     * contactor, and a weld would go unseen; nor beyond the 100 ms budget (pilotOpenBudget). Only a
     * bench without mains may run so, and must say so.
     */
    benchWithoutMains: z.boolean().default(false),
    /** Filesystem root of /sys and /dev (tests point it at a fake tree). */
    root: nonEmptyString('a directory path').default('/'),
  })
  .check(crossKeys((cfg, ctx) => {
    const used = new Map<number, string>();
    const claim = (pin: number | undefined, key: string, path: (string | number)[]) => {
      if (pin === undefined) return;
      const prev = used.get(pin);
      if (prev) ctx.addIssue({ code: 'custom', path, input: pin, message: `GPIO${pin} is used by both ${prev} and ${key}: each pin can be used once` });
      else used.set(pin, key);
    };
    // Each part reads its own keys: a wrong value elsewhere does not hide it (ifReadable).
    ifReadable(() => {
      if (cfg.pilotSense.mode === 'adc') {
        used.set(2, 'the I2C bus of the pilot ADC (SDA)');
        used.set(3, 'the I2C bus of the pilot ADC (SCL)');
      }
    });
    const pin = (read: () => number | undefined, key: string, path: (string | number)[]) => ifReadable(() => claim(read(), key, path));
    pin(() => cfg.pwm.pin, 'pwm.pin', ['pwm', 'pin']);
    for (const key of ['contactor', 'contactorFeedback', 'rcdFault', 'rcdTest', 'cpRelay', 'heartbeat'] as const) {
      pin(() => cfg.gpio[key], `gpio.${key}`, ['gpio', key]);
    }
    for (const key of ['motorA', 'motorB', 'feedback'] as const) pin(() => cfg.gpio.lock?.[key], `gpio.lock.${key}`, ['gpio', 'lock', key]);
    pin(() => cfg.phaseRelay?.pin, 'phaseRelay.pin', ['phaseRelay', 'pin']);
    ifReadable(() => {
      const g = cfg.gpio;
      g.activeLow.forEach((name, i) => ifReadable(() => {
        const [a, b] = name.split('.') as [string, string | undefined];
        const set = b ? (g as any)[a]?.[b] : (g as any)[a];
        if (set === undefined) ctx.addIssue({ code: 'custom', path: ['gpio', 'activeLow', i], input: name, message: `names gpio.${name}, which is not configured` });
      }));
    });
    ifReadable(() => {
      if (cfg.benchWithoutMains) return;
      for (const [key, why] of [
        ['heartbeat', 'the interlock that drops the contactor when the safety core stalls or dies (hardware/interlock.md)'],
        ['contactorFeedback', 'the auxiliary contact that shows a welded contactor and keeps the cable locked on it'],
      ] as const) {
        ifReadable(() => {
          if (cfg.gpio[key] === undefined) ctx.addIssue({ code: 'custom', path: ['gpio', key], message: `is required: ${why}. On a bench without mains only, set hardware.benchWithoutMains: true` });
        });
      }
    });
    ifReadable(() => {
      const g = cfg.gpio;
      if (g.rcdTest !== undefined && g.rcdFault === undefined) {
        ctx.addIssue({ code: 'custom', path: ['gpio', 'rcdTest'], input: g.rcdTest, message: 'needs gpio.rcdFault to see the self-test result' });
      }
    });
    // A rising edge comes every 2 x heartbeatMs; the monostable must outlast that with a margin of
    // one more heartbeat period (interlockToleranceMs), or every normal edge counts as missed.
    ifReadable(() => {
      if (cfg.interlockMs < 5 * cfg.heartbeatMs) {
        ctx.addIssue({ code: 'custom', path: ['interlockMs'], input: cfg.interlockMs, message: `must be at least 5 x heartbeatMs (${5 * cfg.heartbeatMs} ms): the heartbeat makes a rising edge every ${2 * cfg.heartbeatMs} ms` });
      }
    });
    ifReadable(() => {
      const ps = cfg.pilotSense;
      if (ps.mode === 'adc') {
        if (ps.highChannel === ps.lowChannel) {
          ctx.addIssue({ code: 'custom', path: ['pilotSense', 'lowChannel'], input: ps.lowChannel, message: 'must differ from pilotSense.highChannel' });
        }
        // The 100 ms rule protects people from mains; a bench without mains may be slower (and say so).
        const budget = pilotOpenBudget(cfg);
        if (budget.worstMs > 100 && !cfg.benchWithoutMains) {
          const w = budget.paths.find((p) => p.ms === budget.worstMs)!;
          ctx.addIssue({ code: 'custom', path: w.key, input: budget.worstMs, message: `the contactor could be released ${budget.worstMs} ms after the EV leaves C (${w.name}: ${w.formula}); it must be at most 100 ms` });
        }
      }
    });
  }));
export type GpioHardwareConfig = z.infer<typeof gpioHardwareSchema>;
export type AdcSenseConfig = z.infer<typeof adcSenseSchema>;

export interface BudgetPath {
  name: string;
  formula: string;
  ms: number;
  /** The config key to change first. */
  key: (string | number)[];
}

/**
 * The timing budget from the pilot leaving C to the contactor coil released, in the worst case,
 * from the configured values (hardware/interlock.md, docs/safety-core.md). The safety core samples
 * in its own thread with blocking reads, so the paths are:
 * - normal: the change lands just after a read (up to one period until the next), that read takes
 *   up to readTimeoutMs, the fast debounce needs fastDebounceMs of agreeing samples, rounded up to
 *   one more period and read; the decision and the pin write are synchronous with that sample;
 * - failing reads: three failed reads in a row (each up to one period and readTimeoutMs) make the
 *   pilot unreadable, which opens;
 * - slow or hung reads (or a stuck core thread): a read slower than readTimeoutMs is dropped as a
 *   failed read; the heartbeat toggles only while a good sample is at most samplePeriodMs +
 *   readTimeoutMs old (a blocking read that hangs stops it at once), and the monostable drops the
 *   coil interlockMs after the last rising edge.
 */
export function pilotOpenBudget(cfg: Pick<GpioHardwareConfig, 'interlockMs' | 'heartbeatMs'> & { pilotSense: Pick<AdcSenseConfig, 'samplePeriodMs' | 'readTimeoutMs' | 'fastDebounceMs'> }): { worstMs: number; paths: BudgetPath[] } {
  const { samplePeriodMs: P, readTimeoutMs: R, fastDebounceMs: D } = cfg.pilotSense;
  const paths: BudgetPath[] = [
    { name: 'normal', formula: `2 x samplePeriodMs + 2 x readTimeoutMs + fastDebounceMs = ${2 * P} + ${2 * R} + ${D}`, ms: 2 * P + 2 * R + D, key: ['pilotSense', 'fastDebounceMs'] },
    { name: 'failing reads', formula: `samplePeriodMs + 3 x max(samplePeriodMs, readTimeoutMs) = ${P} + 3 x ${Math.max(P, R)}`, ms: P + 3 * Math.max(P, R), key: ['pilotSense', 'readTimeoutMs'] },
    { name: 'slow or hung reads', formula: `samplePeriodMs + readTimeoutMs + interlockMs = ${P} + ${R} + ${cfg.interlockMs}`, ms: P + R + cfg.interlockMs, key: ['interlockMs'] },
  ];
  return { worstMs: Math.max(...paths.map((p) => p.ms)), paths };
}

/**
 * How long the interlock tolerates a silent heartbeat before its monostable may time out and drop
 * the contactor: t_W (`interlockMs`) minus one heartbeat period (a rising edge comes every
 * 2 x heartbeatMs), i.e. 50 ms with the defaults (hardware/interlock.md).
 */
export function interlockToleranceMs(cfg: Pick<GpioHardwareConfig, 'interlockMs' | 'heartbeatMs'>): number {
  return cfg.interlockMs - 2 * cfg.heartbeatMs;
}
