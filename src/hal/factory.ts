import type { ConnectorConfig } from '../config/schema.js';
import type { ConnectorHardware } from './types.js';
import type { Logger } from '../log.js';
import { SimHardware } from '../sim/hardware.js';
import { SimWorld, simWorldFile } from '../sim/world.js';
import type { GpioHardwareContext } from './gpio/index.js';
import { realTimeClock } from './clock.js';
import { SafetyCore } from './safety-core/core.js';
import { LatchFile, latchPath } from './safety-core/latch-file.js';
import { PhaseRelayFile, phaseRelayPath } from './safety-core/phase-file.js';

/** Test hooks for `hardware.driver: gpio` (a fake sysfs tree's interrupts, a fake ADC, a clock); production passes none. */
export type GpioTestHooks = Partial<Omit<GpioHardwareContext, 'connectorId' | 'log'>> & {
  /** Run the safety core in its worker thread even with hooks (the worker takes only testAdcReadMs). */
  worker?: { testAdcReadMs?: number };
};

export interface HardwareContext {
  log: Logger;
  /** The state directory: the safety latches live here (null: in memory, for tools and tests). */
  stateDir: string | null;
  gpio?: GpioTestHooks;
}

/**
 * Builds the board of one connector from `connectors[].hardware`, wrapped in its safety core.
 * gpio: the core and the driver run in a worker thread of their own (src/hal/safety-core/worker.ts);
 * in-process only when tests hand in fake interrupts, ADC or clock objects (which cannot cross a
 * thread). sim: in-process (a simulated board's loop is the main loop anyway). pilot-board: in-process
 * in front of the board's own microcontroller.
 */
export async function createConnectorHardware(cfg: ConnectorConfig, ctx: HardwareContext): Promise<ConnectorHardware> {
  const hw = cfg.hardware;
  const log = ctx.log;
  const latchFile = ctx.stateDir ? latchPath(ctx.stateDir, cfg.id) : null;
  const stopTimeoutMs = cfg.stopTimeoutS * 1000 + 1000;
  const latches = () => new LatchFile(latchFile, (err) => log.error({ connector: cfg.id, err: err.message }, 'cannot write the safety latch file'));
  const phaseFile = ctx.stateDir ? phaseRelayPath(ctx.stateDir, cfg.id) : null;
  const phases = () => new PhaseRelayFile(phaseFile, (err) => log.error({ connector: cfg.id, err: err.message }, 'cannot keep the phase relay state'));
  switch (hw.driver) {
    case 'sim': {
      const world = ctx.stateDir === null ? undefined : SimWorld.open(simWorldFile(ctx.stateDir, cfg.id), { mode: hw.world, ev: hw.ev, log: log.child({ connectorId: cfg.id }) });
      return new SafetyCore(new SimHardware(hw.ev, undefined, world, { phaseRelay: hw.phaseRelay }), { latches: latches(), clock: realTimeClock, log: log.child({ connector: cfg.id }), stopTimeoutMs, offMainLoop: false, phases: phases() });
    }
    case 'gpio': {
      const { worker, ...hooks } = ctx.gpio ?? {};
      const inProcess = !worker && (hooks.edges !== undefined || hooks.adc !== undefined || hooks.clock !== undefined);
      if (inProcess) {
        const { createGpioHardware } = await import('./gpio/index.js');
        const phaseState = phases();
        const board = await createGpioHardware(hw, { ...hooks, connectorId: cfg.id, log, phaseRelayInitial: phaseState.get() ?? undefined });
        return new SafetyCore(board, { latches: latches(), clock: board.clock, log: log.child({ connector: cfg.id }), stopTimeoutMs, offMainLoop: false, phases: phaseState });
      }
      const { SafetyCoreClient } = await import('./safety-core/client.js');
      const { contactorValuePath } = await import('./gpio/sysfs-gpio.js');
      return SafetyCoreClient.start(
        { connectorId: cfg.id, hardware: hw, latchPath: latchFile, phasePath: phaseFile, stopTimeoutMs, logLevel: log.level, testAdcReadMs: worker?.testAdcReadMs },
        log,
        { valuePath: contactorValuePath(hw.root, hw.gpio.contactor), activeLow: hw.gpio.activeLow.includes('contactor') },
      );
    }
    case 'pilot-board': {
      // The board's microcontroller does the real-time part (pilot, relay, its RCD input); the core
      // adds evsed's veto and latches in front of it, on the main loop, which the board does not need.
      const { createPilotBoardHardware } = await import('./pilot-board/index.js');
      const board = await createPilotBoardHardware(hw, { connectorId: cfg.id, log });
      return new SafetyCore(board, { latches: latches(), clock: realTimeClock, log: log.child({ connector: cfg.id }), stopTimeoutMs, offMainLoop: true });
    }
  }
}
