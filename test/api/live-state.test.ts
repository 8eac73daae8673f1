import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { api, tempDir, until, writeSimConfig } from '../support/station.js';
import { sseStream } from '../support/sse-client.js';

/**
 * What an SSE client sees must never be wrong: after unplug the last status carries no session
 * (no ghost session until the page polls), and a limit change is pushed with its source.
 */
let d: Daemon;
let base: string;
beforeAll(async () => {
  d = await startDaemon(loadConfig(writeSimConfig(tempDir(), { authMode: 'free' })), silentLogger());
  base = `http://127.0.0.1:${d.address.port}`;
});
afterAll(async () => {
  await d.stop();
});

/** Status events as an SSE client parses them. */
function statusStream() {
  const s = sseStream(`${base}/api/events`);
  return { last: () => s.of('status').at(-1)?.data, get events() { return s.of('status').map((f) => f.data); }, close: () => s.close() };
}

describe('live state over SSE', () => {
  it('after unplug the last status carries no session (no ghost session)', async () => {
    const s = statusStream();
    try {
      await until(() => s.events.length > 0, 'initial status');
      await api(base, '/api/connectors/1/sim', { action: 'plug' });
      await api(base, '/api/connectors/1/sim', { action: 'ev-ready' });
      await until(() => s.last()?.status === 'Charging' && s.last()?.session, 'charging with a session');
      await api(base, '/api/connectors/1/sim', { action: 'unplug' });
      await until(() => d.station.sessionOn(1) === undefined, 'session stopped');
      await until(() => s.last()?.status === 'Available' && s.last()?.session === null, 'a status without the session', 1000);
    } finally {
      await s.close();
    }
  });

  it('a limit change is pushed at once, with its source', async () => {
    const s = statusStream();
    try {
      await api(base, '/api/connectors/1/sim', { action: 'plug' });
      await api(base, '/api/connectors/1/sim', { action: 'ev-ready' });
      await until(() => s.last()?.status === 'Charging' && s.last()?.currentLimitA === 32, 'charging on the config limit');
      await api(base, '/api/connectors/1/limit', { maxA: 10 });
      await until(() => s.last()?.currentLimitA === 10 && s.last()?.limitSource === 'api', 'the new limit pushed', 1000);
      await api(base, '/api/connectors/1/limit', { maxA: null });
      await until(() => s.last()?.currentLimitA === 32 && s.last()?.limitSource === 'config', 'the limit removed, pushed', 1000);
      await api(base, '/api/connectors/1/sim', { action: 'unplug' });
    } finally {
      await s.close();
    }
  });
});
