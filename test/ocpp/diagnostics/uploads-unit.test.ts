import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../src/log.js';
import { TransferError } from '../../../src/maintenance/transfer/types.js';
import { DEFAULT_RETRIES, DEFAULT_RETRY_INTERVAL_S, DiagnosticsUploads, MAX_RETRIES, usableLocation } from '../../../src/ocpp/v16/diagnostics/uploads.js';
import { waitFor } from '../csms.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** The job with every dependency recorded: uploads always fail, sleeps return at once and are counted. */
function uploads() {
  const dir = mkdtempSync(join(tmpdir(), 'evsed-diag-unit-'));
  dirs.push(dir);
  const sleeps: number[] = [];
  const queued: [string, Record<string, unknown>][] = [];
  let tries = 0;
  const u = new DiagnosticsUploads({
    build: async (req) => ({ path: join(req.dir, req.fileName), parts: [] }),
    upload: async () => {
      tries++;
      throw new TransferError('refused', 'HTTP 503');
    },
    enqueue: (action, payload) => void queued.push([action, payload]),
    sendTriggered: async () => undefined,
    sleep: async (ms) => void sleeps.push(ms),
    wallMs: () => Date.parse('2026-12-03T12:00:00Z'),
    stationId: 'CP/1 x',
    dir,
    securityLog: () => [],
    secrets: () => [],
    log: silentLogger(),
  });
  return { u, sleeps, queued, tries: () => tries };
}

describe('the retry policy of an upload', () => {
  it('retries and retryInterval as asked: 1 + retries attempts, retryInterval s apart', async () => {
    const t = uploads();
    const { conf, start } = t.u.getDiagnostics({ location: 'http://127.0.0.1:9/x', retries: 3, retryInterval: 7 });
    expect(conf.fileName).toBe('diagnostics-CP_1_x-20261203T120000Z.tar.gz');
    start();
    await waitFor(() => t.queued.length === 2, 'the end');
    expect(t.tries()).toBe(4);
    expect(t.sleeps).toEqual([7000, 7000, 7000]);
    expect(t.queued).toEqual([['DiagnosticsStatusNotification', { status: 'Uploading' }], ['DiagnosticsStatusNotification', { status: 'UploadFailed' }]]);
  });

  it('defaults when the request gives none; a CSMS cannot ask for more than the bounds', async () => {
    const a = uploads();
    a.u.getDiagnostics({ location: 'ftp://127.0.0.1:9/' }).start();
    await waitFor(() => a.queued.length === 2, 'the end');
    expect(a.tries()).toBe(1 + DEFAULT_RETRIES);
    expect(a.sleeps).toEqual(Array(DEFAULT_RETRIES).fill(DEFAULT_RETRY_INTERVAL_S * 1000));
    const b = uploads();
    b.u.getLog({ logType: 'DiagnosticsLog', requestId: 9, log: { remoteLocation: 'https://127.0.0.1:9/' }, retries: 1000, retryInterval: -5 }).start!();
    await waitFor(() => b.queued.length === 2, 'the end');
    expect(b.tries()).toBe(1 + MAX_RETRIES);
    expect(new Set(b.sleeps)).toEqual(new Set([0]));
    expect(b.queued).toEqual([['LogStatusNotification', { status: 'Uploading', requestId: 9 }], ['LogStatusNotification', { status: 'UploadFailure', requestId: 9 }]]);
  });

  it('the locations an upload can use', () => {
    for (const ok of ['ftp://u:p@h/dir/', 'ftps://h/', 'http://h:8080/up', 'https://h/x?y=1']) expect(usableLocation(ok)).toBe(true);
    for (const bad of ['gopher://h/', 'file:///etc/passwd', 'not a url', 'http://', '']) expect(usableLocation(bad)).toBe(false);
  });
});
