import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { discoveryMessages } from '../../src/telemetry/discovery.js';
import { readerState } from '../../src/telemetry/state.js';
import { Topics } from '../../src/telemetry/topics.js';
import type { Daemon } from '../../src/daemon.js';
import { AedesBroker, freePort, STATION_ID, startTestDaemon, Subscriber, tempDir } from './helpers.js';

describe('card readers in MQTT', () => {
  it('a reader in fault is a problem of the reader: ON with the reason; OFF when it reads', () => {
    expect(Object.fromEntries(readerState({ id: 'door', state: 'fault', fault: 'cannot open /dev/x' }))).toEqual({ problem: 'ON', state: 'fault', fault: 'cannot open /dev/x' });
    expect(Object.fromEntries(readerState({ id: 'door', state: 'ok', fault: null }))).toEqual({ problem: 'OFF', state: 'ok', fault: '' });
  });

  it('Home Assistant gets a diagnostic problem binary_sensor per reader', () => {
    const msgs = discoveryMessages({
      topics: new Topics('evsed', 'CP.1'),
      discoveryPrefix: 'homeassistant',
      station: { id: 'CP.1', vendor: 'ACME', model: 'Box', firmwareVersion: '0.1.0' },
      version: '0.1.0',
      connectors: [{ id: 1, phases: 3, maxCurrentA: 32 }],
      commands: false,
      readers: [{ id: 'door' }, { id: 'gate-2' }],
    });
    const byTopic = new Map(msgs.map((m) => [m.topic, m.payload]));
    expect(JSON.parse(byTopic.get('homeassistant/binary_sensor/evsed_CP_1/reader_door_problem/config')!)).toMatchObject({
      name: 'Reader door', device_class: 'problem', entity_category: 'diagnostic', state_topic: 'evsed/CP.1/reader/door/problem', payload_on: 'ON', payload_off: 'OFF', unique_id: 'evsed_CP_1_reader_door_problem',
    });
    expect(byTopic.has('homeassistant/binary_sensor/evsed_CP_1/reader_gate_2_problem/config')).toBe(true);
  });

  describe('through the daemon and a broker (aedes)', () => {
    const cleanups: (() => Promise<unknown> | unknown)[] = [];
    afterEach(async () => {
      for (const c of cleanups.reverse()) await c();
      cleanups.length = 0;
    });

    it('an unplugged keyboard reader is published as a problem with its reason; the connector has no fault', async () => {
      const tmp = tempDir();
      cleanups.push(() => tmp.cleanup());
      const broker = new AedesBroker(await freePort());
      await broker.start();
      cleanups.push(() => broker.stop());
      const d: Daemon = await startTestDaemon(
        tmp.dir,
        `mqtt: { url: "${broker.url}" }`,
        silentLogger(),
        'readers:\n  - { id: door, driver: keyboard, device: /dev/input/by-id/usb-not-plugged-in-event-kbd }\n',
      );
      cleanups.push(() => d.stop());
      const sub = await Subscriber.open(broker.url, ['evsed/#', 'homeassistant/#']);
      cleanups.push(() => sub.close());
      const base = `evsed/${STATION_ID}`;
      await sub.waitFor(`${base}/reader/door/problem`, (p) => p === 'ON');
      expect(await sub.waitFor(`${base}/reader/door/fault`)).toMatch(/usb-not-plugged-in-event-kbd: no such device/);
      await sub.waitFor(`homeassistant/binary_sensor/evsed_${STATION_ID}/reader_door_problem/config`);
      expect(await sub.waitFor(`${base}/connector/1/fault`)).toBe('OFF');
      expect(await sub.waitFor(`${base}/connector/1/state`)).toBe('Available');
    });
  });
});
