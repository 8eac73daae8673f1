import { afterEach, describe, expect, it } from 'vitest';
import { accepted, rig, waitFor, type Rig } from './harness.js';

let r: Rig;
afterEach(async () => {
  await r?.cleanup();
});

const durations = { durationMs: 0, chargingMs: 0, idleMs: 0, meterGapMs: 0 };

describe('delivery guarantees', () => {
  it('counts only CALLERRORs, waits RetryInterval × attempts, gives up after TransactionMessageAttempts and keeps the row visible; later messages use -1', async () => {
    r = await rig({ keys: { TransactionMessageAttempts: 2, TransactionMessageRetryInterval: 1 } });
    await accepted(r);
    r.csms.responders.set('StartTransaction', () => {
      throw Object.assign(new Error('database down'), { rpcErrorCode: 'InternalError' });
    });
    const s = r.station.startSession(1, 'T');
    await waitFor(() => r.cp.queue.stats().failed === 1, 'start given up');
    expect(r.csms.of('StartTransaction')).toHaveLength(2);
    const status = r.station.statusProviders.get('ocpp')!() as any;
    expect(status.queue.failed).toBe(1);
    expect(status.queue.failedMessages[0]).toMatchObject({ action: 'StartTransaction', sessionId: s.id, attempts: 2 });
    expect(status.lastCallError).toMatchObject({ action: 'StartTransaction' });
    await r.station.stopSession(1, 'Local');
    expect(await waitFor(() => r.csms.of('StopTransaction')[0], 'stop')).toMatchObject({ transactionId: -1, meterStop: 10_000 });
  });

  it('TransactionMessageRetryInterval: attempt n+1 follows attempt n after interval × n (S16 §3.7.1)', async () => {
    r = await rig({ keys: { TransactionMessageAttempts: 3, TransactionMessageRetryInterval: 1 } });
    await accepted(r);
    const at: number[] = [];
    r.csms.responders.set('StartTransaction', () => {
      at.push(performance.now());
      throw Object.assign(new Error('busy'), { rpcErrorCode: 'InternalError' });
    });
    r.station.startSession(1, 'T');
    await waitFor(() => r.cp.queue.stats().failed === 1, 'given up after 3 attempts');
    expect(at).toHaveLength(3);
    const [g1, g2] = [at[1]! - at[0]!, at[2]! - at[1]!];
    // 1 s, then 2 s (timer and round-trip slack: +700 ms at most, never early)
    expect(g1).toBeGreaterThanOrEqual(990);
    expect(g1).toBeLessThan(1700);
    expect(g2).toBeGreaterThanOrEqual(1990);
    expect(g2).toBeLessThan(2700);
  });

  it('a call that gets no answer forces a reconnect and the same payload is sent again, once, without spending an attempt', async () => {
    r = await rig({ keys: { TransactionMessageAttempts: 1 } });
    await accepted(r);
    let n = 0;
    r.csms.responders.set('StartTransaction', (p) => (n++ === 0 ? new Promise(() => undefined) : { transactionId: 1, idTagInfo: { status: 'Accepted' } }));
    r.station.startSession(1, 'T');
    await waitFor(() => r.csms.of('StartTransaction').length === 2, 'resent after reconnect', 20_000);
    await waitFor(() => r.cp.queue.stats().length === 0, 'delivered');
    const starts = r.csms.of('StartTransaction');
    expect(starts[1]).toEqual(starts[0]);
    expect(r.cp.queue.stats().failed).toBe(0);
    expect(r.cp.link.counters.timeouts).toBe(1);
    // no stale frame surfaces later
    await new Promise((res) => setTimeout(res, 300));
    expect(r.csms.of('StartTransaction')).toHaveLength(2);
    expect(r.csms.of('BootNotification')).toHaveLength(1);
  });

  it('a dropped connection does not spend attempts; after the reconnect the current status goes out, then the queue', async () => {
    r = await rig({ keys: { TransactionMessageAttempts: 1 } });
    await accepted(r);
    r.csms.responders.set('StartTransaction', (_p, id) => {
      r.csms.client(id)._ws.terminate();
      return new Promise(() => undefined);
    });
    r.station.startSession(1, 'T');
    await waitFor(() => r.csms.of('StartTransaction').length === 1, 'first try');
    r.csms.responders.delete('StartTransaction');
    r.station.setStatus(2, 'Preparing');
    const before = r.csms.received.length;
    await waitFor(() => r.csms.of('StartTransaction').length === 2, 'resent');
    await waitFor(() => r.cp.queue.stats().length === 0, 'delivered');
    const after = r.csms.received.slice(before).map((x) => `${x.action}:${x.params.connectorId ?? ''}:${x.params.status ?? ''}`);
    expect(after.slice(0, 4)).toEqual(['StatusNotification:0:Available', 'StatusNotification:1:Charging', 'StatusNotification:2:Preparing', 'StartTransaction:1:']);
    expect(r.cp.queue.stats().failed).toBe(0);
  });

  it('a session left open by a crash gives exactly one StopTransaction (PowerLoss), also across another restart', async () => {
    r = await rig({ csmsDown: true, keys: { AllowOfflineTxForUnknownId: true } });
    const s = r.station.startSession(1, 'PL');
    await r.restart();
    // core's recovery at boot
    r.station.sessions.stop(s.id, { meterStopWh: 10_250, reason: 'PowerLoss', at: r.station.clock.stamp(), recovered: true, ...durations });
    r.station.sessions.stop(s.id, { meterStopWh: 10_300, reason: 'PowerLoss', at: r.station.clock.stamp(), recovered: true, ...durations });
    await r.restart();
    await r.csms.listen(r.port);
    await waitFor(() => r.cp.queue.stats().length === 0, 'drained');
    expect(r.csms.received.filter((x) => x.action.endsWith('Transaction')).map((x) => `${x.action}:${x.params.reason ?? ''}:${x.params.meterStop ?? x.params.meterStart}`))
      .toEqual(['StartTransaction::10000', 'StopTransaction:PowerLoss:10250']);
  });

  it('events recorded before the clock was set are sent with corrected timestamps', async () => {
    r = await rig({ csmsDown: true, trust: 'never', keys: { AllowOfflineTxForUnknownId: true } });
    r.station.startSession(1, 'EARLY');
    const realStart = Date.now();
    const csmsTime = Date.UTC(2031, 5, 1, 12, 0, 0);
    r.csms.responders.set('BootNotification', () => ({ status: 'Accepted', currentTime: new Date(csmsTime + (Date.now() - realStart)).toISOString(), interval: 300 }));
    await r.csms.listen(r.port);
    const start = await waitFor(() => r.csms.of('StartTransaction')[0], 'start');
    const sent = Date.parse(start.timestamp);
    expect(sent).toBeGreaterThanOrEqual(csmsTime - 2000);
    expect(sent).toBeLessThanOrEqual(csmsTime + 1000);
    expect(start.timestamp).toMatch(/^2031-06-01T\d\d:\d\d:\d\dZ$/);
  });

  it('reports queue length, oldest age and thinned count in the status API', async () => {
    r = await rig({ csmsDown: true, ocpp: { maxQueuedMessages: 100 }, keys: { MeterValueSampleInterval: 1, AllowOfflineTxForUnknownId: true } });
    const s = r.station.startSession(1, 'Q');
    for (let i = 0; i < 150; i++) r.cp.queue.enqueue('MeterValues', s.id, { connectorId: 1, meterValue: [] }, r.station.clock.stamp(), true);
    const st = r.station.statusProviders.get('ocpp')!() as any;
    expect(st.connected).toBe(false);
    expect(st.boot).toBe('none');
    expect(st.queue.length).toBeLessThanOrEqual(100);
    expect(st.queue.thinned).toBeGreaterThan(0);
    expect(st.queue.oldestAgeS).toBeGreaterThanOrEqual(0);
  });
});

describe('connection supervision', () => {
  it('an unanswered Heartbeat forces a reconnect (the socket looked open, the CSMS was not listening)', async () => {
    // A 1 s heartbeat from the config file (a CSMS may not set less than 10 s); Boot interval 0 keeps it.
    r = await rig({ keys: { HeartbeatInterval: 1 } });
    r.csms.responders.set('BootNotification', () => ({ status: 'Accepted', currentTime: new Date().toISOString(), interval: 0 }));
    r.csms.responders.set('Heartbeat', () => new Promise(() => undefined));
    await accepted(r);
    await waitFor(() => r.cp.link.counters.timeouts >= 1 && r.cp.link.counters.connects >= 2, 'reconnected after the heartbeat timeout', 20_000);
    r.csms.responders.delete('Heartbeat');
    await waitFor(() => r.cp.online, 'online again');
    expect(r.csms.of('BootNotification')).toHaveLength(1);
  });

  it('keeps retrying when the CSMS refuses the WebSocket (HTTP 404, unknown station) and boots once it is let in', async () => {
    const { Csms } = await import('./csms.js');
    r = await rig({ csmsDown: true });
    const refusing = new Csms();
    let refused = 0;
    refusing.server.auth((accept: any, reject: any) => (refused++ < 3 ? reject(404, 'Not Found') : accept({})));
    r.csms = refusing;
    await refusing.listen(r.port);
    await waitFor(() => r.cp.online, 'accepted after the refusals');
    expect(refused).toBeGreaterThanOrEqual(4);
  });
});

describe('hostile CSMS', () => {
  async function hostile(): Promise<{ replies: string[]; send: (s: string) => void }> {
    r = await rig();
    await accepted(r);
    const c = r.csms.client();
    const replies: string[] = [];
    c._ws.on('message', (m: Buffer) => replies.push(m.toString()));
    return { replies, send: (s) => c._ws.send(s) };
  }

  it('answers malformed frames with the right CALLERROR and keeps working', async () => {
    const { replies, send } = await hostile();
    send('this is not json');
    send('{"an":"object"}');
    send('[9,"id-9","Heartbeat",{}]');
    send('[2,"id-1","FlyToTheMoon",{}]');
    send('[2,"id-2","RemoteStartTransaction",{"idTag":"0123456789012345678901234"}]');
    send('[2,"id-3","RemoteStartTransaction",{}]');
    send('[2,"id-4","ChangeAvailability",{"connectorId":1,"type":"Sideways"}]');
    send('[3,"no-such-call",{}]');
    await waitFor(() => replies.length >= 7, 'replies');
    const parsed = replies.map((x) => JSON.parse(x));
    expect(parsed.filter((p) => p[0] === 4).map((p) => [p[1], p[2]])).toEqual([
      // framing errors: ocpp-rpc's 2.0.1 codes rewritten to the 1.6 one (v16/call-errors.ts toOcpp16CallError)
      ['-1', 'FormationViolation'],
      ['-1', 'FormationViolation'],
      ['-1', 'FormationViolation'],
      ['id-1', 'NotImplemented'],
      ['id-2', 'FormationViolation'],
      // the spelling the OCPP-J 1.6 errata freeze (ocpp-rpc sends the corrected one; link.ts rewrites it)
      ['id-3', 'OccurenceConstraintViolation'],
      // an enum violation maps to FormatViolation, sent as the 1.6 spelling FormationViolation
      ['id-4', 'FormationViolation'],
    ]);
    expect(r.cp.link.counters.badMessages).toBeGreaterThan(0);
    expect(await r.csms.call('GetLocalListVersion', {})).toEqual({ listVersion: 0 });
  });

  it('a 1 MB frame closes the socket cleanly; the station reconnects without a new BootNotification', async () => {
    const { send } = await hostile();
    const connects = r.cp.link.counters.connects;
    send(JSON.stringify([2, 'big', 'DataTransfer', { vendorId: 'x', data: 'x'.repeat(1024 * 1024) }]));
    await waitFor(() => r.cp.link.counters.connects > connects && r.cp.online, 'reconnected');
    expect(await r.csms.call('DataTransfer', { vendorId: 'x' })).toEqual({ status: 'UnknownVendorId' });
    expect(r.csms.of('BootNotification')).toHaveLength(1);
  });

  it('a schema-violating reply to our call counts as a failed attempt, not a crash', async () => {
    r = await rig({ keys: { TransactionMessageAttempts: 1 } });
    await accepted(r);
    // CitrineOS once answered StartTransaction without transactionId/idTagInfo
    r.csms.server.reconfigure({ protocols: ['ocpp1.6'], strictMode: false, callTimeoutMs: 5000 });
    const connects = r.cp.link.counters.connects;
    r.cp.link.forceReconnect('test: reconnect to the non-strict CSMS');
    await waitFor(() => r.cp.link.counters.connects > connects && r.cp.online, 'reconnected');
    r.csms.responders.set('StartTransaction', () => ({ status: 'Accepted' }));
    r.station.startSession(1, 'T');
    await waitFor(() => r.cp.queue.stats().failed === 1, 'given up');
    expect(r.cp.link.counters.strictValidationFailures).toBeGreaterThan(0);
    expect(r.cp.online).toBe(true);
  });
});
