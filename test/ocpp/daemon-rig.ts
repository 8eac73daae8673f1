/**
 * The whole daemon in-process (state machine, sim hardware and meter, store) against the ocpp-rpc
 * CSMS fixture in strict mode: the rig for OCPP behaviour that lives in the station. One per test
 * file: `const rigs = daemonRigs()` installs the cleanup.
 */
import { afterEach, expect } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import { tempDir, writeSimConfig } from '../support/station.js';
import { Csms, waitFor } from './csms.js';

export interface DaemonRig {
  d: Daemon;
  csms: Csms;
  file: string;
  hw: (id: number) => SimHardware;
  view: (id: number) => NonNullable<ReturnType<Daemon['station']['connectorView']>>;
  status: (id: number) => string;
}

export interface DaemonRigOptions {
  connectors?: number;
  /** An existing config file (a restart); otherwise a sim config with an ocpp section is written. */
  file?: string;
  keys?: Record<string, unknown>;
  /** Every connector gets a phase relay (its pause shortened for the test). */
  phaseRelay?: boolean;
  /** Changes the loaded config before the daemon starts (test-only values the schema would refuse). */
  adjust?: (loaded: LoadedConfig) => void;
}

export interface DaemonRigs {
  start(o?: DaemonRigOptions): Promise<DaemonRig>;
  /** Stops the daemon and starts it again on the same config file and database. */
  restart(r: DaemonRig, o?: Omit<DaemonRigOptions, 'file'>): Promise<DaemonRig>;
}

export function daemonRigs(prefix = 'evsed-ocpp-daemon-'): DaemonRigs {
  let daemon: Daemon | undefined;
  let csms: Csms | undefined;
  let dirs: string[] = [];
  afterEach(async () => {
    await daemon?.stop().catch(() => undefined);
    await csms?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    daemon = undefined;
    csms = undefined;
    dirs = [];
  });

  async function start(o: DaemonRigOptions = {}): Promise<DaemonRig> {
    if (!csms) {
      csms = new Csms();
      await csms.listen();
    }
    const port = (csms.http!.address() as { port: number }).port;
    let file = o.file;
    if (!file) {
      const dir = tempDir(prefix);
      dirs.push(dir);
      file = writeSimConfig(dir, {
        authMode: 'ocpp' as 'local',
        connectors: o.connectors ?? 1,
        extra: `ocpp:
  version: "1.6"
  url: ws://127.0.0.1:${port}/ocpp
  reconnectMinS: 0.05
  reconnectMaxS: 0.3
  callTimeoutS: 5
  keys: ${JSON.stringify({ HeartbeatInterval: 300, MeterValueSampleInterval: 0, ...(o.keys ?? {}) })}
`,
      });
      if (o.phaseRelay) writeFileSync(file, readFileSync(file, 'utf8').replaceAll('driver: sim,', 'driver: sim, phaseRelay: true,'));
    }
    const c = csms;
    const boots = c.of('BootNotification').length;
    const statuses = c.of('StatusNotification').length;
    const loaded = loadConfig(file);
    // test only: the schema asks for a pause of at least 5 s before the relay changes
    if (o.phaseRelay) for (const conn of loaded.config.connectors) conn.phaseSwitch.pauseS = 0.3;
    o.adjust?.(loaded);
    daemon = await startDaemon(loaded, silentLogger());
    const d = daemon;
    await waitFor(() => c.of('BootNotification').length > boots && c.of('StatusNotification').length >= statuses + 2, 'boot accepted and status sent');
    return {
      d,
      csms: c,
      file,
      hw: (id) => d.hardware(id) as SimHardware,
      view: (id) => d.station.connectorView(id)!,
      status: (id) => d.station.connectorView(id)!.status,
    };
  }

  return {
    start,
    async restart(r, o = {}) {
      await r.d.stop();
      daemon = undefined;
      return start({ ...o, file: r.file, phaseRelay: o.phaseRelay });
    },
  };
}

/** Whether the durable OCPP queue has nothing left to send. */
export function txQueueEmpty(r: DaemonRig): boolean {
  const ocpp = r.d.station.extraStatus().ocpp as { queue: { length: number } } | undefined;
  return ocpp !== undefined && ocpp.queue.length === 0;
}

/** Plug, present the tag, EV ready: until the contactor is closed and the StartTransaction delivered. */
export async function charge(r: DaemonRig, id: number, idTag: string): Promise<void> {
  r.hw(id).ev.plug();
  expect(await r.d.station.presentTag(id, idTag)).toMatchObject({ status: 'Accepted' });
  r.hw(id).ev.ready();
  await waitFor(() => r.view(id).contactorClosed, 'charging');
  await waitFor(() => r.csms.of('StartTransaction').length > 0 && txQueueEmpty(r), 'StartTransaction delivered');
}
