import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SseHub } from '../../src/api/sse.js';
import { silentLogger } from '../../src/log.js';

/** The hub on a small fake of the port: what it pushes when the station says a session changed. */
class FakeStation extends EventEmitter {
  running = true;
  energyWh = 100;
  view() {
    return { connectors: [this.connectorView(1)] };
  }
  connectorIds() {
    return [1];
  }
  /** No session for the hub's periodic push: what a test sees pushed is what the event caused. */
  sessionOn() {
    return undefined;
  }
  connectorView(id: number) {
    return { id, status: this.running ? 'Charging' : 'Available', session: this.running ? { id: 5, energyWh: this.energyWh } : null };
  }
}

let server: Server | undefined;
let hub: SseHub | undefined;
afterEach(async () => {
  hub?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = hub = undefined;
});

async function listen(station: FakeStation): Promise<string> {
  hub = new SseHub(station as any, silentLogger());
  server = createServer((req, res) => hub!.attach(req, res));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/`;
}

async function frames(url: string, until: (events: { event: string; data: any }[]) => boolean): Promise<{ event: string; data: any }[]> {
  const ctrl = new AbortController();
  const res = await fetch(url, { signal: ctrl.signal });
  const reader = res.body!.getReader();
  const out: { event: string; data: any }[] = [];
  let buf = '';
  const deadline = setTimeout(() => ctrl.abort(), 1500);
  try {
    while (!until(out)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += new TextDecoder().decode(value);
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const f = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(f)?.[1];
        const data = /^data: (.*)$/m.exec(f)?.[1];
        if (event && data) out.push({ event, data: JSON.parse(data) });
      }
    }
  } finally {
    clearTimeout(deadline);
    ctrl.abort();
  }
  return out;
}

describe('SseHub', () => {
  it('a corrected meter start of a running session is followed by its status at once', async () => {
    const station = new FakeStation();
    const url = await listen(station);
    const got = frames(url, (ev) => ev.some((e) => e.event === 'status' && e.data.session?.energyWh === 140));
    await new Promise((r) => setTimeout(r, 100));
    station.energyWh = 140;
    const rec = {
      id: 5, uid: 'u5', connectorId: 1, idTag: 'T', authSource: 'local', status: 'active', startWallMs: Date.UTC(2026, 0, 1), startQuality: 'synced', startBootId: 'b', startMonoMs: 0,
      meterStartWh: 860, checkpointWallMs: null, checkpointEnergyWh: null, durationMs: 0, chargingMs: 0, idleMs: 0, meterGapMs: 0, stopWallMs: null, stopQuality: null, stopBootId: null,
      stopMonoMs: null, meterStopWh: null, energyWh: null, stopReason: null, stopIdTag: null, recovered: false, meterStartProvisional: false, meterStopProvisional: false,
    };
    station.emit('session-corrected', rec, { ...rec, meterStartWh: 900, meterStartProvisional: true });
    const events = await got.catch(() => []);
    const i = events.findIndex((e) => e.event === 'session-corrected');
    expect(i).toBeGreaterThan(0);
    expect(events.slice(i + 1).find((e) => e.event === 'status')?.data.session.energyWh).toBe(140);
  });
});
