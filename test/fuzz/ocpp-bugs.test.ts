import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import rpc from 'ocpp-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { tempDir, until, writeSimConfig } from '../support/station.js';

/**
 * Regression tests for what the inbound OCPP fuzzer (test/fuzz/ocpp.test.ts, seed 388823) found:
 * frames that fail OCPP-J framing (not JSON, not an array, message type not a number or unknown,
 * message id or action not a text) were answered by ocpp-rpc's framing layer with the OCPP 2.0.1
 * codes "RpcFrameworkError" / "MessageTypeNotSupported", which OCPP 1.6J (§4.2.3) does not define.
 * Fixed in src/ocpp/v16/call-errors.ts (toOcpp16CallError, applied by the Link to every outgoing frame): they are answered FormationViolation now.
 */
const { RPCServer } = rpc;
const OCPP16_CODES = ['NotImplemented', 'NotSupported', 'InternalError', 'ProtocolError', 'SecurityError', 'FormationViolation', 'PropertyConstraintViolation', 'OccurenceConstraintViolation', 'OccurrenceConstraintViolation', 'TypeConstraintViolation', 'GenericError'];

describe('OCPP framing errors found by fuzzing: answered with OCPP 1.6 codes', () => {
  let dir: string;
  let daemon: Daemon;
  const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: false });
  let client: any;
  const answers: unknown[][] = [];

  beforeAll(async () => {
    server.on('client', (c: any) => {
      client = c;
      c.on('message', ({ message, outbound }: { message: string; outbound: boolean }) => {
        if (outbound) return;
        const m = JSON.parse(message) as unknown[];
        if (m[0] === 4 || m[0] === 3) answers.push(m);
      });
      c.handle(({ method }: { method: string }) => (method === 'BootNotification' ? { status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 } : method === 'Heartbeat' ? { currentTime: new Date().toISOString() } : {}));
    });
    const http = await server.listen(0, '127.0.0.1');
    dir = tempDir('evsed-fuzz-ocpp-bugs-');
    const file = writeSimConfig(dir, {
      authMode: 'ocpp' as 'local',
      extra: `ocpp:\n  version: "1.6"\n  url: ws://127.0.0.1:${(http.address() as AddressInfo).port}/ocpp\n  reconnectMinS: 0.05\n  reconnectMaxS: 0.2\n  callTimeoutS: 5\n  keys: { HeartbeatInterval: 300 }\n`,
    });
    daemon = await startDaemon(loadConfig(file), silentLogger());
    await until(() => client, 'station connected');
  });

  afterAll(async () => {
    await daemon?.stop();
    await server.close({ force: true, awaitPending: false }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [what, frame] of [
    ['not JSON', '[2,"a1","Reset",{"type":"So'],
    ['message id not a text', '[2,7,"Reset",{"type":"Soft"}]'],
    ['unknown message type', '[5,"a2","Reset",{"type":"Soft"}]'],
    ['action not a text', '[2,"a3",null,{}]'],
  ] as const) {
    it(`regression: a frame with ${what} is answered with the OCPP 1.6 code FormationViolation, not an OCPP 2.0.1 code`, async () => {
      const n = answers.length;
      client.sendRaw(frame);
      await until(() => answers.length > n, 'the CALLERROR');
      const answer = answers[n]!;
      expect(answer[0]).toBe(4);
      expect(OCPP16_CODES).toContain(answer[2]);
      expect(answer[2]).toBe('FormationViolation');
    });
  }
});
