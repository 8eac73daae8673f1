import { startOcpp } from '../../src/ocpp/index.js';
import { ocppConfigSchema } from '../../src/config/ocpp.js';
import type { ChargePoint, OcppContext } from '../../src/ocpp/index.js';
import type { FirmwareDeps } from '../../src/ocpp/v16/charge-point.js';
import type { Config } from '../../src/config/schema.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { Db } from '../../src/store/db.js';
import { FakeStation } from './fake-station.js';
import { Csms, waitFor } from './csms.js';
import { ocppRepositories, openTestDb, tempDir } from './helpers.js';

export interface Rig {
  dir: string;
  db: Db;
  station: FakeStation;
  cp: ChargePoint;
  csms: Csms;
  port: number;
  stop(): Promise<void>;
  /** Stop the charge point and open everything again on the same database file (a daemon restart). */
  restart(extra?: Partial<RigOptions>): Promise<void>;
  cleanup(): Promise<void>;
}

export interface RigOptions {
  keys: Record<string, string | number | boolean>;
  ocpp: Record<string, unknown>;
  /** don't start the CSMS (station boots offline) */
  csmsDown: boolean;
  trust: 'always' | 'never';
  /** connectors with a cable lock (default) or fixed cables */
  locks: boolean;
  /** the charge point's logger (default: silent) */
  log: Logger;
  /** firmware updates (UpdateFirmware / SignedUpdateFirmware); without it they are NotSupported */
  firmware: FirmwareDeps;
  /** GetDiagnostics / GetLog (default: none, NotSupported) */
  diagnostics: OcppContext['diagnostics'];
}

export async function rig(opts: Partial<RigOptions> = {}): Promise<Rig> {
  const tmp = tempDir();
  const csms = new Csms();
  const { freePort } = await import('./csms.js');
  const port = opts.csmsDown ? await freePort() : await csms.listen();
  let db = openTestDb(tmp.dir);
  const r: Rig = {
    dir: tmp.dir, db, csms, port,
    station: undefined as unknown as FakeStation,
    cp: undefined as unknown as ChargePoint,
    stop: async () => undefined,
    restart: async (extra = {}) => {
      await r.stop();
      r.station.close();
      db.close();
      db = openTestDb(tmp.dir);
      r.db = db;
      await launch({ ...opts, ...extra });
    },
    cleanup: async () => {
      await r.stop();
      r.station.close();
      await csms.close();
      db.close();
      tmp.cleanup();
    },
  };
  async function launch(o: Partial<RigOptions>) {
    const ocpp = ocppConfigSchema.parse({
      version: '1.6',
      url: `ws://127.0.0.1:${port}/ocpp`,
      reconnectMinS: 0.05,
      reconnectMaxS: 0.3,
      callTimeoutS: 5,
      keys: { HeartbeatInterval: 300, MeterValueSampleInterval: 0, ...(o.keys ?? {}) },
      ...(o.ocpp ?? {}),
    });
    const config = { ocpp, auth: { mode: 'ocpp', tags: [], freeIdTag: 'FREE' }, connectors: [{ id: 1, phases: 1 }, { id: 2, phases: 3 }] } as unknown as Config;
    r.station = new FakeStation(db, { trust: o.trust ?? 'always', locks: o.locks ?? true });
    const h = await startOcpp({ config, station: r.station, repos: ocppRepositories(db, ocpp), sessionHooks: r.station.sessions, log: o.log ?? silentLogger(), ...(o.firmware ? { firmware: o.firmware } : {}), ...(o.diagnostics ? { diagnostics: o.diagnostics } : {}) });
    r.cp = h.chargePoint;
    r.stop = h.stop;
  }
  await launch(opts);
  return r;
}

/** Wait until the charge point is Accepted and has sent its initial status notifications. */
export async function accepted(r: Rig): Promise<void> {
  await waitFor(() => r.cp.online, 'boot accepted');
  await waitFor(() => r.csms.of('StatusNotification').length >= 3, 'initial status notifications');
}

export { waitFor };
