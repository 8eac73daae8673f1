/**
 * The safety core's thread (worker_threads): its own event loop, so SQLite commits, GC pauses,
 * OCPP, MQTT and HTTP on the main loop can never delay pilot sampling, the decision to open, the
 * veto or the heartbeat. It builds the gpio driver itself (the sysfs lines are opened here), wraps
 * it in the SafetyCore and speaks the protocol in protocol.ts with the main thread's proxy.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { createGpioHardware } from '../gpio/index.js';
import { SystemClock } from '../clock.js';
import { SafetyCore } from './core.js';
import { LatchFile } from './latch-file.js';
import { PhaseRelayFile } from './phase-file.js';
import { ALIVE_INTERVAL_MS, type CoreState, type CoreWorkerData, type FromCore, type ToCore } from './protocol.js';
import { IioAdc, type PilotAdc } from '../gpio/adc.js';

const port = parentPort!;
const data = workerData as CoreWorkerData;
const send = (m: FromCore) => port.postMessage(m);

// Log lines go to the main thread, which writes them with its own logger (one stream, one format).
const log = pino(
  { level: data.logLevel, base: undefined, timestamp: pino.stdTimeFunctions.epochTime },
  { write: (line: string) => send({ t: 'log', line }) },
).child({ connector: data.connectorId, thread: 'safety-core' });

async function main(): Promise<void> {
  const cfg = data.hardware;
  const clock = new SystemClock('always');
  let adc: PilotAdc | undefined;
  if (data.testAdcReadMs !== undefined && cfg.pilotSense.mode === 'adc') {
    const real = IioAdc.open(cfg.root, cfg.pilotSense.iioName, cfg.pilotSense.highChannel, cfg.pilotSense.lowChannel);
    const ms = data.testAdcReadMs;
    const wait = new Int32Array(new SharedArrayBuffer(4));
    adc = {
      read: async () => real.readSync(),
      readSync: () => {
        Atomics.wait(wait, 0, 0, ms);
        return real.readSync();
      },
    };
  }
  const latches = new LatchFile(data.latchPath, (err) => log.error({ err: err.message }, 'cannot write the safety latch file'));
  const phases = new PhaseRelayFile(data.phasePath ?? null, (err) => log.error({ err: err.message }, 'cannot keep the phase relay state'));
  const hw = await createGpioHardware(cfg, { connectorId: data.connectorId, log, clock, adc, syncAdcReads: true, phaseRelayInitial: phases.get() ?? undefined });
  const core = new SafetyCore(hw, { latches, clock, log, stopTimeoutMs: data.stopTimeoutMs, offMainLoop: true, phases });
  const relay = core.phaseRelay;

  const state = (): CoreState => ({
    reading: core.pilot.read(),
    faults: [...core.faults.active()],
    commanded: core.contactor.commanded(),
    feedback: core.contactor.feedback(),
    locked: core.lock?.isLocked(),
    hasLock: core.lock !== undefined,
    health: core.health(),
    phaseRelay: relay ? { phases: relay.get(), settleMs: relay.settleMs, cpInterrupt: relay.cpInterrupt } : undefined,
  });
  let commanded = core.contactor.commanded();
  const reportCommanded = () => {
    const now = core.contactor.commanded();
    if (now === commanded) return;
    commanded = now;
    send({ t: 'commanded', closed: now, locked: core.lock?.isLocked() });
  };
  core.pilot.onChange((reading) => {
    send({ t: 'reading', reading });
    reportCommanded();
  });
  core.faults.onChange((kind, active) => {
    send({ t: 'fault', kind, active });
    reportCommanded();
  });
  core.contactor.onFeedback((closed) => send({ t: 'feedback', closed }));
  core.lock?.onChange?.(() => send({ t: 'lock', locked: core.lock!.isLocked() }));
  // After the reading or fault that caused it has been sent (those listeners run after the core's own):
  // the main side must see the new input before it hears that the core acted on it.
  core.contactor.onOverride!((o) =>
    queueMicrotask(() => {
      send({ t: 'override', ...o });
      reportCommanded();
    }),
  );
  const alive = setInterval(() => {
    reportCommanded();
    send({ t: 'alive', health: core.health(), locked: core.lock?.isLocked() });
  }, ALIVE_INTERVAL_MS);

  const reply = (id: number, p: Promise<unknown>) =>
    p.then(
      (value) => send({ t: 'reply', id, ok: true, value }),
      (err: unknown) => send({ t: 'reply', id, ok: false, error: (err as Error).message }),
    );

  port.on('message', (m: ToCore) => {
    switch (m.t) {
      case 'output':
        core.pilot.setOutput(m.output);
        break;
      case 'contactor':
        core.contactor.set(m.closed);
        reportCommanded();
        break;
      case 'authorise':
        core.authorise(m.authorised);
        reportCommanded();
        break;
      case 'latch':
        core.latch(m.kind);
        reportCommanded();
        break;
      case 'safe':
        core.safe();
        reportCommanded();
        break;
      case 'lock':
        void reply(m.id, (m.op === 'lock' ? core.lock!.lock() : core.lock!.unlock()).then(() => core.lock!.isLocked()));
        break;
      case 'clear-latches':
        void reply(m.id, Promise.resolve(core.clearLatches()));
        break;
      case 'rcd-test':
        void reply(m.id, core.rcdSelfTest());
        break;
      case 'phases':
        void reply(m.id, relay ? relay.set(m.phases) : Promise.resolve({ ok: false, why: 'this board has no phase relay' }));
        break;
      case 'close':
        clearInterval(alive);
        void reply(m.id, core.close()).then(() => port.close());
        break;
    }
  });
  send({ t: 'ready', state: state() });
}

main().catch((err: unknown) => {
  send({ t: 'failed', message: (err as Error).message });
});
