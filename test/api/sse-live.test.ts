import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { api, tempDir, until, writeSimConfig } from '../support/station.js';
import { sseStream } from '../support/sse-client.js';

/**
 * The event stream as a reconnecting client meets it: every event has an id, a client that comes
 * back (with Last-Event-ID or without) gets the current state at once and the session events it
 * missed, and while a session runs its cost and time to finish are pushed every few seconds
 * without any change to wait for.
 */
let d: Daemon;
let base: string;
beforeAll(async () => {
  const tariff = 'tariff: { currency: EUR, energyPerKWh: 0.30, sessionFee: 0.50, taxPercent: 19, timeZone: Europe/Berlin }';
  d = await startDaemon(loadConfig(writeSimConfig(tempDir(), { authMode: 'free', extra: tariff, connectorExtra: ['energyTargetWh: 40000'] })), silentLogger());
  base = `http://127.0.0.1:${d.address.port}`;
});
afterAll(async () => {
  await d.stop();
});

/** Every frame of /api/events as an EventSource parses it. */
function stream(headers: Record<string, string> = {}) {
  return sseStream(`${base}/api/events`, headers);
}

async function plugAndCharge(): Promise<void> {
  await api(base, '/api/connectors/1/sim', { action: 'plug' });
  await api(base, '/api/connectors/1/sim', { action: 'ev-ready' });
  await until(() => d.station.connectorView(1)?.status === 'Charging', 'charging');
}

async function unplug(): Promise<void> {
  await api(base, '/api/connectors/1/sim', { action: 'unplug' });
  await until(() => d.station.sessionOn(1) === undefined, 'session stopped');
}

describe('SSE ids and reconnecting clients', () => {
  it('every event carries an id, increasing', async () => {
    const s = stream();
    try {
      await until(() => s.of('status').length > 0, 'the initial status');
      await plugAndCharge();
      await until(() => s.of('sample').length >= 2, 'samples');
      await unplug();
      await until(() => s.of('session-stopped').length === 1, 'session-stopped');
      expect(s.frames.every((f) => f.id !== undefined && f.id !== ''), JSON.stringify(s.frames.map((f) => [f.event, f.id]))).toBe(true);
      const seqs = s.frames.map((f) => Number(f.id!.split('-').at(-1)));
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1]!);
      // Events after the initial snapshot each have an id of their own.
      const later = s.frames.slice(1).map((f) => f.id);
      expect(new Set(later).size).toBe(later.length);
    } finally {
      await s.close();
    }
  });

  it('a client that comes back with Last-Event-ID gets the session events it missed, then the current state at once', async () => {
    const first = stream();
    await plugAndCharge();
    await until(() => first.of('status').some((f) => f.data.session), 'a status with the session');
    const lastId = first.frames.at(-1)!.id!;
    await first.close();

    // Gone while the session ended.
    await unplug();
    const back = stream({ 'Last-Event-ID': lastId });
    try {
      await until(() => back.of('status').length > 0, 'the current status at once', 1000);
      const stopped = back.of('session-stopped');
      expect(stopped.length, 'the missed session-stopped replayed').toBe(1);
      // The replay comes before the state, and the state is the current one: no ghost session.
      expect(back.frames.indexOf(stopped[0]!)).toBeLessThan(back.frames.indexOf(back.of('status')[0]!));
      expect(back.of('status')[0]!.data).toMatchObject({ id: 1, status: 'Available', session: null });
    } finally {
      await back.close();
    }
  });

  it('an id the hub does not know (another run of the daemon, or garbage) gives the current state, nothing replayed', async () => {
    for (const id of ['0-1', 'not-an-id', '']) {
      const s = stream({ 'Last-Event-ID': id });
      try {
        await until(() => s.of('status').length > 0, `the current status for Last-Event-ID ${JSON.stringify(id)}`, 1000);
        expect(s.frames.filter((f) => f.event.startsWith('session-'))).toEqual([]);
      } finally {
        await s.close();
      }
    }
  });
});

describe('SSE while charging', () => {
  it('pushes the status with cost and time to finish every few seconds without a change to wait for', async () => {
    await plugAndCharge();
    const s = stream();
    try {
      await until(() => s.of('status').length >= 4, 'four statuses', 12_000);
      const statuses = s.of('status');
      for (const f of statuses) {
        expect(f.data.session, 'a running session').not.toBeNull();
        expect(f.data.session.cost).toMatchObject({ currency: 'EUR', grossMinor: expect.any(Number) });
      }
      const gaps = statuses.slice(1).map((f, i) => f.atMs - statuses[i]!.atMs);
      // At most a few seconds between two (the hub pushes every 2 s; 4 s leaves room on a loaded machine).
      expect(Math.max(...gaps), `gaps ${gaps.map((g) => Math.round(g)).join(', ')} ms`).toBeLessThan(4000);
      await until(() => s.of('status').some((f) => typeof f.data.session?.etaS === 'number' && f.data.session.etaS > 0), 'a time to finish pushed', 20_000);
    } finally {
      await s.close();
      await unplug();
    }
  }, 30_000);

  it('pause and resume are pushed at once', async () => {
    await plugAndCharge();
    const s = stream();
    try {
      await until(() => s.of('status').length > 0, 'the initial status');
      await api(base, '/api/connectors/1/pause', {});
      await until(() => s.of('status').at(-1)?.data.paused === true, 'paused pushed', 1000);
      await api(base, '/api/connectors/1/resume', {});
      await until(() => s.of('status').at(-1)?.data.paused === false, 'resumed pushed', 1000);
    } finally {
      await s.close();
      await unplug();
    }
  });
});
