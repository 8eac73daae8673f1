import { describe, expect, it } from 'vitest';
import rpc from 'ocpp-rpc';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { SimHardware } from '../../src/sim/hardware.js';
import { tempDir, until, writeSimConfig } from '../support/station.js';

/** auth.mode is the station's: with mode local an OCPP connection reports sessions but does not authorise tags. */
describe('OCPP with auth.mode local', () => {
  it('tags are decided by the config list; the CSMS gets the transaction, never an Authorize', async () => {
    const calls: string[] = [];
    const server = new rpc.RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
    server.on('client', (client: any) => {
      client.handle(({ method }: { method: string }) => {
        calls.push(method);
        const now = new Date().toISOString();
        if (method === 'BootNotification') return { status: 'Accepted', currentTime: now, interval: 300 };
        if (method === 'StartTransaction') return { transactionId: 7, idTagInfo: { status: 'Accepted' } };
        if (method === 'Authorize') return { idTagInfo: { status: 'Invalid' } };
        if (method === 'Heartbeat') return { currentTime: now };
        return {};
      });
    });
    const http = await server.listen(0, '127.0.0.1');
    const port = (http.address() as AddressInfo).port;
    const d = await startDaemon(
      loadConfig(writeSimConfig(tempDir(), { tags: ['TAG-1'], extra: `ocpp: { version: "1.6", url: "ws://127.0.0.1:${port}/ocpp" }\n` })),
      silentLogger(),
    );
    try {
      await until(() => calls.includes('BootNotification'), 'BootNotification');
      const hw = d.hardware(1) as SimHardware;
      hw.ev.plug();
      expect((await d.station.presentTag(1, 'STRANGER')).status).toBe('Invalid');
      const ok = await d.station.presentTag(1, 'TAG-1');
      expect(ok).toMatchObject({ status: 'Accepted', source: 'local' });
      await until(() => calls.includes('StartTransaction'), 'StartTransaction reported');
      expect(calls).not.toContain('Authorize');
    } finally {
      await d.stop();
      await server.close({ force: true });
    }
  });
});
