import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { Aedes } from 'aedes';
import { connect, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { Logger } from '../../src/log.js';

export function tempDir(prefix = 'evsed-mqtt-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function until<T>(what: string | (() => string), fn: () => T | PromiseLike<T>, timeoutMs = 10_000): Promise<Exclude<T, undefined | null | false>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as Exclude<T, undefined | null | false>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A broker on 127.0.0.1 that a test can stop and start again on the same port (retained messages are lost). */
export interface TestBroker {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class AedesBroker implements TestBroker {
  readonly name = 'aedes';
  private broker?: Aedes;
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(readonly port: number) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const broker = await Aedes.createBroker();
    const server = net.createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      broker.handle(s);
    });
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(this.port, '127.0.0.1', () => res());
    });
    this.broker = broker;
    this.server = server;
  }

  async stop(): Promise<void> {
    const { broker, server } = this;
    this.broker = undefined;
    this.server = undefined;
    if (!server || !broker) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => broker.close(() => r()));
    await closed;
  }
}

export function mosquittoPath(): string | null {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/local/bin/mosquitto']) {
    const r = spawnSync(p, ['-h'], { stdio: 'ignore' });
    if (!r.error) return p;
  }
  return null;
}

export class MosquittoBroker implements TestBroker {
  readonly name = 'mosquitto';
  private proc?: ChildProcess;
  private readonly conf: string;
  private output = '';

  constructor(readonly port: number, private readonly bin: string, dir: string) {
    this.conf = join(dir, 'mosquitto.conf');
    writeFileSync(this.conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const proc = spawn(this.bin, ['-c', this.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (this.output += String(d)));
    proc.stderr!.on('data', (d) => (this.output += String(d)));
    this.proc = proc;
    let exited = false;
    proc.once('exit', () => (exited = true));
    await until(`mosquitto listening on ${this.port}`, () => {
      if (exited) throw new Error(`mosquitto exited: ${this.output}`);
      return canConnect(this.port) ? true : false;
    });
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    await exited;
  }
}

const reachable = new Map<number, boolean>();
/** Synchronous-looking probe for `until`: the answer arrives on a later poll. */
function canConnect(port: number): boolean {
  if (reachable.get(port)) {
    reachable.delete(port);
    return true;
  }
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => {
    reachable.set(port, true);
    s.destroy();
  });
  s.once('error', () => s.destroy());
  return false;
}

/**
 * A TCP relay in front of the broker: cutting it drops the daemon's connection without an MQTT
 * DISCONNECT, as a pulled network cable would, so the broker publishes the last will.
 */
export class Relay {
  private server?: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    const server = net.createServer((down) => {
      const up = net.connect(this.targetPort, '127.0.0.1');
      const pair: [net.Socket, net.Socket] = [down, up];
      this.pairs.add(pair);
      const end = () => {
        down.destroy();
        up.destroy();
        this.pairs.delete(pair);
      };
      down.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
      down.pipe(up);
      up.pipe(down);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  cut(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  seq: number;
}

/** An MQTT client that records everything it receives. */
export class Subscriber {
  readonly all: Received[] = [];
  readonly latest = new Map<string, Received>();
  private client?: MqttClient;
  private seq = 0;

  static async open(url: string, filters: string[]): Promise<Subscriber> {
    const s = new Subscriber();
    const client = connect(url, { clientId: `test-sub-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 200, clean: true });
    s.client = client;
    client.on('message', (topic, payload, packet) => {
      const r = { topic, payload: payload.toString('utf8'), retain: packet.retain, seq: ++s.seq };
      s.all.push(r);
      s.latest.set(topic, r);
    });
    client.on('error', () => undefined);
    await new Promise<void>((res, rej) => {
      client.once('connect', () => res());
      client.once('error', rej);
    });
    await client.subscribeAsync(filters, { qos: 1 });
    return s;
  }

  get mark(): number {
    return this.seq;
  }

  value(topic: string): string | undefined {
    return this.latest.get(topic)?.payload;
  }

  since(mark: number, topic?: string): Received[] {
    return this.all.filter((r) => r.seq > mark && (topic === undefined || r.topic === topic));
  }

  async waitFor(topic: string, ok: (payload: string) => boolean = () => true, timeoutMs = 10_000, afterMark = 0): Promise<string> {
    const r = await until(`${topic} (last: ${JSON.stringify(this.latest.get(topic)?.payload)})`, () => {
      const m = this.latest.get(topic);
      return m && m.seq > afterMark && ok(m.payload) ? m : undefined;
    }, timeoutMs);
    return r.payload;
  }

  async publish(topic: string, payload: string, retain = false): Promise<void> {
    await this.client!.publishAsync(topic, payload, { qos: 1, retain });
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}

/** A pino logger whose lines the test can read. */
export function captureLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

export const STATION_ID = 'CP-MQTT-1';

/** `connectorYaml`: more keys for connector 1, each line indented by 4 spaces. */
export function stationYaml(dir: string, mqttYaml: string, extra = '', connectorYaml = ''): string {
  return `station: { id: ${STATION_ID}, vendor: evsed, model: sim, serialNumber: SIM-0001, firmwareVersion: 2.5.0-site }
storage: { dir: ${JSON.stringify(resolve(dir))} }
auth:
  mode: local
  tags: [ { idTag: "TAG1", name: "Test" } ]
api: { listen: 127.0.0.1:0 }
clock: { trust: always }
connectors:
  - id: 1
    maxCurrentA: 32
    phases: 3
    hardware: { driver: sim, ev: { maxCurrentA: 16, phases: 3 } }
    meter: { model: sim, initialEnergyWh: 1000000 }
${connectorYaml}
${mqttYaml}
${extra}`;
}

export async function startTestDaemon(dir: string, mqttYaml: string, log: Logger, extra = '', connectorYaml = ''): Promise<Daemon> {
  const config = parseConfig(stationYaml(dir, mqttYaml, extra, connectorYaml));
  const storageDir = resolve(dir);
  return startDaemon({ config, file: '<test>', storageDir, dbFile: join(storageDir, 'evsed.db') }, log);
}
