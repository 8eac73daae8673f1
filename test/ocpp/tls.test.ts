import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { startOcpp } from '../../src/ocpp/index.js';
import { ocppConfigSchema } from '../../src/config/ocpp.js';
import type { Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { Csms, waitFor } from './csms.js';
import { FakeStation } from './fake-station.js';
import { ocppRepositories, openTestDb, tempDir } from './helpers.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A private CA, a server certificate for 127.0.0.1 and a client certificate for CP-TEST. */
function makePki(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string> {
  const p = (f: string) => join(dir, f);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: dir });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=evsed test CA');
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=CP-TEST');
  ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2');
  return { ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key') };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups.length = 0;
});

async function tlsCsms(pki: ReturnType<typeof makePki>, requestCert: boolean): Promise<{ csms: Csms; port: number; peers: string[] }> {
  const csms = new Csms();
  const peers: string[] = [];
  const https: Server = createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey), ca: readFileSync(pki.ca), requestCert, rejectUnauthorized: requestCert });
  https.on('upgrade', (req, socket, head) => {
    const cert = (socket as TLSSocket).getPeerCertificate?.();
    if (cert?.subject) peers.push(String(cert.subject.CN));
    void csms.server.handleUpgrade(req, socket as any, head);
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => {
    https.close(() => r());
    https.closeAllConnections();
  }), () => csms.close());
  return { csms, port: (https.address() as AddressInfo).port, peers };
}

async function station(ocpp: Record<string, unknown>) {
  const tmp = tempDir();
  const db = openTestDb(tmp.dir);
  const st = new FakeStation(db);
  const config = { ocpp: ocppConfigSchema.parse({ version: '1.6', reconnectMinS: 0.05, reconnectMaxS: 0.3, callTimeoutS: 5, ...ocpp }), auth: { freeIdTag: 'FREE' }, connectors: [{ id: 1, phases: 1 }, { id: 2, phases: 1 }] } as unknown as Config;
  const h = await startOcpp({ config, station: st, repos: ocppRepositories(db, config.ocpp!), sessionHooks: st.sessions, log: silentLogger() });
  cleanups.push(async () => {
    await h.stop();
    st.close();
    db.close();
    tmp.cleanup();
  });
  return h.chargePoint;
}

if (!hasOpenssl()) console.log('SKIPPED: openssl not installed: the TLS tests (security profiles 2 and 3) did not run (apt-get install openssl)');

describe.skipIf(!hasOpenssl())('security profiles 2 and 3 over TLS', () => {
  it('profile 2: wss with a private CA and Basic auth', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const pki = makePki(dir.dir);
    const { csms, port } = await tlsCsms(pki, false);
    const cp = await station({ url: `wss://127.0.0.1:${port}/ocpp`, password: 'tls-secret', caFile: pki.ca });
    await waitFor(() => cp.online, 'accepted over TLS');
    expect(csms.auths[0]).toEqual({ identity: 'CP-TEST', password: 'tls-secret' });
  });

  it('profile 2: a server certificate from an unknown CA is refused (no connection)', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const pki = makePki(dir.dir);
    const { csms, port } = await tlsCsms(pki, false);
    const cp = await station({ url: `wss://127.0.0.1:${port}/ocpp`, password: 'tls-secret' });
    await waitFor(() => cp.link.lastError, 'a failed connect');
    expect(cp.link.lastError).toMatch(/certificate/i);
    expect(csms.auths).toHaveLength(0);
  });

  it('profile 3: mutual TLS with the client certificate, no password', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const pki = makePki(dir.dir);
    const { csms, port, peers } = await tlsCsms(pki, true);
    const cp = await station({ url: `wss://127.0.0.1:${port}/ocpp`, caFile: pki.ca, clientCert: pki.clientCert, clientKey: pki.clientKey });
    await waitFor(() => cp.online, 'accepted over mutual TLS');
    expect(peers[0]).toBe('CP-TEST');
    expect(csms.auths[0]).toEqual({ identity: 'CP-TEST', password: undefined });
  });
});
