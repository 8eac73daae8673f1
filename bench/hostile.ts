import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { resolve } from 'node:path';

/**
 * Hostile network clients, in a process of their own so their work does not load the event loop
 * being measured: a flood of half-sent HTTP requests, a slowloris (headers trickled in), slow
 * bodies, idle event streams, and an MQTT publish storm. Used by the flood tests (test/api,
 * test/telemetry) and `npm run bench`. The child is a plain script (no build step): it runs the
 * same from the TypeScript sources under vitest and from dist.
 *
 * `localAddress` picks the source address: on Linux every 127.x.y.z is loopback, so 127.0.0.2 is
 * "another client" to the daemon while the test's own requests come from 127.0.0.1.
 */
export type HostileKind = 'flood' | 'slowloris' | 'slow-body' | 'sse' | 'mqtt-storm';

export interface HostileOptions {
  kind: HostileKind;
  /** Target port (HTTP or MQTT). */
  port: number;
  host?: string;
  localAddress?: string;
  /** Connections (HTTP kinds) or messages (mqtt-storm). */
  count: number;
  /** slowloris / slow-body: ms between the bytes trickled in. */
  intervalMs?: number;
  /** HTTP kinds: connections opened per second (default: as fast as the client can). */
  ratePerS?: number;
  /** mqtt-storm: topic and payload of every message. */
  topic?: string;
  payload?: string;
}

export interface HostileStats {
  /** Connections established (HTTP), or messages handed to the broker (mqtt-storm). */
  opened: number;
  /** Connections the server closed (or that failed after connecting). */
  closed: number;
  /** Connections that could not be made. */
  errors: number;
  /** Responses seen, by status (sse: 200 streams and 429 refusals; flood: 408 on timeout). */
  statuses: Record<string, number>;
  /** Per closed connection: ms from connect to close. */
  lifetimesMs: number[];
  /** mqtt-storm: all messages sent. */
  done: boolean;
}

const CHILD = String.raw`
import net from 'node:net';
const o = JSON.parse(process.argv[1]);
const s = { opened: 0, closed: 0, errors: 0, statuses: {}, lifetimesMs: [], done: false };
const socks = new Set();
process.on('message', (m) => {
  if (m === 'stats') process.send({ stats: s });
  if (m === 'stop') {
    for (const x of socks) x.destroy();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));

async function mqttStorm() {
  const { connect } = await import('mqtt');
  const client = connect('mqtt://' + (o.host ?? '127.0.0.1') + ':' + o.port, { clientId: 'hostile-' + process.pid, reconnectPeriod: 0 });
  await new Promise((res, rej) => { client.once('connect', res); client.once('error', rej); });
  for (let i = 0; i < o.count; i++) {
    client.publish(o.topic, o.payload, { qos: 0 });
    s.opened++;
  }
  // Everything written to the socket: the broker has it.
  await new Promise((res) => client.stream.write('', res));
  s.done = true;
}

function open(i) {
  const sock = net.connect({ port: o.port, host: o.host ?? '127.0.0.1', localAddress: o.localAddress });
  socks.add(sock);
  let at = 0;
  let timer;
  let seen = false;
  sock.on('connect', () => {
    at = performance.now();
    s.opened++;
    if (o.kind === 'flood') sock.write('GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    if (o.kind === 'sse') sock.write('GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    if (o.kind === 'slowloris') {
      sock.write('GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      let n = 0;
      timer = setInterval(() => sock.write('X-' + (n++) + ': a\r\n'), o.intervalMs ?? 1000);
    }
    if (o.kind === 'slow-body') {
      sock.write('POST /api/connectors/1/limit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
      timer = setInterval(() => sock.write(' '), o.intervalMs ?? 1000);
    }
  });
  sock.on('data', (d) => {
    if (seen) return;
    seen = true;
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(d.toString('latin1', 0, 16));
    const k = m ? m[1] : 'other';
    s.statuses[k] = (s.statuses[k] ?? 0) + 1;
  });
  sock.on('error', () => {
    if (!at) s.errors++;
  });
  sock.on('close', () => {
    clearInterval(timer);
    socks.delete(sock);
    if (at) {
      s.closed++;
      s.lifetimesMs.push(Math.round(performance.now() - at));
    }
  });
}

if (o.kind === 'mqtt-storm') {
  mqttStorm().catch((err) => { console.error(err); process.exit(1); });
} else {
  // In batches of 50, as fast as the client can or at the rate asked for.
  const pauseMs = o.ratePerS ? (50 * 1000) / o.ratePerS : 1;
  const t0 = performance.now();
  for (let i = 0; i < o.count; i++) {
    open(i);
    if (i % 50 === 49) {
      const due = o.ratePerS ? t0 + ((i + 1) / o.ratePerS) * 1000 - performance.now() : pauseMs;
      await new Promise((r) => setTimeout(r, Math.max(1, due)));
    }
  }
}
process.send({ started: true });
`;

/** The repository root (where node_modules is), from the sources or from dist. */
const ROOT = resolve(import.meta.dirname, import.meta.dirname.includes('/dist/') ? '../..' : '..');

export class Hostile {
  private constructor(private readonly child: ChildProcess, private readonly exited: Promise<unknown>) {}

  static async start(o: HostileOptions): Promise<Hostile> {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify(o)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const exited = new Promise((r) => child.once('exit', r));
    // On the LAN the attacker has a CPU of its own; here it shares the daemon's: the lowest priority
    // keeps the measurement about the daemon's own work, not about the scheduler.
    try {
      if (child.pid !== undefined) setPriority(child.pid, 19);
    } catch {
      /* not permitted: measured as it is */
    }
    await new Promise<void>((res, rej) => {
      const onMessage = (m: unknown) => {
        if (m && typeof m === 'object' && 'started' in m) {
          child.off('message', onMessage);
          res();
        }
      };
      child.on('message', onMessage);
      child.once('exit', (c) => rej(new Error(`hostile client (${o.kind}) exited ${c} before it started`)));
    });
    return new Hostile(child, exited);
  }

  stats(): Promise<HostileStats> {
    return new Promise((res, rej) => {
      const onMessage = (m: unknown) => {
        if (m && typeof m === 'object' && 'stats' in m) {
          this.child.off('message', onMessage);
          res((m as { stats: HostileStats }).stats);
        }
      };
      this.child.on('message', onMessage);
      if (!this.child.connected) rej(new Error('hostile client is gone'));
      else this.child.send('stats', (err) => err && rej(err));
    });
  }

  /** Polls the stats until `ok` holds; throws with the last stats after `timeoutMs`. */
  async until(what: string, ok: (s: HostileStats) => boolean, timeoutMs: number): Promise<HostileStats> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.stats();
      if (ok(s)) return s;
      if (Date.now() > end) throw new Error(`hostile client: timed out after ${timeoutMs} ms waiting for ${what} (opened ${s.opened}, closed ${s.closed}, errors ${s.errors}, statuses ${JSON.stringify(s.statuses)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.connected) this.child.send('stop');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}
