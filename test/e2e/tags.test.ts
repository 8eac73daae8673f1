import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import type { SimHardware } from '../../src/sim/hardware.js';
import { api, tempDir, until, writeSimConfig, type SimConfigOptions } from '../support/station.js';
import { tagsCommand } from '../../src/cli/commands/tags.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The owner's tag list through the whole daemon: learn mode over the API (the card is taken, not
 * presented; a timeout; a second learn while one waits), the learned card charging in auth mode
 * local, CSV export and import through the API, and tag names in the session list and CSV export.
 */

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

async function start(o: SimConfigOptions = {}) {
  const dir = tempDir();
  const file = writeSimConfig(dir, { authMode: 'local', tags: ['CFG-1'], ...o, extra: `readers:\n  - { id: door, driver: sim }\n${o.extra ?? ''}` });
  const d = await startDaemon(loadConfig(file), silentLogger());
  daemon = d;
  return { d, dir, file, base: `http://127.0.0.1:${d.address.port}`, ev: (d.hardware(1) as SimHardware).ev };
}

const card = (base: string, idTag: string) => api(base, '/api/sim/readers/door/card', { idTag });

/** Step the station's monotonic clock past the reader's same-card guard instead of waiting 2 s. */
function pastGuard(d: Daemon): void {
  const clock = d.station.clock as { monoMs(): number };
  const before = clock.monoMs.bind(clock);
  clock.monoMs = () => before() + 5000;
}

describe('learn mode over the API', () => {
  it('the next card is learned under the name, not presented; then it charges (auth mode local)', async () => {
    const { base, ev } = await start();
    const refused = await card(base, 'NEW-CARD');
    expect(refused.body.outcome).toMatchObject({ status: 'Invalid', action: 'rejected' });
    pastGuard(daemon!);

    const learning = api(base, '/api/tags/learn', { name: 'Anna, "the neighbour"' });
    await until(() => daemon!.learner.pending() !== null, 'learn mode waiting');
    // A second learn while one waits is refused at once.
    const second = await api(base, '/api/tags/learn', { name: 'Bob' });
    expect(second.status).toBe(409);
    expect(second.body.error).toMatch(/already waiting for a card \(for "Anna, \\?"the neighbour\\?""\)/);

    ev.plug();
    const taken = await card(base, 'NEW-CARD');
    expect(taken.body.outcome).toBeNull(); // taken by learn mode: nothing started
    const learned = await learning;
    expect(learned.status).toBe(200);
    expect(learned.body).toEqual({ result: 'learned', idTag: 'NEW-CARD', name: 'Anna, "the neighbour"', readerId: 'door', addedTo: 'list' });
    expect((await api(base, '/api/status')).body.connectors[0].session).toBeNull();
    expect((await api(base, '/api/readers')).body[0].lastCard).toMatchObject({ idTag: 'NEW-CARD', action: 'intercepted' });

    // Now the card is on the owner's list: it starts a session.
    const d = daemon!;
    pastGuard(d);
    const start1 = await card(base, 'new-card');
    expect(start1.body.outcome).toMatchObject({ status: 'Accepted', source: 'local' });
    ev.ready();
    await until(async () => (await api(base, '/api/status')).body.connectors[0].status === 'Charging', 'charging');
  });

  it('times out when no card comes; without a name it is refused', async () => {
    const { base } = await start();
    const r = await api(base, '/api/tags/learn', { name: 'Late', timeoutS: 1 });
    expect(r.status).toBe(408);
    expect(r.body).toMatchObject({ result: 'timeout', error: 'no card was presented within 1 s' });
    expect(daemon!.learner.pending()).toBeNull();
    expect((await api(base, '/api/tags/learn', { name: ' ' })).status).toBe(400);
    expect((await api(base, '/api/tags/learn', { name: 'X', timeoutS: 1000 })).status).toBe(400);
    // After a timeout the next card is presented again, as usual.
    expect((await card(base, 'CFG-1')).body.outcome).toMatchObject({ status: 'Accepted' });
  });

  it('auth mode free: learned into the list with a note; a station without a reader answers 409', async () => {
    const { base } = await start({ authMode: 'free' });
    const learning = api(base, '/api/tags/learn', { name: 'Guest' });
    await until(() => daemon!.learner.pending() !== null, 'learn mode waiting');
    await card(base, 'GUEST-1');
    expect((await learning).body).toMatchObject({ result: 'learned', idTag: 'GUEST-1', addedTo: 'list', note: expect.stringMatching(/auth mode free/) });
    await daemon!.stop();
    daemon = undefined;
    const d = await startDaemon(loadConfig(writeSimConfig(tempDir(), { authMode: 'free' })), silentLogger());
    daemon = d;
    const r = await api(`http://127.0.0.1:${d.address.port}`, '/api/tags/learn', { name: 'Nobody' });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatch(/needs a card reader/);
  });
});

describe('the tag list as CSV over the API, and names everywhere', () => {
  it('PUT then GET /api/tags.csv round-trips; bad CSV is refused with every problem named', async () => {
    const { base } = await start();
    const csv = 'name,idTag,expiry,parent,enabled\r\n"Müller, Jürgen",04A1B2C3,,,true\r\n"Say ""hi""",B2,2027-01-31T23:59:59Z,FLEET,false\r\n\'=1+2,C3,,,true\r\n';
    const put = await api(base, '/api/tags.csv', { csv }, 'PUT');
    expect(put).toMatchObject({ status: 200, body: { tags: 3 } });
    const got = await fetch(`${base}/api/tags.csv`);
    expect(got.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const text = await got.text();
    // sorted by name: '=1+2' < 'Müller' < 'Say'
    expect(text).toBe('name,idTag,expiry,parent,enabled\r\n\'=1+2,C3,,,true\r\n"Müller, Jürgen",04A1B2C3,,,true\r\n"Say ""hi""",B2,2027-01-31T23:59:59Z,FLEET,false\r\n');
    const bad = await api(base, '/api/tags.csv', { csv: 'name,idTag\n,A\nB,\n' }, 'PUT');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('record 2 (A): name is empty: every tag of the list needs a name\nrecord 3: idTag must be 1 to 20 characters (OCPP IdToken)');
    // A refused import changes nothing.
    expect(await (await fetch(`${base}/api/tags.csv`)).text()).toBe(text);
    // Writes are JSON only: a CSV body straight from a browser form is refused.
    const raw = await fetch(`${base}/api/tags.csv`, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: csv });
    expect(raw.status).toBe(415);
  });

  it('a session shows the tag\'s name in the session list and the CSV export', async () => {
    const { base, ev, d } = await start({ tags: ['CFG-1'] });
    await api(base, '/api/tags.csv', { csv: 'name,idTag\n"Zoë, 電動車",ZOE-1\n' }, 'PUT');
    ev.plug();
    await card(base, 'zoe-1');
    ev.ready();
    await until(async () => (await api(base, '/api/status')).body.connectors[0].status === 'Charging', 'charging');
    pastGuard(d);
    await card(base, 'ZOE-1');
    await until(async () => (await api(base, '/api/sessions')).body[0]?.status === 'completed', 'the session stopped');
    const list = await api(base, '/api/sessions');
    expect(list.body[0]).toMatchObject({ idTag: 'zoe-1', tagName: 'Zoë, 電動車' });
    const csv = await (await fetch(`${base}/api/sessions.csv`)).text();
    const [header, row] = csv.split('\r\n');
    expect(header!.split(',').slice(3, 5)).toEqual(['idTag', 'authSource']);
    expect(header).toContain('tagName');
    expect(row).toContain('"Zoë, 電動車"');
  });
});

describe('evsed tags (the CLI through the running daemon\'s API)', () => {
  it('import, export (round trip), learn; a refused CSV exits 65; no daemon exits 69', async () => {
    const { base, dir, file } = await start();
    const io = () => {
      const o = { text: '', err: '' };
      return { o, io: { out: (s: string) => (o.text += s), err: (s: string) => (o.err += `${s}\n`) } };
    };
    // in the list's order (by name, as stored): an exact round trip
    const csv = 'name,idTag,expiry,parent,enabled\r\n"B ""quoted""",BB02,2030-06-30T00:00:00Z,AA01,false\r\n"Ångström, A.",AA01,,,true\r\n';
    writeFileSync(join(dir, 'tags.csv'), csv);
    const imp = io();
    expect(await tagsCommand('import', { config: file, url: base }, [join(dir, 'tags.csv')], imp.io)).toBe(0);
    expect(imp.o.text).toBe("2 tag(s) in the owner's list now\n");
    const exp = io();
    expect(await tagsCommand('export', { config: file, url: base, out: join(dir, 'out.csv') }, [], exp.io)).toBe(0);
    expect(readFileSync(join(dir, 'out.csv'), 'utf8')).toBe(csv);

    writeFileSync(join(dir, 'bad.csv'), 'name,idTag\nX,\n');
    const bad = io();
    expect(await tagsCommand('import', { config: file, url: base }, [join(dir, 'bad.csv')], bad.io)).toBe(65);
    expect(bad.o.err).toMatch(/bad\.csv: record 2: idTag must be 1 to 20 characters/);

    const learn = io();
    const learning = tagsCommand('learn', { name: 'Carla', config: file, url: base }, [], learn.io);
    await until(() => daemon!.learner.pending() === 'Carla', 'learn mode waiting');
    await card(base, 'CC03');
    expect(await learning).toBe(0);
    expect(learn.o.text).toBe('learned CC03 as "Carla" (added to the owner\'s tag list)\n');

    const timeout = io();
    expect(await tagsCommand('learn', { name: 'Nobody', timeoutS: 1, config: file, url: base }, [], timeout.io)).toBe(75);
    expect(timeout.o.err).toMatch(/no card was presented within 1 s/);

    await expect(tagsCommand('export', { config: file, url: 'http://127.0.0.1:1' }, [], io().io)).rejects.toMatchObject({ exitCode: 69, message: expect.stringMatching(/cannot reach the daemon at http:\/\/127\.0\.0\.1:1/) });
  });
});
