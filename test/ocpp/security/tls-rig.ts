import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOcpp, type ChargePoint } from '../../../src/ocpp/index.js';
import { ocppConfigSchema } from '../../../src/config/ocpp.js';
import type { Config } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/log.js';
import type { Db } from '../../../src/store/db.js';
import { Csms } from '../csms.js';
import { FakeStation } from '../fake-station.js';
import { ocppRepositories, openTestDb, tempDir } from '../helpers.js';
import { TestCa, type Issued } from '../../support/test-pki.js';

export type Cleanups = (() => Promise<void> | void)[];

export interface Peer {
  /** CN of the client certificate the station presented, if any. */
  cn?: string;
  serial?: string;
  /** The client certificate chains to one of the client CAs. */
  authorized: boolean;
}

/** A CSMS over TLS (ocpp-rpc RPCServer behind a node https server) that asks for client certificates. */
export interface TlsCsms {
  csms: Csms;
  port: number;
  url: string;
  /** Every TLS upgrade request, with the client certificate seen. */
  peers: Peer[];
  /** Whether a connection is let through (default: all); a refused one is cut before the WebSocket opens. */
  admit: (peer: Peer) => boolean;
}

export async function tlsCsms(cleanups: Cleanups, server: Issued, clientCas: TestCa[]): Promise<TlsCsms> {
  const csms = new Csms();
  const t: TlsCsms = { csms, port: 0, url: '', peers: [], admit: () => true };
  const https: Server = createServer({ cert: server.pem, key: server.keyPem, ca: clientCas.map((c) => c.pem), requestCert: true, rejectUnauthorized: false });
  https.on('upgrade', (req, socket, head) => {
    const tls = socket as TLSSocket;
    const cert = tls.getPeerCertificate?.();
    const peer: Peer = { authorized: tls.authorized, ...(cert?.subject ? { cn: String(cert.subject.CN), serial: cert.serialNumber.toLowerCase().replace(/^0+/, '') } : {}) };
    t.peers.push(peer);
    if (!t.admit(peer)) {
      socket.destroy();
      return;
    }
    void csms.server.handleUpgrade(req, socket as never, head);
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  t.port = (https.address() as AddressInfo).port;
  t.url = `wss://127.0.0.1:${t.port}/ocpp`;
  cleanups.push(() => new Promise<void>((r) => {
    https.close(() => r());
    https.closeAllConnections();
  }), () => csms.close());
  return t;
}

export interface SecureStation {
  cp: ChargePoint;
  db: Db;
  dir: string;
  station: FakeStation;
  /** Writes a PEM into the station's directory; returns its path (for ocpp.caFile, clientCert, clientKey). */
  file(name: string, pem: string): string;
  /** Stops the charge point and starts it again on the same store and storage directory. */
  restart(ocpp?: Record<string, unknown>): Promise<void>;
}

/** A charge point with a storage directory (its certificate store) and short reconnect times. */
export async function secureStation(cleanups: Cleanups, ocpp: (s: SecureStation) => Record<string, unknown>): Promise<SecureStation> {
  const tmp = tempDir('evsed-sec-');
  let stop: () => Promise<void> = async () => undefined;
  const s: SecureStation = {
    cp: undefined as unknown as ChargePoint,
    db: openTestDb(tmp.dir),
    dir: tmp.dir,
    station: undefined as unknown as FakeStation,
    file: (name, pem) => {
      const p = join(tmp.dir, name);
      writeFileSync(p, pem);
      return p;
    },
    restart: async (o) => {
      await stop();
      s.station.close();
      await launch(o ?? ocpp(s));
    },
  };
  async function launch(o: Record<string, unknown>) {
    s.station = new FakeStation(s.db);
    const parsed = ocppConfigSchema.parse({ version: '1.6', reconnectMinS: 0.05, reconnectMaxS: 0.3, callTimeoutS: 5, ...o });
    const config = { ocpp: parsed, auth: { freeIdTag: 'FREE' }, connectors: [{ id: 1, phases: 1 }, { id: 2, phases: 1 }] } as unknown as Config;
    const h = await startOcpp({ config, station: s.station, repos: ocppRepositories(s.db, parsed), sessionHooks: s.station.sessions, storageDir: tmp.dir, log: silentLogger() });
    s.cp = h.chargePoint;
    stop = h.stop;
  }
  await launch(ocpp(s));
  cleanups.push(async () => {
    await stop();
    s.station.close();
    s.db.close();
    tmp.cleanup();
  });
  return s;
}

/** The security log's event types (the second word of each line). */
export function loggedTypes(cp: ChargePoint): string[] {
  return cp.security.securityLog().map((l) => l.split(' ')[1]!);
}
