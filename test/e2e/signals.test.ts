import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import { api, tempDir, until, writeSimConfig } from '../support/station.js';

/**
 * The simulated light follows the station end to end (plug, card, charge, stop, unplug, fault),
 * as GET /api/status shows it; a refused and an accepted card signal differently.
 */

const SIGNALS = `readers:
  - { id: door, driver: sim }
signals:
  light: { driver: sim }
  buzzer: { driver: sim }
  feedbackMs: 300
`;

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

async function start() {
  const d = await startDaemon(loadConfig(writeSimConfig(tempDir(), { authMode: 'local', tags: ['TAG-1'], extra: SIGNALS })), silentLogger());
  daemon = d;
  return { d, base: `http://127.0.0.1:${d.address.port}`, ev: (d.hardware(1) as SimHardware).ev };
}

const signals = async (base: string) => (await api(base, '/api/status')).body.signals;

/** Waits until the light shows `text` (e.g. "green on") with no card answer over it. */
async function light(base: string, text: string, state: string): Promise<void> {
  await until(async () => {
    const s = await signals(base);
    return s.feedback === null && s.light.text === text && s.state === state;
  }, `the light to show ${text} for ${state}`);
}

describe('the simulated status light, end to end', () => {
  it('follows the states: available, preparing, charging, finishing, available, faulted', async () => {
    const { base, ev } = await start();
    const s0 = await signals(base);
    expect(s0).toMatchObject({ connectorId: 1, light: { driver: 'sim' }, buzzer: { driver: 'sim', lastSound: null } });
    await light(base, 'green on', 'Available');

    ev.plug();
    await light(base, 'cyan blink 1000 ms', 'Preparing');

    const accepted = await api(base, '/api/sim/readers/door/card', { idTag: 'TAG-1' });
    expect(accepted.body.outcome).toMatchObject({ status: 'Accepted' });
    const answer = await signals(base);
    expect(answer).toMatchObject({ feedback: 'accepted', light: { text: 'green blink 200 ms' }, buzzer: { lastSound: 'beep' } });

    ev.ready();
    await light(base, 'blue pulse 2000 ms', 'Charging');

    // The same card again (past the reader's same-card guard) stops the session.
    const clock = daemon!.station.clock as { monoMs(): number };
    const real = clock.monoMs.bind(clock);
    clock.monoMs = () => real() + 5000;
    const stop = await api(base, '/api/sim/readers/door/card', { idTag: 'TAG-1' });
    expect(stop.body.outcome).toMatchObject({ action: 'stopped' });
    await light(base, 'green blink 2000 ms', 'Finishing');

    ev.unplug();
    await light(base, 'green on', 'Available');

    const fault = await api(base, '/api/connectors/1/sim', { action: 'fault', kind: 'rcd' });
    expect(fault.status).toBe(200);
    await light(base, 'red blink 500 ms', 'Faulted');
    await api(base, '/api/connectors/1/sim', { action: 'clear-fault', kind: 'rcd' });
  });

  it('a refused card blinks red and double-beeps; an accepted one blinks green and beeps once', async () => {
    const { base, ev } = await start();
    ev.plug();
    await light(base, 'cyan blink 1000 ms', 'Preparing');
    const refused = await api(base, '/api/sim/readers/door/card', { idTag: 'STRANGER' });
    expect(refused.body.outcome).toMatchObject({ status: 'Invalid', action: 'rejected' });
    expect(await signals(base)).toMatchObject({ feedback: 'refused', light: { text: 'red blink 100 ms' }, buzzer: { lastSound: 'double' } });
    // Back to the state's pattern once the answer has shown.
    await light(base, 'cyan blink 1000 ms', 'Preparing');
    await api(base, '/api/sim/readers/door/card', { idTag: 'TAG-1' });
    expect(await signals(base)).toMatchObject({ feedback: 'accepted', light: { text: 'green blink 200 ms' }, buzzer: { lastSound: 'beep' } });
  });
});
