import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import rpc from 'ocpp-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { tempDir, until, writeSimConfig } from '../support/station.js';
import { Findings, Rng, banner, fuzzCount, fuzzSeed, mutateText, mutateValue, randomBytes, randomString, randomValue, secondsSince, summary } from './prng.js';

/**
 * Inbound OCPP-J fuzzing: a CSMS fixture sends random and mutated frames (from valid CALLs of every
 * CSMS → charge point action) to a real in-process daemon over a real WebSocket. Every CALL gets a
 * CALLRESULT or a CALLERROR with an OCPP 1.6 error code (never InternalError/GenericError, which
 * mean a handler threw), or the station closes and reconnects; CALLRESULT/CALLERROR frames get no
 * answer; nothing crashes or hangs; afterwards a TriggerMessage(Heartbeat) still brings a Heartbeat.
 */

const { RPCServer } = rpc;

/** Valid CALLs of every CSMS → charge point action of OCPP 1.6J (the mutation corpus). */
const VALID_CALLS: [string, Record<string, unknown>][] = [
  ['ChangeAvailability', { connectorId: 1, type: 'Operative' }],
  ['ChangeAvailability', { connectorId: 0, type: 'Inoperative' }],
  ['ChangeConfiguration', { key: 'HeartbeatInterval', value: '300' }],
  ['ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '0' }],
  ['ChangeConfiguration', { key: 'LocalAuthListEnabled', value: 'true' }],
  ['ClearCache', {}],
  ['DataTransfer', { vendorId: 'com.example', messageId: 'm', data: 'd' }],
  ['GetConfiguration', { key: ['HeartbeatInterval', 'NoSuchKey'] }],
  ['GetConfiguration', {}],
  ['RemoteStartTransaction', { connectorId: 1, idTag: 'TAG-1' }],
  ['RemoteStopTransaction', { transactionId: 1 }],
  ['Reset', { type: 'Soft' }],
  ['UnlockConnector', { connectorId: 1 }],
  ['GetLocalListVersion', {}],
  ['SendLocalList', { listVersion: 2, updateType: 'Full', localAuthorizationList: [{ idTag: 'A', idTagInfo: { status: 'Accepted', expiryDate: '2030-01-01T00:00:00Z' } }] }],
  ['SendLocalList', { listVersion: 3, updateType: 'Differential', localAuthorizationList: [{ idTag: 'A' }] }],
  ['TriggerMessage', { requestedMessage: 'StatusNotification', connectorId: 1 }],
  ['TriggerMessage', { requestedMessage: 'Heartbeat' }],
  ['TriggerMessage', { requestedMessage: 'MeterValues' }],
  ['TriggerMessage', { requestedMessage: 'DiagnosticsStatusNotification' }],
  ['SetChargingProfile', { connectorId: 1, csChargingProfiles: { chargingProfileId: 1, stackLevel: 0, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }] } } }],
  ['ClearChargingProfile', {}],
  ['GetCompositeSchedule', { connectorId: 1, duration: 60 }],
  ['ReserveNow', { connectorId: 1, expiryDate: '2030-01-01T00:00:00Z', idTag: 'A', reservationId: 1 }],
  ['CancelReservation', { reservationId: 1 }],
  ['UpdateFirmware', { location: 'http://example.com/fw', retrieveDate: '2030-01-01T00:00:00Z' }],
  // loopback, a closed port: the upload fails at once and nothing leaves the machine
  ['GetDiagnostics', { location: 'ftp://127.0.0.1:1/', retries: 0 }],
  ['GetLog', { logType: 'DiagnosticsLog', requestId: 1, log: { remoteLocation: 'ftp://127.0.0.1:1/' }, retries: 0 }],
];
const ACTIONS = [...new Set(VALID_CALLS.map(([a]) => a))];
/** Actions of profiles evsed does not implement (Firmware Management): answered NotSupported. */
const UNSUPPORTED = new Set<string>([]);
/** OCPP 1.6J §4.2.3 error codes. */
const OCPP16_CODES = new Set(['NotImplemented', 'NotSupported', 'InternalError', 'ProtocolError', 'SecurityError', 'FormationViolation', 'PropertyConstraintViolation', 'OccurenceConstraintViolation', 'OccurrenceConstraintViolation', 'TypeConstraintViolation', 'GenericError']);
/** Codes that say the station itself failed (a handler threw or produced an invalid answer). */
const STATION_FAULT_CODES = new Set(['InternalError', 'GenericError']);
const MAX_FRAME = 512 * 1024;

interface Frame {
  how: string;
  data: string | Buffer;
  binary?: boolean;
  /** Set when the frame is an unmutated valid CALL of this action. */
  valid?: string;
}

let idCounter = 0;
const nextId = () => `fz${(idCounter++).toString(36)}`;

function generate(rng: Rng): Frame {
  const [action, params] = rng.pick(VALID_CALLS);
  const k = rng.int(100);
  if (k < 10) return { how: 'valid CALL', data: JSON.stringify([2, nextId(), action, params]), valid: action };
  if (k < 45) return { how: `mutated params of ${action}`, data: JSON.stringify([2, nextId(), action, mutateValue(rng, params, rng.range(1, 4))]) };
  if (k < 55) {
    // wrong or unknown action names
    const a = rng.pick([mutateText(rng, action, 1), action.toLowerCase(), randomString(rng, rng.range(0, 30)), rng.pick(ACTIONS) + ' ', 'BootNotification', 'Heartbeat', 'StartTransaction', '__proto__', 'constructor']);
    return { how: 'other action name', data: JSON.stringify([2, nextId(), a, params]) };
  }
  if (k < 70) {
    // frame structure mutated: type, id, action, params, arity
    const frame: unknown[] = [2, nextId(), action, params];
    switch (rng.int(8)) {
      case 0: frame[0] = rng.pick([0, 1, 5, -1, 2.5, '2', null, 2 ** 53, [2]]); break;
      case 1: frame[1] = rng.pick([1, null, {}, [], '', 'x'.repeat(rng.pick([37, 1000, 70_000])), true]); break;
      case 2: frame[2] = rng.pick([null, 1, {}, [], '', true]); break;
      case 3: frame[3] = rng.pick([null, [], 'text', 0, true, [params]]); break;
      case 4: frame.length = rng.range(0, 3); break;
      case 5: frame.push(randomValue(rng, 2)); break;
      case 6: return { how: 'mutated frame', data: JSON.stringify(mutateValue(rng, frame, rng.range(1, 3))) ?? 'null' };
      default: return { how: 'not an array', data: JSON.stringify(rng.chance(0.5) ? { 0: 2, 1: nextId(), 2: action, 3: params } : randomValue(rng, 2)) ?? 'null' };
    }
    return { how: 'frame structure', data: JSON.stringify(frame) };
  }
  if (k < 82) return { how: `text-mutated ${action}`, data: mutateText(rng, JSON.stringify([2, nextId(), action, params]), rng.range(1, 3)) };
  if (k < 90) {
    // answers to calls the station never made: no reply allowed
    const res = rng.chance(0.5) ? [3, rng.chance(0.8) ? nextId() : randomValue(rng, 1), randomValue(rng, 2)] : [4, nextId(), rng.pick(['GenericError', 'NotImplemented', 'x', 1]), 'desc', {}];
    return { how: 'unsolicited CALLRESULT/CALLERROR', data: JSON.stringify(res) };
  }
  if (k < 95) return { how: 'garbage text', data: rng.chance(0.1) ? '' : randomString(rng, rng.range(1, 80)) };
  if (k < 97) return { how: 'deep JSON', data: `[2,"${nextId()}","${action}",${'{"a":'.repeat(rng.pick([50, 2000])) + '1' + '}'.repeat(rng.pick([50, 2000]))}]` };
  if (k < 98) return { how: 'binary frame', data: randomBytes(rng, rng.range(1, 64)), binary: true };
  if (k < 99) return { how: 'invalid UTF-8 text frame', data: Buffer.concat([Buffer.from(`[2,"${nextId()}","DataTransfer",{"vendorId":"`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}]')]) };
  return { how: 'oversized frame', data: JSON.stringify([2, nextId(), 'DataTransfer', { vendorId: 'x', data: 'y'.repeat(MAX_FRAME + 10) }]) };
}

/** What the station must do with a frame, from the frame alone (OCPP-J framing rules). */
function expectation(f: Frame): { reply: false } | { reply: true; id: string | null; isCall: boolean } | { closes: true } {
  if (Buffer.isBuffer(f.data) && !f.binary) return { closes: true }; // invalid UTF-8 in a text frame: WebSocket 1007
  if (Buffer.byteLength(f.data) > MAX_FRAME) return { closes: true };
  // What arrives: a text frame is UTF-8, so a lone surrogate in the string arrives as U+FFFD.
  const text = Buffer.isBuffer(f.data) ? f.data.toString('utf8') : Buffer.from(f.data, 'utf8').toString('utf8');
  if (!text.length) return { reply: false };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { reply: true, id: null, isCall: false };
  }
  if (!Array.isArray(v) || typeof v[0] !== 'number') return { reply: true, id: null, isCall: false };
  if (v[0] === 3 || v[0] === 4) return { reply: false };
  if (v[0] !== 2) return { reply: true, id: null, isCall: false };
  if (typeof v[1] !== 'string') return { reply: true, id: null, isCall: false };
  return { reply: true, id: v[1], isCall: typeof v[2] === 'string' };
}

class FuzzCsms {
  readonly server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: false });
  client: any = null;
  connects = 0;
  heartbeats = 0;
  private waiters: ((msg: unknown[] | 'closed') => void)[] = [];
  private txId = 1;

  constructor() {
    this.server.on('client', (client: any) => {
      this.client = client;
      this.connects++;
      client.on('message', ({ message, outbound }: { message: string; outbound: boolean }) => {
        if (outbound) return;
        let m: unknown;
        try {
          m = JSON.parse(message);
        } catch {
          return;
        }
        if (Array.isArray(m) && (m[0] === 3 || m[0] === 4)) for (const w of this.waiters.splice(0)) w(m);
      });
      client.on('close', () => {
        if (this.client === client) this.client = null;
        for (const w of this.waiters.splice(0)) w('closed');
      });
      client.handle(({ method, params }: { method: string; params: any }) => {
        const now = new Date().toISOString();
        switch (method) {
          case 'BootNotification': return { status: 'Accepted', currentTime: now, interval: 300 };
          case 'Heartbeat': this.heartbeats++; return { currentTime: now };
          case 'Authorize': return { idTagInfo: { status: 'Accepted' } };
          case 'StartTransaction': return { transactionId: this.txId++, idTagInfo: { status: 'Accepted' } };
          case 'StopTransaction': return params?.idTag ? { idTagInfo: { status: 'Accepted' } } : {};
          default: return {};
        }
      });
    });
  }

  async listen(): Promise<number> {
    const http = await this.server.listen(0, '127.0.0.1');
    return (http.address() as AddressInfo).port;
  }

  /** Send one frame; resolve with the station's next CALLRESULT/CALLERROR, 'closed', or 'timeout'. */
  send(f: Frame, waitMs: number | null): Promise<unknown[] | 'closed' | 'timeout' | 'sent'> {
    const c = this.client;
    if (!c) return Promise.resolve('closed');
    const answered = waitMs === null ? null : new Promise<unknown[] | 'closed' | 'timeout'>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), waitMs);
      this.waiters.push((m) => (clearTimeout(t), resolve(m)));
    });
    if (f.binary || Buffer.isBuffer(f.data)) c._ws.send(f.data, { binary: !!f.binary });
    else c.sendRaw(f.data);
    return answered ?? Promise.resolve('sent');
  }

  async close(): Promise<void> {
    await this.server.close({ force: true, awaitPending: false }).catch(() => undefined);
  }
}

describe('inbound OCPP frame fuzzing against an in-process daemon', () => {
  let dir: string;
  let daemon: Daemon;
  const csms = new FuzzCsms();

  beforeAll(async () => {
    const port = await csms.listen();
    dir = tempDir('evsed-fuzz-ocpp-');
    const file = writeSimConfig(dir, {
      authMode: 'ocpp' as 'local',
      extra: `ocpp:\n  version: "1.6"\n  url: ws://127.0.0.1:${port}/ocpp\n  reconnectMinS: 0.05\n  reconnectMaxS: 0.2\n  callTimeoutS: 5\n  keys: { HeartbeatInterval: 300, MeterValueSampleInterval: 0 }\n`,
    });
    daemon = await startDaemon(loadConfig(file), silentLogger());
    await until(() => csms.client && csms.heartbeats >= 0 && csms.connects >= 1, 'station connected');
  });

  afterAll(async () => {
    await daemon?.stop();
    await csms.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every valid CALL of a supported action gets a CALLRESULT with its id; an unsupported action a NotSupported CALLERROR', async () => {
    for (const [i, [action, params]] of VALID_CALLS.entries()) {
      if (!csms.client) await until(() => csms.client, 'station connected', 30_000);
      const id = `valid-${i}`;
      const out = await csms.send({ how: 'valid CALL', data: JSON.stringify([2, id, action, params]) }, 10_000);
      if (UNSUPPORTED.has(action)) expect(out, `${action} ${JSON.stringify(params)}`).toEqual([4, id, 'NotSupported', expect.any(String), expect.anything()]);
      else expect(out, `${action} ${JSON.stringify(params)}`).toEqual([3, id, expect.any(Object)]);
    }
  });

  it('random and mutated frames: a CALLRESULT or a CALLERROR with an OCPP 1.6 code (never InternalError) for every CALL, no crash, no hang; Heartbeat on trigger afterwards', async () => {
    const t0 = performance.now();
    const seed = fuzzSeed();
    const cases = fuzzCount(2_000, 100_000);
    banner('inbound OCPP frames', seed, cases);
    const rng = new Rng(seed);
    const found = new Findings();
    const tally = { callResult: 0, callError: 0, noReplyExpected: 0, closes: 0, validSupportedCalls: 0 };
    const codes = new Map<string, number>();
    for (let i = 0; i < cases; i++) {
      if (!csms.client) await until(() => csms.client, `station reconnected (case ${i})`, 30_000);
      const f = generate(rng.fork());
      const exp = expectation(f);
      const example = () => `case ${i} (${f.how}): ${Buffer.isBuffer(f.data) ? `<bytes ${f.data.toString('hex').slice(0, 60)}>` : f.data.slice(0, 200)}`;
      if ('closes' in exp) {
        const out = await csms.send(f, 10_000);
        if (out === 'closed') tally.closes++;
        else found.add(`${f.how}: expected the station to close the socket, got ${JSON.stringify(out).slice(0, 60)}`, example());
        continue;
      }
      if (!exp.reply) {
        tally.noReplyExpected++;
        await csms.send(f, null);
        continue;
      }
      const out = await csms.send(f, 10_000);
      if (out === 'closed') {
        // ocpp-rpc closes after 20 bad messages in a row (maxBadMessages): a clean close, the station reconnects.
        tally.closes++;
        continue;
      }
      if (out === 'timeout' || out === 'sent') {
        found.add(`${f.how.split(' ')[0]}: no answer within 10 s (hang)`, example());
        continue;
      }
      const [type, id, a, b] = out;
      const wantId = exp.id ?? '-1';
      if (id !== wantId) found.add(`answer carries message id ${JSON.stringify(id).slice(0, 20)} instead of ${exp.id === null ? '"-1"' : 'the CALL\'s'}`, example());
      if (f.valid && !UNSUPPORTED.has(f.valid)) {
        tally.validSupportedCalls++;
        if (type !== 3) found.add(`valid ${f.valid} answered with a CALLERROR ${String(a)} instead of a CALLRESULT`, example());
      }
      if (type === 3) {
        tally.callResult++;
        if (!exp.isCall) found.add('CALLRESULT to a frame that is not a CALL', example());
      } else {
        tally.callError++;
        const code = String(a);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (STATION_FAULT_CODES.has(code)) found.add(`CALLERROR ${code} (the station failed): ${String(b).slice(0, 80)}`, example());
        else if (!OCPP16_CODES.has(code)) found.add(`CALLERROR ${code} is not an OCPP 1.6 error code: ${String(b).slice(0, 50)}`, example());
      }
      if (i % 1000 === 999 && !daemon.station.view().connectors.length) found.add('station view broken', example());
    }

    // Afterwards: a plain TriggerMessage(Heartbeat) still works.
    if (!csms.client) await until(() => csms.client, 'station reconnected', 30_000);
    const restore = await csms.send({ how: 'restore', data: JSON.stringify([2, 'restore', 'ChangeConfiguration', { key: 'HeartbeatInterval', value: '300' }]) }, 10_000);
    const before = csms.heartbeats;
    const trig = await csms.send({ how: 'final trigger', data: JSON.stringify([2, 'final', 'TriggerMessage', { requestedMessage: 'Heartbeat' }]) }, 10_000);
    console.log(`[fuzz] inbound OCPP frames: ${JSON.stringify(tally)}, CALLERROR codes ${JSON.stringify(Object.fromEntries(codes))}, connections ${csms.connects}`);
    expect(Array.isArray(restore) && restore[0]).toBe(3);
    expect(trig).toEqual([3, 'final', { status: 'Accepted' }]);
    await until(() => csms.heartbeats > before, 'Heartbeat after TriggerMessage');
    const report = found.report();
    summary('ocpp-fuzz', { seed, cases, ...tally, callErrorCodes: Object.fromEntries([...codes].sort((x, y) => y[1] - x[1])), connections: csms.connects, findings: report.length, durationS: secondsSince(t0) });
    expect(report, `seed ${seed}`).toEqual([]);
  }, 3_600_000);
});
