import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { implausibleWallTime } from '../../src/hal/clock.js';
import { RELEASE_DATE } from '../../src/domain/version.js';
import { accepted, rig, waitFor, type Rig } from './harness.js';

/**
 * What the CSMS sets is bounded where it drives writes to the SD card or the clock (issue 12):
 * intervals under a documented floor are Rejected (the spec allows Rejected for a value out of
 * range), and an implausible CSMS time never moves the clock and is logged as a security event.
 */
let r: Rig | undefined;
afterEach(async () => {
  await r?.cleanup();
  r = undefined;
});

function capture() {
  const lines: Record<string, any>[] = [];
  return { log: pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) }), lines };
}

const value = async (rg: Rig, key: string) => (await rg.csms.call('GetConfiguration', { key: [key] })).configurationKey[0].value;

describe('intervals the CSMS sets have a floor', () => {
  it('ClockAlignedDataInterval=1 is Rejected and changes nothing; 0 (off) and the floor (60) are Accepted', async () => {
    r = await rig();
    await accepted(r);
    expect(await r.csms.call('ChangeConfiguration', { key: 'ClockAlignedDataInterval', value: '1' })).toEqual({ status: 'Rejected' });
    expect(await r.csms.call('ChangeConfiguration', { key: 'ClockAlignedDataInterval', value: '59' })).toEqual({ status: 'Rejected' });
    expect(await value(r, 'ClockAlignedDataInterval')).toBe('0');
    expect(r.db.prepare("SELECT count(*) FROM ocpp_keys WHERE key = 'ClockAlignedDataInterval'").pluck().get()).toBe(0);
    await new Promise((res) => setTimeout(res, 1500));
    expect(r.csms.of('MeterValues')).toEqual([]); // nothing queued or sent at 1 s
    expect(await r.csms.call('ChangeConfiguration', { key: 'ClockAlignedDataInterval', value: '60' })).toEqual({ status: 'Accepted' });
    expect(await r.csms.call('ChangeConfiguration', { key: 'ClockAlignedDataInterval', value: '0' })).toEqual({ status: 'Accepted' });
  });

  it('MeterValueSampleInterval and HeartbeatInterval below 10 s are Rejected; 10 s is Accepted', async () => {
    r = await rig();
    await accepted(r);
    for (const key of ['MeterValueSampleInterval', 'HeartbeatInterval']) {
      const before = await value(r, key);
      expect(await r.csms.call('ChangeConfiguration', { key, value: '1' })).toEqual({ status: 'Rejected' });
      expect(await r.csms.call('ChangeConfiguration', { key, value: '9' })).toEqual({ status: 'Rejected' });
      expect(await value(r, key)).toBe(before);
      expect(await r.csms.call('ChangeConfiguration', { key, value: '10' })).toEqual({ status: 'Accepted' });
    }
  });

  it('a value under the floor stored by a CSMS earlier (before the floors) is not applied after a restart, and the log says so', async () => {
    const { log, lines } = capture();
    r = await rig({ log });
    await accepted(r);
    r.db.prepare("INSERT OR REPLACE INTO ocpp_keys (key, value) VALUES ('ClockAlignedDataInterval', '1')").run();
    await r.restart();
    await accepted(r);
    expect(await value(r, 'ClockAlignedDataInterval')).toBe('0');
    expect(lines.some((l) => l.key === 'ClockAlignedDataInterval' && /not applied/.test(l.msg))).toBe(true);
  });

  it('the installer may set lower values in the config file (a test bench): only the CSMS is bounded', async () => {
    r = await rig({ keys: { ClockAlignedDataInterval: 1 } });
    await accepted(r);
    expect(await value(r, 'ClockAlignedDataInterval')).toBe('1');
  });

  it('a BootNotification interval under the floor becomes the floor (10 s), logged', async () => {
    const { log, lines } = capture();
    r = await rig({ log, csmsDown: true });
    r.csms.responders.set('BootNotification', () => ({ status: 'Accepted', currentTime: new Date().toISOString(), interval: 1 }));
    await r.csms.listen(r.port);
    await accepted(r);
    expect(await value(r, 'HeartbeatInterval')).toBe('10');
    expect(lines.some((l) => l.interval === 1 && l.used === 10)).toBe(true);
  });
});

describe('an implausible CSMS time never moves the clock', () => {
  it(`a BootNotification currentTime in 2099 is ignored (clock not set) and logged as a security event`, async () => {
    const { log, lines } = capture();
    r = await rig({ trust: 'never', log, csmsDown: true });
    r.csms.responders.set('BootNotification', () => ({ status: 'Accepted', currentTime: '2099-01-01T00:00:00Z', interval: 300 }));
    await r.csms.listen(r.port);
    await accepted(r);
    expect(r.station.clock.quality()).toBe('unsynced');
    expect(Math.abs(r.station.clock.wallMs() - Date.now())).toBeLessThan(60_000);
    const event = lines.find((l) => l.securityEvent);
    expect(event).toMatchObject({ level: 40, securityEvent: 'InvalidCentralSystemTime', currentTime: '2099-01-01T00:00:00Z' });
    expect(event!.msg).toMatch(/2099.*ignored/);
  });

  it('a Heartbeat currentTime before this release is ignored and logged; a plausible one then sets the clock', async () => {
    const { log, lines } = capture();
    r = await rig({ trust: 'never', log, csmsDown: true });
    r.csms.responders.set('BootNotification', () => ({ status: 'Accepted', currentTime: '2001-09-09T01:46:40Z', interval: 300 }));
    r.csms.responders.set('Heartbeat', () => ({ currentTime: '2001-09-09T01:46:41Z' }));
    await r.csms.listen(r.port);
    await accepted(r);
    await r.csms.call('TriggerMessage', { requestedMessage: 'Heartbeat' });
    await waitFor(() => lines.filter((l) => l.securityEvent).length >= 2, 'two security events');
    expect(r.station.clock.quality()).toBe('unsynced');
    const now = Date.now() + 3_600_000;
    r.csms.responders.set('Heartbeat', () => ({ currentTime: new Date(now).toISOString() }));
    await r.csms.call('TriggerMessage', { requestedMessage: 'Heartbeat' });
    await waitFor(() => r!.station.clock.quality() === 'synced', 'clock set by a plausible time');
    expect(Math.abs(r.station.clock.wallMs() - now)).toBeLessThan(60_000);
  });

  it('implausibleWallTime: before the release date or more than 25 years after it', () => {
    const release = Date.parse(RELEASE_DATE);
    expect(implausibleWallTime(release - 1)).toMatch(/before this release/);
    expect(implausibleWallTime(release)).toBeUndefined();
    expect(implausibleWallTime(Date.parse('2040-06-01T00:00:00Z'))).toBeUndefined();
    expect(implausibleWallTime(Date.parse('2099-01-01T00:00:00Z'))).toMatch(/25 years after/);
    expect(implausibleWallTime(Date.now())).toBeUndefined();
  });
});
