import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { api, spawnDaemon, tempDir, until, writeSimConfig, type DaemonProcess } from '../support/station.js';
import { Csms, freePort, waitFor } from './csms.js';

/**
 * The daemon as a real child process (`node dist/src/cli/main.js run`, after `npm run build`) against
 * the CSMS fixture: SIGKILL during a transaction and during queue replay, then exactly-once delivery
 * of every transaction message the CSMS answered.
 */
let csms: Csms | undefined;
let daemons: DaemonProcess[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const d of daemons) if (d.proc.exitCode === null) await d.kill();
  await csms?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  daemons = [];
  dirs = [];
});

function config(port: number, keys: Record<string, unknown>): string {
  const dir = tempDir('evsed-ocpp-e2e-');
  dirs.push(dir);
  return writeSimConfig(dir, {
    authMode: 'ocpp' as 'local',
    extra: `ocpp:
  version: "1.6"
  url: ws://127.0.0.1:${port}/ocpp
  reconnectMinS: 0.05
  reconnectMaxS: 0.3
  callTimeoutS: 5
  keys: ${JSON.stringify({ HeartbeatInterval: 300, ...keys })}
`,
  });
}

async function spawn(file: string): Promise<DaemonProcess> {
  const d = await spawnDaemon(file);
  daemons.push(d);
  return d;
}

const txActions = ['StartTransaction', 'StopTransaction', 'MeterValues'];

/** Each transaction message payload the CSMS answered, in answer order. */
function txRowsQueued(dbFile: string): number {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ocpp_queue WHERE action IN (${txActions.map(() => '?').join(',')})`).get(...txActions) as { n: number }).n;
  } finally {
    db.close();
  }
}

function answeredLog(c: Csms): { answered: { action: string; params: any }[] } {
  const answered: { action: string; params: any }[] = [];
  for (const a of txActions) {
    c.responders.set(a, (params) => {
      const reply = c.defaults(a, params);
      answered.push({ action: a, params });
      return reply;
    });
  }
  return { answered };
}

describe('daemon process with OCPP', () => {
  it('SIGKILL during a transaction: after the restart exactly one StopTransaction (PowerLoss) with the CSMS transactionId', async () => {
    csms = new Csms();
    const port = await csms.listen();
    const { answered } = answeredLog(csms);
    const file = config(port, { MeterValueSampleInterval: 1 });
    let d = await spawn(file);
    await waitFor(() => csms!.of('StatusNotification').length >= 2, 'boot accepted and status sent');
    await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
    expect((await api(d.url, '/api/connectors/1/tag', { idTag: 'TAG-1' })).body).toMatchObject({ status: 'Accepted', source: 'ocpp' });
    await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
    await waitFor(() => answered.filter((x) => x.action === 'MeterValues').length >= 2, 'two periodic meter values answered');
    // Kill while a MeterValues is in flight and unanswered (killing right after an answer left the CSMS
    // would test the one window OCPP 1.6 cannot close: answered, but not yet committed by the station).
    const answerMv = csms.responders.get('MeterValues')!;
    let inFlight = false;
    csms.responders.set('MeterValues', () => {
      inFlight = true;
      return new Promise(() => undefined);
    });
    await waitFor(() => inFlight, 'a meter value in flight');
    await d.kill();
    csms.responders.set('MeterValues', answerMv);

    d = await spawn(file);
    const stop = await waitFor(() => answered.find((x) => x.action === 'StopTransaction'), 'StopTransaction after restart');
    const status = await until(async () => {
      const s = (await api(d.url, '/api/status')).body.ocpp;
      return s.queue.length === 0 ? s : null;
    }, 'queue empty');
    expect(status.connected).toBe(true);
    const starts = answered.filter((x) => x.action === 'StartTransaction');
    expect(starts).toHaveLength(1);
    expect(answered.filter((x) => x.action === 'StopTransaction')).toHaveLength(1);
    expect(stop.params).toMatchObject({ transactionId: 100, reason: 'PowerLoss' });
    expect(stop.params.meterStop).toBeGreaterThanOrEqual(starts[0]!.params.meterStart);
    const mv = answered.filter((x) => x.action === 'MeterValues');
    expect(mv.every((m) => m.params.transactionId === 100)).toBe(true);
    const keys = mv.map((m) => JSON.stringify(m.params));
    expect(new Set(keys).size).toBe(keys.length);
    // the one in flight at the kill was received twice (same payload) and answered once
    expect(csms.of('MeterValues')).toHaveLength(mv.length + 1);
    expect(csms.of('BootNotification')).toHaveLength(2);
  });

  /** Boot, plug, present TAG-1, charge until the CSMS answered the StartTransaction. */
  async function charging(keys: Record<string, unknown> = {}): Promise<{ d: DaemonProcess; file: string; answered: { action: string; params: any }[] }> {
    csms = new Csms();
    const port = await csms.listen();
    const { answered } = answeredLog(csms);
    const file = config(port, keys);
    const d = await spawn(file);
    await waitFor(() => csms!.of('StatusNotification').length >= 2, 'boot accepted and status sent');
    await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
    expect((await api(d.url, '/api/connectors/1/tag', { idTag: 'TAG-1' })).body).toMatchObject({ status: 'Accepted', source: 'ocpp' });
    await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
    await waitFor(() => answered.find((x) => x.action === 'StartTransaction'), 'StartTransaction answered');
    return { d, file, answered };
  }

  it('SIGTERM (service stop/restart) ends the transaction with reason Reboot', async () => {
    const { d, file, answered } = await charging();
    // The EV went to C right after the offer: Preparing → Charging, no SuspendedEV blip in between.
    await waitFor(() => csms!.of('StatusNotification').some((s) => s.status === 'Charging'), 'Charging');
    expect(csms!.of('StatusNotification').filter((s) => s.connectorId === 1).map((s) => s.status)).toEqual(['Available', 'Preparing', 'Charging']);
    expect(await d.stop()).toBe(0);
    // The socket ended with a close frame (1001 going away), not dropped (1006).
    expect(csms!.closes.map((c) => c.code)).toEqual([1001]);
    // delivered before the exit or, at the latest, after the next start
    const d2 = await spawn(file);
    const stop = await waitFor(() => answered.find((x) => x.action === 'StopTransaction'), 'StopTransaction');
    expect(stop.params).toMatchObject({ transactionId: 100, reason: 'Reboot' });
    await until(async () => (await api(d2.url, '/api/status')).body.ocpp.queue.length === 0, 'queue empty');
    expect(answered.filter((x) => x.action === 'StopTransaction')).toHaveLength(1);
  });

  for (const type of ['Soft', 'Hard'] as const) {
    it(`Reset ${type}: StopTransaction reason ${type}Reset, the daemon restarts in-process and boots again`, async () => {
      const { d, answered } = await charging();
      if (type === 'Soft') {
        // A CSMS slow to answer the Finishing StatusNotification: the StopTransaction queued behind
        // it must still go out before the socket closes for the restart.
        csms!.responders.set('StatusNotification', async (p) => {
          if (p.status === 'Finishing') await new Promise((r) => setTimeout(r, 2500));
          return {};
        });
      }
      expect(await csms!.call('Reset', { type })).toEqual({ status: 'Accepted' });
      const stop = await waitFor(() => answered.find((x) => x.action === 'StopTransaction'), 'StopTransaction', 20_000);
      expect(stop.params).toMatchObject({ transactionId: 100, reason: `${type}Reset` });
      await waitFor(() => csms!.of('BootNotification').length === 2, 'BootNotification after the restart', 20_000);
      if (type === 'Soft') {
        // S16 §5.14 / E16 §3.36: a soft reset stops the transaction gracefully and sends
        // StopTransaction before restarting (OCTT TC_015's either order is for Hard only).
        const stopAt = csms!.received.findIndex((r) => r.action === 'StopTransaction');
        expect(csms!.closes.length).toBeGreaterThanOrEqual(1);
        expect(stopAt).toBeLessThan(csms!.closes[0]!.after);
        // One Finishing, not one per view change while the first waited for its answer.
        expect(csms!.received.slice(0, csms!.closes[0]!.after).filter((r) => r.action === 'StatusNotification' && r.params.status === 'Finishing').length).toBe(1);
      }
      // After the new boot: status of connector 0 and 1 again. The EV is still plugged in (a reset
      // reboots the station, not the car park): Preparing or Finishing, never Available (S16 §4.9).
      const afterBoot = () => {
        const boot2 = csms!.received.findLastIndex((r) => r.action === 'BootNotification');
        return csms!.received.slice(boot2).filter((r) => r.action === 'StatusNotification' && r.params.connectorId === 1).map((r) => r.params.status as string);
      };
      await waitFor(() => afterBoot().length >= 1, 'status of connector 1 after the restart', 20_000);
      await new Promise((r) => setTimeout(r, 300)); // nothing else may follow: the EV does not leave
      expect(afterBoot().length).toBeGreaterThanOrEqual(1);
      for (const status of afterBoot()) expect(['Preparing', 'Finishing']).toContain(status);
      expect(d.proc.exitCode).toBeNull(); // the same process: an in-process restart
      expect(d.lines.some((l) => l.includes('reset: restarting the daemon'))).toBe(true);
      expect(answered.filter((x) => x.action === 'StopTransaction')).toHaveLength(1);
      expect(answered.filter((x) => x.action === 'StartTransaction')).toHaveLength(1);
    });
  }

  it('SIGKILL during queue replay: every message is answered exactly once, in order', async () => {
    const port = await freePort();
    const file = config(port, { MeterValueSampleInterval: 1, AllowOfflineTxForUnknownId: true });
    let d = await spawn(file);
    // an offline session: the CSMS is down throughout
    await api(d.url, '/api/connectors/1/sim', { action: 'plug' });
    expect((await api(d.url, '/api/connectors/1/tag', { idTag: 'OFFLINE-1' })).body).toMatchObject({ status: 'Accepted', source: 'offline' });
    await api(d.url, '/api/connectors/1/sim', { action: 'ev-ready' });
    await until(async () => (await api(d.url, '/api/status')).body.ocpp.queue.length >= 5, 'start + meter values queued', 15_000);
    await api(d.url, '/api/connectors/1/sim', { action: 'unplug' });
    await until(async () => (await api(d.url, '/api/status')).body.connectors[0].session === null, 'session stopped');
    // the transaction messages queued (the queue also holds security events), read from the store itself
    const queued = txRowsQueued(join(dirname(file), 'data', 'evsed.db'));

    csms = new Csms();
    const { answered } = answeredLog(csms);
    // hold the answer to the 3rd transaction message: the daemon dies while it is in flight
    let seen = 0;
    const held = new Promise(() => undefined);
    for (const a of txActions) {
      const answer = csms.responders.get(a)!;
      csms.responders.set(a, (p, id) => (++seen === 3 ? held : answer(p, id)));
    }
    await csms.listen(port);
    await waitFor(() => seen >= 3, 'replay reached the 3rd message');
    await d.kill();
    expect(answered).toHaveLength(2);

    d = await spawn(file);
    await until(async () => (await api(d.url, '/api/status')).body.ocpp.queue.length === 0, 'replay finished', 20_000);
    expect(answered).toHaveLength(queued);
    const keys = answered.map((x) => `${x.action}:${JSON.stringify({ ...x.params, transactionId: undefined })}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(answered[0]!.action).toBe('StartTransaction');
    expect(answered[answered.length - 1]!.action).toBe('StopTransaction');
    expect(answered.slice(1).every((x) => x.params.transactionId === 100)).toBe(true);
    // timestamps of the event, not of the delivery, and in order
    const times = answered.map((x) => Date.parse(x.params.timestamp ?? x.params.meterValue[0].timestamp));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // the message in flight at the kill was received twice (identical payload), answered once
    const received = csms.received.filter((x) => txActions.includes(x.action));
    expect(received).toHaveLength(queued + 1);
  });
});
