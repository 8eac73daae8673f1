import { afterEach, describe, expect, it } from 'vitest';
import { Link } from '../../src/ocpp/link.js';
import { silentLogger } from '../../src/log.js';
import { realTimeClock } from '../../src/hal/clock.js';
import { Csms, waitFor } from './csms.js';

/**
 * The link alone against the CSMS fixture, with short timings (the charge point's config allows a
 * call timeout of 5 s at least; the link itself takes any): a CSMS that accepts the WebSocket but
 * never answers must see reconnects spaced by a growing back-off, not a reconnect storm.
 */
let link: Link | undefined;
let csms: Csms | undefined;
afterEach(async () => {
  await link?.stop();
  await csms?.close();
  link = undefined;
});

describe('link back-off', () => {
  it('a watchdog-forced reconnect waits the jittered back-off, which grows while no call is answered and resets after an answer', async () => {
    csms = new Csms();
    const port = await csms.listen();
    const connectsAt: number[] = [];
    csms.server.on('client', () => connectsAt.push(performance.now()));
    let answer = false;
    let answered = 0;
    csms.responders.set('Heartbeat', () => (answer ? (answered++, { currentTime: new Date().toISOString() }) : new Promise(() => undefined)));
    link = new Link({
      url: `ws://127.0.0.1:${port}/ocpp`, identity: 'CP-TEST', securityProfile: 0, callTimeoutMs: 300, pingIntervalS: 0,
      reconnectMinMs: 200, reconnectMaxMs: 3200, protocol: 'ocpp1.6', clock: realTimeClock, log: silentLogger(),
    });
    const l = link;
    l.on('open', () => void l.call('Heartbeat', {}));
    l.start();
    await waitFor(() => connectsAt.length >= 4, 'four connections', 10_000);
    const gaps = connectsAt.slice(1, 4).map((t, i) => t - connectsAt[i]!);
    // each gap = call timeout (300) + back-off 200 × 2^k ± 25 %
    expect(gaps[0]).toBeGreaterThanOrEqual(300 + 150 - 30);
    expect(gaps[1]).toBeGreaterThanOrEqual(300 + 300 - 30);
    expect(gaps[2]).toBeGreaterThanOrEqual(300 + 600 - 30);
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!);
    expect(l.counters.timeouts).toBeGreaterThanOrEqual(3);
    expect(l.backoffAttempt).toBeGreaterThanOrEqual(3);

    // the CSMS answers: the back-off starts over
    answer = true;
    // Answered: the heartbeat of the connection open now (if it arrives after the switch) or of the next one.
    await waitFor(() => l.isOpen && answered > 0, 'an answered heartbeat', 10_000);
    await waitFor(() => l.backoffAttempt === 0, 'back-off reset');
    answer = false;
    const n = connectsAt.length;
    const t0 = performance.now();
    void l.call('Heartbeat', {});
    await waitFor(() => connectsAt.length > n, 'reconnect after the next timeout', 10_000);
    // 300 ms timeout + 200 ms ± 25 % (without the reset it would be ≥ 300 + 1200)
    expect(connectsAt[n]! - t0).toBeGreaterThanOrEqual(300 + 150 - 30);
    expect(connectsAt[n]! - t0).toBeLessThan(1300);
  });
});
